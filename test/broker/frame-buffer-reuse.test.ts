/**
 * A connection reuses the buffers its large frames are assembled in (broker/frame-buffer-pool.ts)
 * only once the request that used one is answered. These checks run a real broker with
 * pipelined large produce requests from two connections (so frames straddle socket reads and
 * land in pooled buffers) while a third connection tails the partitions with long polls, then
 * verify every record's bytes at every offset, both as the tailing reader saw them and as the
 * log holds them at the end.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBatches, encodeBatch } from '../../protocol/record-batch.js';
import { FrameBufferPool, MIN_POOLED_FRAME_BYTES } from '../../broker/frame-buffer-pool.js';
import { FrameDecoder, encodeFrameBuffer } from '../../protocol/frame.js';
import type { RawClient } from '../helpers/raw-client.js';
import { Fixture, createTopic, fetchOnce } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

const PARTITIONS = 2;
const REQUESTS_PER_PRODUCER = 24;
const BATCHES_PER_PARTITION = 3;
const RECORDS_PER_BATCH = 40;

/** A value that names itself and carries filler derived from its name (so a mixed-up byte shows). */
function valueOf(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  let filler = '';
  while (filler.length < 900) {
    h = (h * 1103515245 + 12345) >>> 0;
    filler += (h >>> 8).toString(36);
  }
  return `${id}|${filler}`;
}

/** Records of partition `p` in `(partition, offset) → value` order, from offset 0 to `end`. */
async function tailUntil(client: RawClient, topic: string, p: number, end: number, seen: Map<number, string>): Promise<void> {
  let offset = 0;
  while (offset < end) {
    const r = await fetchOnce(client, topic, p, offset, { maxWaitMs: 200, minBytes: 1, partitionMaxBytes: 256 * 1024 });
    expect(r.errorCode).toBe(0);
    for (const b of decodeBatches(r.records as Buffer)) {
      for (const rec of b.records) {
        if (rec.offset < offset) continue;
        expect(seen.has(rec.offset), `offset ${rec.offset} seen twice`).toBe(false);
        seen.set(rec.offset, rec.value!.toString());
      }
      offset = Math.max(offset, b.header.baseOffset + b.header.lastOffsetDelta + 1);
    }
  }
}

