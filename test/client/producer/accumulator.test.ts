import { afterEach, describe, expect, it } from 'vitest';
import { BATCH_OVERHEAD_BYTES, RecordAccumulator, estimateRecordBytes, type PendingRecord } from '../../../client/producer/accumulator.js';
import { BufferExhaustedError } from '../../../client/errors.js';
import { RillError } from '../../../protocol/errors.js';
import { TestEnv } from '../../integration/harness.js';

function record(valueBytes: number): PendingRecord {
  return { key: null, value: Buffer.alloc(valueBytes, 1), headers: [], timestamp: 1_700_000_000_000 };
}

describe('RecordAccumulator', () => {
  it('closes a batch before it would exceed batchBytes and opens the next one', () => {
    const acc = new RecordAccumulator({ batchBytes: 1000, lingerMs: 5, bufferMemoryBytes: 10_000 });
    const r = record(100);
    const size = estimateRecordBytes(r);
    const perBatch = Math.floor((1000 - BATCH_OVERHEAD_BYTES) / size);
    const seen = new Set<unknown>();
    for (let i = 0; i < perBatch * 3; i++) {
      const batch = acc.append('t', 0, r, size, -1, 0);
      seen.add(batch);
      expect(batch.sizeBytes).toBeLessThanOrEqual(1000);
    }
    expect(seen.size).toBe(3);
    const queue = acc.queues.get('t\u00000')!;
    expect(queue.map((b) => b.recordCount)).toEqual([perBatch, perBatch, perBatch]);
    // A record bigger than batchBytes still gets a batch (of its own).
    const big = record(5000);
    const batch = acc.append('t', 0, big, estimateRecordBytes(big), -1, 0);
    expect(batch.liveRecords()).toEqual([big]);
    expect(queue.length).toBe(4);
  });

  it('starts a new batch when acks differ', () => {
    const acc = new RecordAccumulator({ batchBytes: 10_000, lingerMs: 5, bufferMemoryBytes: 100_000 });
    const a = acc.append('t', 0, record(10), 50, -1, 0);
    const b = acc.append('t', 0, record(10), 50, 1, 0);
    expect(a).not.toBe(b);
    expect(a.closed).toBe(true);
  });

  it('makes a head batch ready when full, when lingerMs passed, or while flushing', () => {
    const acc = new RecordAccumulator({ batchBytes: 10_000, lingerMs: 20, bufferMemoryBytes: 100_000 });
    acc.append('t', 0, record(10), 50, -1, 1000);
    const queue = acc.queues.get('t\u00000')!;
    expect(acc.isReady(queue, 1000)).toBe(false);
    expect(acc.nextReadyInMs(1005)).toBe(15);
    expect(acc.isReady(queue, 1020)).toBe(true);
    acc.beginFlush();
    expect(acc.isReady(queue, 1000)).toBe(true);
    acc.endFlush();
    const taken = acc.take('t\u00000')!;
    expect(taken.closed).toBe(true);
    expect(acc.queues.size).toBe(0);
    expect(acc.nextReadyInMs(1000)).toBe(-1);
  });

  it('counts a linger in whole milliseconds of a sub-millisecond clock, as the Java client', () => {
    const acc = new RecordAccumulator({ batchBytes: 10_000, lingerMs: 5, bufferMemoryBytes: 100_000 });
    acc.append('t', 0, record(10), 50, -1, 1000.7);
    const queue = acc.queues.get('t\u00000')!;
    // Ready from 1005.0 on: 5 whole milliseconds after 1000, 4.3 ms of real time.
    expect(acc.nextReadyInMs(1000.7)).toBeCloseTo(4.3, 9);
    expect(acc.nextReadyInMs(1002.8)).toBeCloseTo(2.2, 9);
    expect(acc.isReady(queue, 1004.99)).toBe(false);
    expect(acc.isReady(queue, 1005)).toBe(true);
    expect(acc.nextReadyInMs(1005)).toBe(0);
    // lingerMs 1: the next millisecond, not at once.
    const short = new RecordAccumulator({ batchBytes: 10_000, lingerMs: 1, bufferMemoryBytes: 100_000 });
    short.append('t', 0, record(10), 50, -1, 2000.2);
    expect(short.isReady(short.queues.get('t\u00000')!, 2000.9)).toBe(false);
    expect(short.isReady(short.queues.get('t\u00000')!, 2001)).toBe(true);
    // lingerMs 0: ready at once.
    const eager = new RecordAccumulator({ batchBytes: 10_000, lingerMs: 0, bufferMemoryBytes: 100_000 });
    eager.append('t', 0, record(10), 50, -1, 3000.9);
    expect(eager.isReady(eager.queues.get('t\u00000')!, 3000.9)).toBe(true);
  });

  it('bounds buffered bytes: reserve waits when full and is granted in FIFO order on release', async () => {
    const acc = new RecordAccumulator({ batchBytes: 100, lingerMs: 0, bufferMemoryBytes: 300 });
    expect(acc.reserve(200)).toBeUndefined();
    const granted: string[] = [];
    const w1 = acc.reserve(150)!;
    expect(w1).toBeInstanceOf(Promise);
    // A small request must not overtake the waiting one even though it would fit.
    const w2 = acc.reserve(50)!;
    expect(w2).toBeInstanceOf(Promise);
    void w1.then(() => granted.push('w1'));
    void w2.then(() => granted.push('w2'));
    expect(acc.bufferedBytes).toBe(200);
    expect(acc.waitingForMemory).toBe(2);
    await new Promise((r) => setTimeout(r, 10));
    expect(granted).toEqual([]);
    acc.release(100);
    await new Promise((r) => setTimeout(r, 0));
    expect(granted).toEqual(['w1', 'w2']);
    expect(acc.bufferedBytes).toBe(300);
    expect(acc.bufferedBytes).toBeLessThanOrEqual(acc.bufferMemoryBytes);
  });

  it('refuses a record that can never fit in the buffer', () => {
    const acc = new RecordAccumulator({ batchBytes: 100, lingerMs: 0, bufferMemoryBytes: 300 });
    let err: unknown;
    try {
      acc.reserve(301);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('MESSAGE_TOO_LARGE');
  });

  it('rejects nonsensical bounds', () => {
    expect(() => new RecordAccumulator({ batchBytes: 1000, lingerMs: 0, bufferMemoryBytes: 10 })).toThrow(/bufferMemoryBytes/);
    expect(() => new RecordAccumulator({ batchBytes: 0, lingerMs: 0, bufferMemoryBytes: 10 })).toThrow(/batchBytes/);
  });
});

describe('producer buffer memory against a real broker', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('makes send() wait for room instead of buffering without bound, and delivers everything', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'mem', numPartitions: 2 }] });
    const producer = rill.producer({ batchBytes: 8 * 1024, bufferMemoryBytes: 32 * 1024, lingerMs: 2 });
    const internals = producer as unknown as { accumulator: RecordAccumulator };
    // Warm up (producer id, metadata) so the loop below appends synchronously.
    await producer.send({ topic: 'mem', messages: [{ value: 'warm-up' }] });
    let maxBuffered = 0;
    let waited = 0;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 400; i++) {
      sends.push(producer.send({ topic: 'mem', messages: [{ key: `k${i % 10}`, value: Buffer.alloc(1024, i % 256) }] }));
      maxBuffered = Math.max(maxBuffered, internals.accumulator.bufferedBytes);
      if (internals.accumulator.waitingForMemory > 0) waited++;
    }
    // close() right away: sends still waiting for buffer memory must be delivered too.
    await producer.close();
    const results = await Promise.all(sends);
    expect(results).toHaveLength(400);
    await expect(producer.send({ topic: 'mem', messages: [{ value: 'late' }] })).rejects.toThrow(/closed/);
    expect(maxBuffered).toBeLessThanOrEqual(32 * 1024);
    expect(waited).toBeGreaterThan(0);
    expect(internals.accumulator.bufferedBytes).toBe(0);
    const offsets = await rill.admin().fetchTopicOffsets('mem');
    expect(offsets.reduce((n, p) => n + p.high, 0)).toBe(401);
  });
});

