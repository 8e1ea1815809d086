import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumedMessage, Consumer, Rill } from '../../client/index.js';
import { TestEnv, waitFor } from './harness.js';

/** Reads `count` messages with for-await and returns them. */
async function take(consumer: Consumer, count: number): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  if (count === 0) return out;
  for await (const m of consumer) {
    out.push(m);
    if (out.length === count) break;
  }
  return out;
}

async function fill(rill: Rill, topic: string, partition: number, count: number, prefix = 'm'): Promise<void> {
  await rill.producer().send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `${prefix}${i}`, partition })) });
}

const values = (ms: ConsumedMessage[]): string[] => ms.map((m) => m.value!.toString());

describe('consumer', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  async function setup(partitions = 2): Promise<Rill> {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: partitions }] });
    return rill;
  }

  it('starts from a timestamp: the first offset at or after it, or the end when none is that recent', async () => {
    const rill = await setup(1);
    const base = 1_700_000_000_000;
    await rill.producer().send({ topic: 't', messages: Array.from({ length: 10 }, (_, i) => ({ value: `at-${i}`, timestamp: base + i * 1000 })) });
    const admin = rill.admin();
    expect(await admin.offsetsForTimes('t', base + 4500)).toEqual([{ partition: 0, offset: 5 }]);
    expect(await admin.offsetsForTimes('t', base + 99_000)).toEqual([{ partition: 0, offset: -1 }]);

    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: { timestamp: base + 4500 } }]);
    const got = await take(consumer, 2);
    expect(got.map((m) => [m.offset, m.timestamp])).toEqual([
      [5, base + 5000],
      [6, base + 6000],
    ]);

    const future = rill.consumer({ maxWaitMs: 50 });
    future.assign([{ topic: 't', partition: 0, offset: { timestamp: base + 99_000 } }]);
    await waitFor(() => future.position('t', 0) !== null, 5_000, 'the timestamp to resolve');
    expect(future.position('t', 0)).toBe(10);
    await fill(rill, 't', 0, 1, 'new');
    expect(values(await take(future, 1))).toEqual(['new0']);
  });

  it("starts at 'latest' with only messages appended after the start", async () => {
    const rill = await setup(1);
    await fill(rill, 't', 0, 5, 'old');
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'latest' }]);
    await waitFor(() => consumer.position('t', 0) === 5, 5_000, "'latest' to resolve");
    await fill(rill, 't', 0, 2, 'new');
    expect(values(await take(consumer, 2))).toEqual(['new0', 'new1']);
  });

  it('pauses and resumes partitions: a paused partition is neither fetched nor delivered', async () => {
    const rill = await setup(2);
    await fill(rill, 't', 0, 20, 'a');
    await fill(rill, 't', 1, 20, 'b');
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([
      { topic: 't', partition: 0, offset: 'earliest' },
      { topic: 't', partition: 1, offset: 'earliest' },
    ]);
    consumer.pause([{ topic: 't', partitions: [0] }]);
    expect(consumer.paused()).toEqual([{ topic: 't', partition: 0 }]);
    const seen: ConsumedMessage[] = [];
    const running = consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message);
      },
    });
    await waitFor(() => seen.length === 20, 5_000, 'partition 1');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.every((m) => m.partition === 1)).toBe(true);
    expect(seen).toHaveLength(20);
    // A paused partition keeps its position.
    expect(consumer.position('t', 0)).toBe(0);
    consumer.resume([{ topic: 't' }]);
    await waitFor(() => seen.length === 40, 5_000, 'partition 0 after resume');
    expect(values(seen.filter((m) => m.partition === 0))).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
    await consumer.stop();
    await running;
  });

  it('seeks: the next message delivered is at the new offset, and position() follows', async () => {
    const rill = await setup(1);
    await fill(rill, 't', 0, 10);
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const firstFive = await take(consumer, 5);
    expect(firstFive.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(consumer.position('t', 0)).toBe(5);
    consumer.seek({ topic: 't', partition: 0, offset: 2 });
    expect(consumer.position('t', 0)).toBe(2);
    expect((await take(consumer, 3)).map((m) => m.offset)).toEqual([2, 3, 4]);
    consumer.seek({ topic: 't', partition: 0, offset: 'latest' });
    await waitFor(() => consumer.position('t', 0) === 10, 5_000, "seek to 'latest'");
    consumer.seek({ topic: 't', partition: 0, offset: 'earliest' });
    expect((await take(consumer, 1))[0]!.offset).toBe(0);
    expect(() => consumer.seek({ topic: 't', partition: 7, offset: 0 })).toThrow(/not assigned/);
  });

  it('delivers batches to eachBatch and, when a handler throws, delivers the failed message again next time', async () => {
    const rill = await setup(1);
    await fill(rill, 't', 0, 30);
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const batches: number[][] = [];
    await expect(
      consumer.run({
        eachBatch: async ({ batch, resolveOffset, isStale, isRunning }) => {
          expect(isStale()).toBe(false);
          expect(isRunning()).toBe(true);
          batches.push(batch.messages.map((m) => m.offset));
          expect(batch.firstOffset()).toBe(batch.messages[0]!.offset);
          for (const m of batch.messages) {
            if (m.offset === 17) throw new Error('handler failed on 17');
            resolveOffset(m.offset);
          }
        },
      }),
    ).rejects.toThrow('handler failed on 17');
    expect(batches.flat()[0]).toBe(0);
    // Resolved up to 16: processing resumes at the failed message.
    expect(consumer.processedOffsets()).toEqual([{ topic: 't', partition: 0, offset: 17 }]);
    expect(consumer.position('t', 0)).toBe(17);

    let failed = false;
    const seen: number[] = [];
    await expect(
      consumer.run({
        eachMessage: async ({ message }) => {
          if (message.offset === 20 && !failed) {
            failed = true;
            throw new Error('once');
          }
          seen.push(message.offset);
          if (seen.length === 13) void consumer.stop();
        },
      }),
    ).rejects.toThrow('once');
    expect(seen).toEqual([17, 18, 19]);
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 29) void consumer.stop();
      },
    });
    expect(seen).toEqual(Array.from({ length: 13 }, (_, i) => 17 + i));
    expect(consumer.processedOffsets()).toEqual([{ topic: 't', partition: 0, offset: 30 }]);
  });

  it('keeps the prefetch buffer bounded when the app does not read', async () => {
    const rill = await setup(2);
    const big = Buffer.alloc(1000, 7);
    // Small batches: a fetch returns whole batches, and at least one even when it is bigger
    // than asked for, so the bound is only as fine as the batches.
    const producer = rill.producer({ batchBytes: 4096 });
    for (const p of [0, 1]) await producer.send({ topic: 't', messages: Array.from({ length: 400 }, () => ({ value: big, partition: p })) });
    const consumer = rill.consumer({ maxWaitMs: 50, maxBytesPerPartition: 16 * 1024, maxPrefetchBytes: 48 * 1024 });
    consumer.assign([
      { topic: 't', partition: 0, offset: 'earliest' },
      { topic: 't', partition: 1, offset: 'earliest' },
    ]);
    const fetcher = (consumer as unknown as { fetcher: { bufferedBytes: number } }).fetcher;
    await waitFor(() => fetcher.bufferedBytes > 0, 5_000, 'prefetch');
    await new Promise((r) => setTimeout(r, 300));
    // Per partition at most one fetch beyond the bound; nothing like the 800 KB available.
    expect(fetcher.bufferedBytes).toBeLessThanOrEqual(48 * 1024 + 2 * 20 * 1024);
    const all = await take(consumer, 800);
    expect(all).toHaveLength(800);
  });

  it('supports the group hooks: revokePartitions waits for in-flight processing and returns processed offsets', async () => {
    const rill = await setup(2);
    await fill(rill, 't', 0, 5, 'a');
    await fill(rill, 't', 1, 5, 'b');
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assignPartitions([
      { topic: 't', partition: 0, offset: 0 },
      { topic: 't', partition: 1, offset: 0 },
    ]);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const handled: string[] = [];
    let blocked = false;
    const running = consumer.run({
      eachMessage: async ({ message }) => {
        if (message.partition === 0 && message.offset === 2) {
          blocked = true;
          await gate;
        }
        handled.push(`${message.partition}:${message.offset}`);
      },
    });
    await waitFor(() => blocked, 5_000, 'the handler to block on 0:2');
    let revoked: Array<{ topic: string; partition: number; offset: number }> | null = null;
    const revoking = consumer.revokePartitions([{ topic: 't', partition: 0 }]).then((r) => (revoked = r));
    await new Promise((r) => setTimeout(r, 100));
    expect(revoked).toBeNull();
    release();
    await revoking;
    // 0:2 finished processing before the revocation completed: its next offset is 3.
    expect(revoked).toEqual([{ topic: 't', partition: 0, offset: 3 }]);
    expect(consumer.assignment()).toEqual([{ topic: 't', partition: 1 }]);
    await waitFor(() => handled.filter((h) => h.startsWith('1:')).length === 5, 5_000, 'partition 1');
    await fill(rill, 't', 0, 3, 'late');
    await new Promise((r) => setTimeout(r, 200));
    expect(handled.filter((h) => h.startsWith('0:'))).toEqual(['0:0', '0:1', '0:2']);
    expect(consumer.processedOffsets()).toEqual([{ topic: 't', partition: 1, offset: 5 }]);
    // Re-assigned (as a group would, from a committed offset), it continues from there.
    consumer.assignPartitions([{ topic: 't', partition: 0, offset: 3 }]);
    await waitFor(() => handled.filter((h) => h.startsWith('0:')).length === 8, 5_000, 'partition 0 again');
    expect(handled.filter((h) => h.startsWith('0:')).slice(3)).toEqual(['0:3', '0:4', '0:5', '0:6', '0:7']);
    let hookRan = false;
    consumer.onClose(async () => {
      hookRan = true;
    });
    await consumer.close();
    await running;
    expect(hookRan).toBe(true);
  });

  it('ends for-await on break and allows one loop at a time', async () => {
    const rill = await setup(1);
    await fill(rill, 't', 0, 3);
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    let handled = 0;
    const running = consumer.run({
      eachMessage: async () => {
        handled++;
      },
    });
    await expect(take(consumer, 1)).rejects.toThrow(/already being read/);
    await waitFor(() => handled === 3, 5_000, 'three messages');
    await consumer.stop();
    await running;
    expect(consumer.processedOffsets()).toEqual([{ topic: 't', partition: 0, offset: 3 }]);
    consumer.seek({ topic: 't', partition: 0, offset: 1 });
    expect(values(await take(consumer, 2))).toEqual(['m1', 'm2']);
    // Asking for m2 finished m1; the loop ended (break) while m2 was in hand, so m2 does not
    // count as processed (at least once), but the position moved past it.
    expect(consumer.processedOffsets()).toEqual([{ topic: 't', partition: 0, offset: 2 }]);
    expect(consumer.position('t', 0)).toBe(3);
    await fill(rill, 't', 0, 1, 'x');
    expect(values(await take(consumer, 1))).toEqual(['x0']);
    await consumer.close();
    expect(() => consumer.assign([])).toThrow(/closed/);
  });
});
