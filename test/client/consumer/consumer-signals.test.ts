/**
 * The consumer's waits end on an AbortSignal (client/consumer/consumer.ts, run-delivery.ts,
 * message-iterator.ts): run({ signal }), iterate({ signal }), commit({ signal }), and a
 * close() bounded by timeoutMs / signal when a handler never returns. Real broker on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Consumer, ConsumerConfig, Rill } from '../../../client/index.js';
import { TestEnv } from '../../integration/harness.js';

/** A broker, a one-partition `topic` holding `count` messages (m0, m1, ...), and a client of it. */
async function topicWith(env: TestEnv, topic: string, count: number): Promise<Rill> {
  const broker = await env.broker();
  const rill = env.client(broker.port);
  await rill.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = rill.producer({ lingerMs: 0 });
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `m${i}` })) });
  await producer.close();
  return rill;
}

/** The same, with a consumer assigned `topic`-0 from `offset` (no group). */
async function assignedConsumer(env: TestEnv, topic: string, count: number, offset: 'earliest' | 'latest', config: ConsumerConfig = {}): Promise<Consumer> {
  const rill = await topicWith(env, topic, count);
  const consumer = rill.consumer(config);
  consumer.assign([{ topic, partition: 0, offset }]);
  return consumer;
}

/** Runs `consumer` with a handler that never returns; resolves once the handler is entered. */
function stuckInHandler(consumer: Consumer): Promise<void> {
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  void consumer.run({
    eachMessage: () => {
      entered();
      return new Promise<void>(() => undefined);
    },
  });
  return inHandler;
}

describe('consumer AbortSignal', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('run({ signal }): aborting ends the run, which resolves after the message in hand; the position stays after it', async () => {
    const consumer = await assignedConsumer(env, 'sig-run', 10, 'earliest');
    const ac = new AbortController();
    const seen: number[] = [];
    await consumer.run({
      signal: ac.signal,
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 3) ac.abort();
      },
    });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(consumer.position('sig-run', 0)).toBe(4);
    // The consumer can be run again and goes on where it stopped.
    const again = new AbortController();
    const rest: number[] = [];
    await consumer.run({
      signal: again.signal,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) rest.push(m.offset);
        if (rest.at(-1) === 9) again.abort();
      },
    });
    expect(rest).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('run({ signal }) ends while waiting for data on an idle partition', async () => {
    const consumer = await assignedConsumer(env, 'sig-idle', 1, 'latest', { maxWaitMs: 60_000 });
    const ac = new AbortController();
    const running = consumer.run({ signal: ac.signal, eachMessage: async () => undefined });
    setTimeout(() => ac.abort(), 100);
    await expect(running).resolves.toBeUndefined();
  });

  it('iterate({ signal }): aborting ends the for-await loop without an error', async () => {
    const consumer = await assignedConsumer(env, 'sig-iter', 3, 'earliest', { maxWaitMs: 60_000 });
    const ac = new AbortController();
    const got: string[] = [];
    for await (const m of consumer.iterate({ signal: ac.signal })) {
      got.push(m.value!.toString());
      // After the last record the loop waits for more: the signal ends that wait.
      if (got.length === 3) setTimeout(() => ac.abort(), 50);
    }
    expect(got).toEqual(['m0', 'm1', 'm2']);
    // The third message was in hand when the loop ended: not processed, delivered again.
    expect(consumer.position('sig-iter', 0)).toBe(3);
  });

  it('commit({ signal }) rejects with the reason of an aborted signal', async () => {
    const rill = await topicWith(env, 'sig-commit', 2);
    const consumer = rill.consumer({ groupId: 'sig-commit-group', fromBeginning: true });
    await consumer.subscribe(['sig-commit']);
    const reason = new Error('gave up');
    await expect(consumer.commit({ offsets: [{ topic: 'sig-commit', partition: 0, offset: 1 }], signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    // Without a signal the same commit goes through.
    await expect(consumer.commit({ offsets: [{ topic: 'sig-commit', partition: 0, offset: 1 }] })).resolves.toEqual([{ topic: 'sig-commit', partition: 0, offset: 1 }]);
    await consumer.close();
  });

  it('close({ timeoutMs }) does not wait for a handler that never returns', async () => {
    const consumer = await assignedConsumer(env, 'sig-close', 1, 'earliest');
    await stuckInHandler(consumer);
    await expect(consumer.close({ timeoutMs: 100 })).resolves.toBeUndefined();
  });

  it('close({ signal }): an aborted signal stops the wait for the handler at once', async () => {
    const consumer = await assignedConsumer(env, 'sig-close2', 1, 'earliest');
    await stuckInHandler(consumer);
    await expect(consumer.close({ signal: AbortSignal.abort() })).resolves.toBeUndefined();
  });
});
