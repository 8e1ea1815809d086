/**
 * One long-lived AbortSignal passed to many calls keeps at most one 'abort' listener
 * (client/abort-watch.ts): send({ signal }) in sequence and at once, sends that wait for buffer
 * memory, commit({ signal }) and admin calls. Aborting mid-flight still rejects what is pending
 * with the AbortError and loses nothing already acked. Real broker on loopback.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Rill, RecordMetadata } from '../../client/index.js';
import { TestEnv } from '../integration/harness.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

async function clientWithTopic(env: TestEnv, topic: string): Promise<Rill> {
  const broker = await env.broker();
  const rill = env.client(broker.port);
  await rill.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
  return rill;
}

/** Values of `topic`-0 from offset 0 up to (not including) `end`, by offset. */
async function readUpTo(rill: Rill, topic: string, end: number): Promise<Map<number, string>> {
  const consumer = rill.consumer({ maxWaitMs: 100 });
  consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
  const out = new Map<number, string>();
  if (end > 0) {
    for await (const m of consumer) {
      out.set(m.offset, m.value!.toString());
      if (m.offset >= end - 1) break;
    }
  }
  await consumer.close();
  return out;
}

describe('one listener per AbortSignal across many calls', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('5,000 sequential and 5,000 concurrent send({ signal }) leave at most one listener on the signal', async () => {
    const rill = await clientWithTopic(env, 'one-listener');
    const producer = rill.producer({ lingerMs: 0 });
    const ac = new AbortController();
    let most = 0;
    for (let i = 0; i < 5000; i++) {
      const sent = producer.send({ topic: 'one-listener', messages: [{ value: `s${i}` }] }, { signal: ac.signal });
      most = Math.max(most, listeners(ac.signal));
      await sent;
    }
    const concurrent: Array<Promise<RecordMetadata[]>> = [];
    for (let i = 0; i < 5000; i++) {
      concurrent.push(producer.send({ topic: 'one-listener', messages: [{ value: `c${i}` }] }, { signal: ac.signal }));
      most = Math.max(most, listeners(ac.signal));
    }
    const acked = await Promise.all(concurrent);
    expect(most).toBe(1);
    expect(listeners(ac.signal)).toBe(1);
    expect(acked.map((r) => r[0]!.offset)).toEqual(Array.from({ length: 5000 }, (_, i) => 5000 + i));
    await producer.close();
  }, 60_000);

  it('sends that wait for buffer memory with one signal: one listener; aborting rejects the pending ones and keeps every acked record', async () => {
    const rill = await clientWithTopic(env, 'abort-mid');
    // ~1 KB records in 4 KB batches with 16 KB of buffer: most sends wait for memory (and
    // their batches for in-flight slots) when issued all at once.
    const producer = rill.producer({ lingerMs: 0, batchBytes: 4096, bufferMemoryBytes: 16_384 });
    const ac = new AbortController();
    const value = (i: number): string => `v${i}:`.padEnd(1000, 'x');
    const total = 2000;
    const outcomes: Array<{ offset: number } | { error: unknown }> = new Array(total);
    let ackedCount = 0;
    let most = 0;
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      sends.push(
        producer.send({ topic: 'abort-mid', messages: [{ value: value(i) }] }, { signal: ac.signal }).then(
          (r) => {
            outcomes[i] = { offset: r[0]!.offset };
            // Abort once some sends are acked: the rest are still waiting or in flight.
            if (++ackedCount === 50) ac.abort();
          },
          (error: unknown) => {
            outcomes[i] = { error };
          },
        ),
      );
      most = Math.max(most, listeners(ac.signal));
    }
    await Promise.all(sends);
    expect(most).toBe(1);
    const acked = outcomes.flatMap((o, i) => ('offset' in o ? [{ i, offset: o.offset }] : []));
    const failed = outcomes.filter((o): o is { error: unknown } => 'error' in o);
    expect(acked.length).toBeGreaterThanOrEqual(50);
    expect(failed.length).toBeGreaterThan(0);
    expect(acked.length + failed.length).toBe(total);
    for (const f of failed) expect(f.error).toMatchObject({ name: 'AbortError' });
    // The producer still works, and every acked record is in the log at its offset.
    const [last] = await producer.send({ topic: 'abort-mid', messages: [{ value: 'after' }] });
    await producer.close();
    const log = await readUpTo(rill, 'abort-mid', last!.offset + 1);
    for (const a of acked) expect(log.get(a.offset)).toBe(value(a.i));
    expect(log.get(last!.offset)).toBe('after');
  }, 60_000);

  it('many commit({ signal }) and admin calls with one signal leave at most one listener', async () => {
    const rill = await clientWithTopic(env, 'commit-one');
    const producer = rill.producer({ lingerMs: 0 });
    await producer.send({ topic: 'commit-one', messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.close();
    const consumer = rill.consumer({ groupId: 'commit-one-group', fromBeginning: true });
    await consumer.subscribe(['commit-one']);
    const ac = new AbortController();
    let most = 0;
    for (let i = 0; i < 500; i++) {
      // Alternating offsets: each commit really goes to the coordinator (an unchanged one is skipped).
      const done = consumer.commit({ offsets: [{ topic: 'commit-one', partition: 0, offset: (i % 2) + 1 }], signal: ac.signal });
      most = Math.max(most, listeners(ac.signal));
      await done;
    }
    const concurrent = Array.from({ length: 200 }, (_, i) => consumer.commit({ offsets: [{ topic: 'commit-one', partition: 0, offset: (i % 2) + 1 }], signal: ac.signal }));
    most = Math.max(most, listeners(ac.signal));
    await Promise.all(concurrent);
    const admin = rill.admin();
    for (let i = 0; i < 200; i++) {
      const calls = [admin.describeCluster({ signal: ac.signal }), admin.listTopics({ signal: ac.signal }), admin.describeTopics({ topics: ['commit-one'], signal: ac.signal })];
      most = Math.max(most, listeners(ac.signal));
      await Promise.all(calls);
    }
    expect(most).toBe(1);
    expect(listeners(ac.signal)).toBe(1);
    // The signal still works for the next call.
    const reason = new Error('enough');
    const pending = consumer.commit({ offsets: [{ topic: 'commit-one', partition: 0, offset: 2 }], signal: ac.signal });
    ac.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await consumer.close();
  }, 60_000);

  it('repeated iterate({ signal }) loops with one signal leave at most one listener, and the signal still ends a loop', async () => {
    const rill = await clientWithTopic(env, 'iterate-one');
    const producer = rill.producer({ lingerMs: 0 });
    await producer.send({ topic: 'iterate-one', messages: Array.from({ length: 30 }, (_, i) => ({ value: `m${i}` })) });
    await producer.close();
    const consumer = rill.consumer({ maxWaitMs: 100 });
    consumer.assign([{ topic: 'iterate-one', partition: 0, offset: 'earliest' }]);
    const ac = new AbortController();
    const got: string[] = [];
    let most = 0;
    for (let loop = 0; loop < 20; loop++) {
      for await (const m of consumer.iterate({ signal: ac.signal })) {
        most = Math.max(most, listeners(ac.signal));
        got.push(m.value!.toString());
        break;
      }
    }
    expect(most).toBe(1);
    expect(listeners(ac.signal)).toBeLessThanOrEqual(1);
    // Each loop takes the next message (the one in hand at a break is not processed, but the
    // consumer's position has moved past it: it comes again only after a rebalance or restart).
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    setTimeout(() => ac.abort(), 50);
    const rest: string[] = [];
    for await (const m of consumer.iterate({ signal: ac.signal })) rest.push(m.value!.toString());
    expect(rest).toEqual(Array.from({ length: 10 }, (_, i) => `m${20 + i}`));
    await consumer.close();
  }, 60_000);
});