describe('frame buffer reuse', () => {
  it('never corrupts a pending append or a concurrent fetch: every record reads back at its offset', async () => {
    const broker = await fx.broker();
    const admin = await fx.client(broker, 'admin');
    const topic = 'reuse';
    await createTopic(admin, topic, PARTITIONS);
    const producers = [await fx.client(broker, 'p0'), await fx.client(broker, 'p1')];
    const tailers = [await fx.client(broker, 'tail0'), await fx.client(broker, 'tail1')];
    const total = producers.length * REQUESTS_PER_PRODUCER * BATCHES_PER_PARTITION * RECORDS_PER_BATCH;

    const expected = Array.from({ length: PARTITIONS }, () => new Map<number, string>());
    const seen = Array.from({ length: PARTITIONS }, () => new Map<number, string>());
    const tails = Array.from({ length: PARTITIONS }, (_, p) => tailUntil(tailers[p]!, topic, p, total, seen[p]!));
    const sends: Array<Promise<void>> = [];
    for (let c = 0; c < producers.length; c++) {
      for (let r = 0; r < REQUESTS_PER_PRODUCER; r++) {
        // Two waves per producer: the second wave's frames reuse buffers the first released
        // (within a wave, every frame may be read before any produce is answered).
        if (r === REQUESTS_PER_PRODUCER / 2) await Promise.all(sends);
        const partitions = [];
        const valuesByPartition: string[][] = [];
        for (let p = 0; p < PARTITIONS; p++) {
          const values: string[] = [];
          const batches: Buffer[] = [];
          for (let b = 0; b < BATCHES_PER_PARTITION; b++) {
            const vs = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => valueOf(`c${c}-r${r}-p${p}-b${b}-i${i}`));
            values.push(...vs);
            batches.push(encodeBatch(vs.map((value) => ({ key: null, value }))));
          }
          valuesByPartition.push(values);
          partitions.push({ partition: p, records: Buffer.concat(batches) });
        }
        // Not awaited: requests are pipelined, so several pooled frames are in flight at once.
        sends.push(
          producers[c]!.request('Produce', { acks: 1, timeoutMs: 5000, topics: [{ name: topic, partitions }] }).then((res) => {
            for (const part of res.topics[0]!.partitions) {
              expect(part.errorCode).toBe(0);
              const values = valuesByPartition[part.partition]!;
              for (let i = 0; i < values.length; i++) expected[part.partition]!.set(part.baseOffset + i, values[i]!);
            }
          }),
        );
      }
    }
    await Promise.all(sends);
    // Every request wrote to every partition, so each holds `total` records.
    const perPartition = total;
    for (let p = 0; p < PARTITIONS; p++) expect(expected[p]!.size).toBe(perPartition);
    await Promise.all(tails);

    for (let p = 0; p < PARTITIONS; p++) {
      expect(seen[p]!.size).toBe(perPartition);
      for (const [offset, value] of expected[p]!) expect(seen[p]!.get(offset), `partition ${p} offset ${offset} as tailed`).toBe(value);
      // And as the log holds them at the end (a fresh read from offset 0, no long poll).
      const final = new Map<number, string>();
      await tailUntil(admin, topic, p, perPartition, final);
      for (const [offset, value] of expected[p]!) expect(final.get(offset), `partition ${p} offset ${offset} in the log`).toBe(value);
    }
    const reuses = broker.connections().reduce((n, s) => n + s.frameBufferReuses, 0);
    expect(reuses).toBeGreaterThan(0);
  }, 60_000);

  it('lends a buffer once at a time; only released buffers come back, forgotten ones never', () => {
    const pool = new FrameBufferPool();
    expect(pool.acquire(MIN_POOLED_FRAME_BYTES - 1)).toBeNull();
    const a = pool.acquire(100_000)!;
    const b = pool.acquire(100_000)!;
    expect(a.buffer).not.toBe(b.buffer);
    pool.forget(b.subarray(0, 100_000));
    pool.release(b.subarray(0, 100_000)); // already forgotten: not taken back
    pool.release(Buffer.alloc(100_000)); // not lent by this pool: ignored
    const c = pool.acquire(100_000)!;
    expect(c.buffer).not.toBe(b.buffer);
    expect(c.buffer).not.toBe(a.buffer); // a is still lent
    pool.release(a.subarray(0, 90_000));
    const d = pool.acquire(100_000)!;
    expect(d.buffer).toBe(a.buffer);
    expect(pool.reuses).toBe(1);
  });

  it('free buffers are bounded across connections by a shared budget, and a closed connection gives its share back', () => {
    const budget = { maxBytes: 300_000, usedBytes: 0 };
    const a = new FrameBufferPool(budget);
    const b = new FrameBufferPool(budget);
    const lentA = [a.acquire(100_000)!, a.acquire(100_000)!];
    const lentB = b.acquire(100_000)!;
    for (const x of lentA) a.release(x);
    // Each buffer is ~113 KB (1/8 slack): two fit the budget, the third is left to the GC.
    expect(budget.usedBytes).toBe(lentA[0]!.length * 2);
    b.release(lentB);
    expect(budget.usedBytes).toBe(lentA[0]!.length * 2);
    expect(b.acquire(100_000)!.buffer).not.toBe(lentB.buffer);
    // Reusing takes a buffer out of the budget's count; closing gives the rest back.
    expect(lentA.map((x) => x.buffer)).toContain(a.acquire(100_000)!.buffer);
    expect(budget.usedBytes).toBe(lentA[0]!.length);
    a.dispose();
    expect(budget.usedBytes).toBe(0);
  });

  it('the decoder assembles a straddling frame in a lent buffer, an unsplit one as a view of the chunk', () => {
    const pool = new FrameBufferPool();
    const decoder = new FrameDecoder(1 << 24, pool);
    const body = Buffer.alloc(200_000, 7);
    const frame = encodeFrameBuffer(body);
    expect(decoder.push(frame.subarray(0, 70_000))).toEqual([]);
    const [out] = decoder.push(frame.subarray(70_000));
    expect(out!.equals(body)).toBe(true);
    expect(pool.isLent(out!)).toBe(true);
    const [whole] = decoder.push(frame);
    expect(pool.isLent(whole!)).toBe(false);
    expect(whole!.buffer).toBe(frame.buffer);
  });
});
