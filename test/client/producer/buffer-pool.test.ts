import { afterEach, describe, expect, it } from 'vitest';
import { BatchBufferPool } from '../../../client/producer/buffer-pool.js';
import type { RecordAccumulator } from '../../../client/producer/accumulator.js';
import type { CompressionType } from '../../../client/types.js';
import { TestEnv } from '../../integration/harness.js';

describe('BatchBufferPool', () => {
  it('keeps only buffers of batchBytes, at most maxFree, and hands them out again', () => {
    const pool = new BatchBufferPool(1000, 3500);
    expect(pool.maxFree).toBe(3);
    const small = pool.allocate(100);
    expect(small.length).toBe(1000); // min(batchBytes, 16 KiB) when the pool is empty
    const full = [Buffer.alloc(1000), Buffer.alloc(1000), Buffer.alloc(1000), Buffer.alloc(1000)];
    pool.release(Buffer.alloc(999));
    for (const b of full) pool.release(b);
    expect(pool.freeCount).toBe(3);
    expect(pool.allocate(200)).toBe(full[2]);
    // A record bigger than a batch gets a buffer of its own size, not a pooled one.
    expect(pool.allocate(5000).length).toBe(5000);
    expect(pool.freeCount).toBe(2);
    expect(new BatchBufferPool(1 << 20, 32 << 20).maxFree).toBe(8);
  });

  it('also keeps the first-size buffers that small batches never outgrow', () => {
    const pool = new BatchBufferPool(1 << 20, 32 << 20);
    expect(pool.initialBytes).toBe(16 * 1024);
    const first = pool.allocate(200);
    expect(first.length).toBe(16 * 1024);
    pool.release(first);
    // Grown buffers of other sizes are left to the GC.
    pool.release(Buffer.alloc(32 * 1024));
    expect(pool.freeCount).toBe(1);
    expect(pool.allocate(300)).toBe(first);
    // A first record too big for a first-size buffer takes a full one, or a fresh buffer.
    pool.release(first);
    const full = Buffer.alloc(1 << 20);
    pool.release(full);
    expect(pool.allocate(20_000)).toBe(full);
    expect(pool.allocate(100)).toBe(first);
    expect(pool.allocate(100)).not.toBe(first);
    // At most 8 are kept.
    for (let i = 0; i < 10; i++) pool.release(Buffer.alloc(16 * 1024));
    expect(pool.freeCount).toBe(8);
  });
});

describe('producer batch buffers against a real broker', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  async function roundTrip(compression: CompressionType, producerOptions: { batchBytes: number; lingerMs: number } = { batchBytes: 4096, lingerMs: 1 }): Promise<void> {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    const topic = `pool-${compression}`;
    await rill.admin().createTopics({ topics: [{ topic, numPartitions: 2 }] });
    // Small batches, many of them: every buffer is reused many times over.
    const producer = rill.producer({ ...producerOptions, compression });
    const accumulator = (producer as unknown as { accumulator: RecordAccumulator }).accumulator;
    const SENDS = 60;
    const PER_SEND = 50;
    const sends: Array<Promise<unknown>> = [];
    for (let s = 0; s < SENDS; s++) {
      const messages = [];
      for (let i = 0; i < PER_SEND; i++) {
        const n = s * PER_SEND + i;
        // Strings, Buffers and headers of varying sizes, so a reused buffer's old bytes would show.
        messages.push({
          key: n % 3 === 0 ? null : `k${n % 7}`,
          value: n % 2 === 0 ? `value-${n}-${'x'.repeat(n % 90)}` : Buffer.from(`buf-${n}-${'y'.repeat((n * 7) % 120)}`),
          headers: n % 5 === 0 ? { n: String(n) } : undefined,
        });
      }
      sends.push(producer.send({ topic, messages }));
      if (s % 10 === 9) await Promise.all(sends.slice(-10));
    }
    await Promise.all(sends);
    expect(accumulator.pool.freeCount).toBeGreaterThan(0);
    await producer.close();

    const consumer = rill.consumer({ maxWaitMs: 100 });
    consumer.assign([0, 1].map((partition) => ({ topic, partition, offset: 'earliest' as const })));
    const seen = new Set<number>();
    const bad: string[] = [];
    for await (const m of consumer) {
      const text = m.value!.toString();
      const n = Number(text.split('-')[1]);
      const expected = n % 2 === 0 ? `value-${n}-${'x'.repeat(n % 90)}` : `buf-${n}-${'y'.repeat((n * 7) % 120)}`;
      if (text !== expected && bad.length < 5) bad.push(`offset ${m.offset}: ${text}`);
      if ((m.key?.toString() ?? null) !== (n % 3 === 0 ? null : `k${n % 7}`) && bad.length < 5) bad.push(`key of ${n}`);
      if (n % 5 === 0 && m.headers.n?.toString() !== String(n) && bad.length < 5) bad.push(`header of ${n}`);
      seen.add(n);
      if (seen.size === SENDS * PER_SEND) break;
    }
    await consumer.close();
    expect(bad).toEqual([]);
    expect(seen.size).toBe(SENDS * PER_SEND);
  }

  it('reuses acked batches\' buffers without corrupting later batches', async () => {
    await roundTrip('none');
  });

  it('reuses the small first-size buffers of lingerMs 0 batches without corrupting later batches', async () => {
    await roundTrip('none', { batchBytes: 1024 * 1024, lingerMs: 0 });
  });

  it('reuses buffers with compression too (the records are compressed out of the pooled buffer)', async () => {
    await roundTrip('lz4');
  });
});