describe('RecordAccumulator: maxBlockMs and dropped records', () => {
  it('fails a memory wait after maxBlockMs with BufferExhaustedError, and on abort; later waiters move up', async () => {
    const acc = new RecordAccumulator({ batchBytes: 100, lingerMs: 0, bufferMemoryBytes: 300, maxBlockMs: 30 });
    expect(acc.reserve(250)).toBeUndefined();
    const timedOut = acc.reserve(100)!;
    await expect(timedOut).rejects.toBeInstanceOf(BufferExhaustedError);
    expect(acc.waitingForMemory).toBe(0);
    const controller = new AbortController();
    const patientAcc = new RecordAccumulator({ batchBytes: 100, lingerMs: 0, bufferMemoryBytes: 300, maxBlockMs: 60_000 });
    expect(patientAcc.reserve(250)).toBeUndefined();
    const aborted = patientAcc.reserve(200, controller.signal)!;
    const small = patientAcc.reserve(40)!;
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    // The small one was queued behind the aborted one; with it gone, it fits and is granted.
    await small;
    expect(patientAcc.bufferedBytes).toBe(290);
  });

  it('drops records of a batch not yet drained, frees their bytes, and maps offsets past the hole', () => {
    const acc = new RecordAccumulator({ batchBytes: 10_000, lingerMs: 0, bufferMemoryBytes: 100_000 });
    const records = [0, 1, 2, 3, 4].map((i) => record(10 + i));
    let batch = acc.append('t', 0, records[0]!, estimateRecordBytes(records[0]!), -1, 0);
    for (let i = 1; i < 5; i++) batch = acc.append('t', 0, records[i]!, estimateRecordBytes(records[i]!), -1, 0);
    const before = batch.sizeBytes;
    const freed = batch.drop(1, 3);
    expect(freed).toBe(estimateRecordBytes(records[1]!) + estimateRecordBytes(records[2]!));
    expect(batch.sizeBytes).toBe(before - freed);
    expect(batch.recordCount).toBe(3);
    expect(batch.liveRecords()).toEqual([records[0], records[3], records[4]]);
    batch.setEncoded(Buffer.alloc(1), 3);
    expect(() => batch.drop(0, 1)).toThrow();
    batch.complete(100);
    expect([0, 3, 4].map((i) => batch.offsetOf(i))).toEqual([100, 101, 102]);
  });
});
