import { afterEach, describe, expect, it } from 'vitest';
import { BrokerPool } from '../../../client/broker-pool.js';
import { Metadata } from '../../../client/metadata.js';
import { NO_METRICS } from '../../../client/metrics.js';
import { RecordAccumulator, estimateRecordBytes, producerClockMs, type PendingRecord, type ProducerBatch } from '../../../client/producer/accumulator.js';
import { Sender } from '../../../client/producer/sender.js';
import { RillError } from '../../../protocol/errors.js';
import { TestEnv, testLogger } from '../../integration/harness.js';

const RETRY = { retries: 0, initialBackoffMs: 10, maxBackoffMs: 50 };

function record(value: string): PendingRecord {
  return { key: null, value: Buffer.from(value), headers: [], timestamp: 1_700_000_000_000 };
}

describe('Sender', () => {
  const env = new TestEnv();
  const pools: BrokerPool[] = [];
  afterEach(async () => {
    for (const p of pools.splice(0)) await p.close();
    await env.cleanup();
  });

  async function setup(port: number, opts: { lingerMs?: number; maxInFlightPerPartition?: number } = {}): Promise<{ acc: RecordAccumulator; sender: Sender; pool: BrokerPool; append: (topic: string, partition: number, value: string) => ProducerBatch }> {
    const pool = new BrokerPool([`127.0.0.1:${port}`], { clientId: 'sender-test', connectionTimeoutMs: 2_000, requestTimeoutMs: 2_000, retry: RETRY, logger: testLogger });
    pools.push(pool);
    const metadata = new Metadata(pool, { logger: testLogger, retry: RETRY, allowAutoTopicCreation: false });
    // The sender is built right after; the accumulator only calls back on appends.
    const holder: { sender?: Sender } = {};
    const acc = new RecordAccumulator({ batchBytes: 1024 * 1024, lingerMs: opts.lingerMs ?? 0, bufferMemoryBytes: 8 * 1024 * 1024, onBatchClosed: () => holder.sender!.wake() });
    const sender = new Sender({
      accumulator: acc,
      metadata,
      pool,
      idempotence: null,
      retry: RETRY,
      compression: 'none',
      maxInFlightPerPartition: opts.maxInFlightPerPartition ?? 5,
      requestTimeoutMs: 2_000,
      metrics: NO_METRICS,
      logger: testLogger,
    });
    holder.sender = sender;
    await metadata.refresh([]);
    const append = (topic: string, partition: number, value: string): ProducerBatch => {
      const r = record(value);
      const bytes = estimateRecordBytes(r);
      expect(acc.reserve(bytes)).toBeUndefined();
      const batch = acc.append(topic, partition, r, bytes, 1, producerClockMs());
      if (acc.lastIndex === 0) sender.onNewBatch(batch);
      return batch;
    };
    return { acc, sender, pool, append };
  }

  it('drains ready batches of several partitions and topics, and settles each from its answer', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'a', numPartitions: 3 }, { topic: 'b', numPartitions: 1 }] });
    const { acc, sender, append } = await setup(broker.port);
    const batches = new Set<ProducerBatch>();
    for (let i = 0; i < 30; i++) batches.add(append(i % 2 === 0 ? 'a' : 'b', i % 2 === 0 ? i % 3 : 0, `v${i}`));
    expect(batches.size).toBe(4);
    sender.wake();
    await Promise.all([...batches].map((b) => b.done));
    for (const b of batches) {
      expect(b.baseOffset).toBe(0);
      expect(b.attempts).toBe(1);
    }
    // Memory of acked batches is handed back; nothing is left to send.
    expect(acc.bufferedBytes).toBe(0);
    expect(sender.hasPendingWork).toBe(false);
    // The next batch of a partition continues its offsets.
    const next = append('b', 0, 'later');
    sender.wake();
    await next.done;
    expect(next.baseOffset).toBe(15);
  });

  it('with lingerMs 0, writes a woken batch in the same turn, before the event loop runs anything else', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'turn', numPartitions: 1 }] });
    const { acc, sender, append } = await setup(broker.port);
    // A first batch brings the topic's metadata and the leader's connection.
    const warm = append('turn', 0, 'warm-up');
    sender.wake();
    await warm.done;
    // Two records woken in one synchronous run share one batch and one drain.
    const batch = append('turn', 0, 'first');
    sender.wake();
    expect(append('turn', 0, 'second')).toBe(batch);
    sender.wake();
    let immediateRan = false;
    setImmediate(() => {
      immediateRan = true;
    });
    // Microtasks only: a drain left to setImmediate (or a timer) would not have run yet.
    await Promise.resolve();
    expect(immediateRan).toBe(false);
    expect(acc.queues.size).toBe(0);
    expect(batch.encoded).not.toBeNull();
    expect(sender.hasPendingWork).toBe(true);
    await batch.done;
    expect(batch.baseOffset).toBe(1);
    expect(batch.recordCount).toBe(2);
  });

  it('counts a linger in whole milliseconds of the clock, as the Java client: ready in the millisecond it ends, from any drain', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'slack', numPartitions: 1 }] });
    const { acc, sender, append } = await setup(broker.port, { lingerMs: 50 });
    const warm = append('slack', 0, 'warm-up');
    acc.beginFlush();
    sender.wake();
    await warm.done;
    acc.endFlush();
    const r = record('late');
    const bytes = estimateRecordBytes(r);
    let offset = 1;
    // A batch created 0.999 into the millisecond 50 ms before this one has lingered 49.x ms in
    // real time but 50 whole milliseconds of the clock: the next drain (woken by a send or an
    // ack, not a timer) sends it.
    expect(acc.reserve(bytes)).toBeUndefined();
    const now = producerClockMs();
    const due = acc.append('slack', 0, r, bytes, 1, Math.floor(now) - 50 + 0.999);
    sender.onNewBatch(due);
    sender.drain();
    expect(acc.queues.size).toBe(0);
    await due.done;
    expect(due.baseOffset).toBe(offset++);
    // One whole millisecond short of its linger, it waits. (Where the clock crosses into the
    // next millisecond between the append and the drain, the linger really is over: that
    // attempt is let go and the check repeated.)
    let checked = false;
    for (let attempt = 0; attempt < 5 && !checked; attempt++) {
      expect(acc.reserve(bytes)).toBeUndefined();
      const t0 = producerClockMs();
      const batch = acc.append('slack', 0, r, bytes, 1, Math.floor(t0) - 49);
      sender.onNewBatch(batch);
      sender.drain();
      const waited = acc.queues.size === 1;
      if (Math.floor(producerClockMs()) === Math.floor(t0)) {
        expect(waited).toBe(true);
        checked = true;
      }
      // The timer the drain armed sends it, in the millisecond its linger ends or later.
      await batch.done;
      expect(producerClockMs()).toBeGreaterThanOrEqual(Math.floor(t0) + 1);
      expect(batch.baseOffset).toBe(offset++);
    }
    expect(checked).toBe(true);
    // Well before the end of the linger every drain waits.
    expect(acc.reserve(bytes)).toBeUndefined();
    const early = acc.append('slack', 0, r, bytes, 1, producerClockMs() - 40);
    sender.onNewBatch(early);
    sender.drain();
    expect(acc.queues.size).toBe(1);
    acc.beginFlush();
    sender.wake();
    await early.done;
    acc.endFlush();
    expect(early.baseOffset).toBe(offset);
  });

  it('keeps a lingering batch until lingerMs passes or a flush asks for it', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'l', numPartitions: 1 }] });
    const { acc, sender, append } = await setup(broker.port, { lingerMs: 60_000 });
    const batch = append('l', 0, 'x');
    sender.drain();
    await new Promise((r) => setTimeout(r, 50));
    expect(batch.attempts).toBe(0);
    acc.beginFlush();
    sender.drain();
    await batch.done;
    acc.endFlush();
    expect(batch.baseOffset).toBe(0);
  });

  it('completes a batch whose records were all dropped without sending it', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'd', numPartitions: 1 }] });
    const { acc, sender, append } = await setup(broker.port);
    const batch = append('d', 0, 'gone');
    acc.release(batch.drop(0, 1));
    sender.drain();
    await batch.done;
    expect(batch.attempts).toBe(0);
    expect(batch.offsetOf(0)).toBe(-1);
    expect(acc.bufferedBytes).toBe(0);
  });

  it('fails batches for good with the broker\'s error (no retries left), naming the partition', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'big', numPartitions: 1 }] });
    const { acc, sender, append } = await setup(broker.port);
    const batch = append('big', 0, 'x'.repeat(2 * 1024 * 1024));
    sender.wake();
    const err = await batch.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).topic).toBe('big');
    expect((err as RillError).partition).toBe(0);
    expect(acc.bufferedBytes).toBe(0);
  });
});
