/**
 * Failing handlers in a group: retries with backoff, then the dead-letter topic (with the
 * rill.dlq.* headers) and moving on; without a dead-letter topic the partition pauses at the
 * failed message and the error is surfaced, while the other partitions go on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConsumerHandlerError, DLQ_HEADERS, type ConsumedMessage, type Consumer, type Rill } from '../../client/index.js';
import { FAST_GROUPS, committedOffsets, range } from './fixtures/group-helpers.js';
import { TestEnv, waitFor } from './harness.js';

const FAST_RETRY = { retries: 2, initialBackoffMs: 5, maxBackoffMs: 20 };

describe('consumer group handler failures', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  async function setup(topics: Record<string, number>): Promise<{ rill: Rill; port: number }> {
    const broker = await env.broker(FAST_GROUPS);
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: Object.entries(topics).map(([topic, numPartitions]) => ({ topic, numPartitions })) });
    return { rill, port: broker.port };
  }

  /** Every message of a topic's partition 0..n-1, read without a group. */
  async function readAll(rill: Rill, topic: string, partitions: number, count: number): Promise<ConsumedMessage[]> {
    const reader = rill.consumer({ maxWaitMs: 100 });
    reader.assign(range(partitions).map((partition) => ({ topic, partition, offset: 'earliest' as const })));
    const out: ConsumedMessage[] = [];
    if (count > 0) {
      for await (const m of reader) {
        out.push(m);
        if (out.length === count) break;
      }
    }
    await reader.close();
    return out;
  }

  it('dead-letters exactly the messages whose handler keeps failing, with the documented headers, and processes the rest', async () => {
    const { rill, port } = await setup({ t: 2, dlq: 1 });
    const isBad = (i: number): boolean => i % 10 === 3;
    await rill.producer().send({
      topic: 't',
      messages: range(60).map((i) => ({ key: `k${i}`, value: isBad(i) ? `bad${i}` : `ok${i}`, headers: { trace: `tr${i}` } })),
    });
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, deadLetterTopic: 'dlq', retry: FAST_RETRY, maxWaitMs: 100 });
    await consumer.subscribe(['t']);
    const attempts = new Map<string, number>();
    const processed: string[] = [];
    const running = consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        attempts.set(value, (attempts.get(value) ?? 0) + 1);
        if (value.startsWith('bad')) throw new Error(`cannot handle ${value}`);
        processed.push(value);
      },
    });
    await waitFor(() => processed.length === 54, 10_000, 'the 54 good messages');
    const dead = await readAll(rill, 'dlq', 1, 6);
    await consumer.stop();
    await running;

    expect(processed.sort()).toEqual(range(60).filter((i) => !isBad(i)).map((i) => `ok${i}`).sort());
    const bad = range(60).filter(isBad);
    expect(dead.map((m) => m.value!.toString()).sort()).toEqual(bad.map((i) => `bad${i}`).sort());
    for (const i of bad) expect(attempts.get(`bad${i}`)).toBe(1 + FAST_RETRY.retries);
    // Where each bad message was consumed from, as the producer placed it.
    const origin = new Map((await readAll(rill, 't', 2, 60)).map((m) => [m.value!.toString(), m]));
    for (const d of dead) {
      const value = d.value!.toString();
      const src = origin.get(value)!;
      const i = Number(value.slice(3));
      expect(d.key!.toString()).toBe(`k${i}`);
      const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, v!.toString()]));
      expect(headers).toEqual({
        trace: `tr${i}`,
        [DLQ_HEADERS.topic]: 't',
        [DLQ_HEADERS.partition]: String(src.partition),
        [DLQ_HEADERS.offset]: String(src.offset),
        [DLQ_HEADERS.error]: `cannot handle ${value}`,
        [DLQ_HEADERS.attempts]: '3',
      });
    }
    // Dead-lettered messages count as processed: the commit covers everything.
    await consumer.close();
    const ends = (await rill.admin().fetchTopicOffsets('t')).sort((a, b) => a.partition - b.partition).map((p) => p.high);
    expect(await committedOffsets(port, 'g', 't', [0, 1])).toEqual(ends);
  });

  it('without a dead-letter topic pauses the partition at the failed message and emits the error; the other partitions go on', async () => {
    const { rill, port } = await setup({ t: 2 });
    const producer = rill.producer();
    await producer.send({ topic: 't', messages: range(10).map((i) => ({ value: `a${i}`, partition: 0 })) });
    await producer.send({ topic: 't', messages: range(10).map((i) => ({ value: `b${i}`, partition: 1 })) });
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, retry: FAST_RETRY, maxWaitMs: 100, autoCommitIntervalMs: 50 });
    const errors: Error[] = [];
    consumer.on('error', (err) => errors.push(err));
    await consumer.subscribe(['t']);
    let broken = true;
    const seen: string[] = [];
    const running = consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        if (broken && value === 'a4') throw new Error('a4 is poison');
        seen.push(value);
      },
    });
    await waitFor(() => errors.length === 1 && seen.filter((v) => v.startsWith('b')).length === 10, 10_000, 'the error and all of partition 1');
    const err = errors[0] as ConsumerHandlerError;
    expect(err).toBeInstanceOf(ConsumerHandlerError);
    expect([err.topic, err.partition, err.offset, err.attempts]).toEqual(['t', 0, 4, 3]);
    expect(err.message).toContain('a4 is poison');
    expect(consumer.paused()).toEqual([{ topic: 't', partition: 0 }]);
    expect(consumer.position('t', 0)).toBe(4);
    expect(seen.filter((v) => v.startsWith('a'))).toEqual(['a0', 'a1', 'a2', 'a3']);
    await waitFor(async () => (await committedOffsets(port, 'g', 't', [0, 1])).join() === '4,10', 5_000, 'commits up to the failed message');

    broken = false;
    consumer.resume([{ topic: 't', partitions: [0] }]);
    await waitFor(() => seen.length === 20, 5_000, 'partition 0 after resume');
    expect(seen.filter((v) => v.startsWith('a'))).toEqual(range(10).map((i) => `a${i}`));
    await consumer.stop();
    await running;
  });

  it('without an error listener run() rejects with the handler error and the partition stays paused', async () => {
    const { rill } = await setup({ t: 1 });
    await rill.producer().send({ topic: 't', messages: range(5).map((i) => ({ value: `m${i}` })) });
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, retry: { retries: 0 }, maxWaitMs: 100 });
    await consumer.subscribe(['t']);
    const seen: number[] = [];
    const failure = await consumer
      .run({
        eachMessage: async ({ message }) => {
          if (message.offset === 2) throw new Error('offset 2 fails');
          seen.push(message.offset);
        },
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(failure).toBeInstanceOf(ConsumerHandlerError);
    expect((failure as ConsumerHandlerError).offset).toBe(2);
    expect((failure as ConsumerHandlerError).attempts).toBe(1);
    expect(seen).toEqual([0, 1]);
    expect(consumer.paused()).toEqual([{ topic: 't', partition: 0 }]);
    // Resumed, the failed message is the next one delivered.
    consumer.resume([{ topic: 't' }]);
    const next = await new Promise<number>((resolve, reject) => {
      consumer.run({ eachMessage: async ({ message }) => resolve(message.offset) }).catch(reject);
    });
    expect(next).toBe(2);
  });

  it('retries a failing eachBatch from its first unresolved message, then pauses there', async () => {
    const { rill } = await setup({ t: 1, dlq: 1 });
    await rill.producer().send({ topic: 't', messages: range(10).map((i) => ({ value: `m${i}` })) });
    const consumer: Consumer = rill.consumer({ groupId: 'g', fromBeginning: true, retry: FAST_RETRY, deadLetterTopic: 'dlq', maxWaitMs: 100 });
    const errors: Error[] = [];
    consumer.on('error', (err) => errors.push(err));
    await consumer.subscribe(['t']);
    const calls: number[][] = [];
    const running = consumer.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        calls.push(batch.messages.map((m) => m.offset));
        for (const m of batch.messages) {
          if (m.offset === 6) throw new Error('6 fails');
          resolveOffset(m.offset);
        }
      },
    });
    await waitFor(() => errors.length === 1, 10_000, 'the batch error');
    await consumer.stop();
    await running;
    expect(calls[0]![0]).toBe(0);
    // Attempts 2 and 3 start at the first unresolved message.
    expect(calls.slice(1).map((c) => c[0])).toEqual([6, 6]);
    const err = errors[0] as ConsumerHandlerError;
    expect([err.offset, err.attempts]).toEqual([6, 3]);
    expect(consumer.paused()).toEqual([{ topic: 't', partition: 0 }]);
    expect(consumer.position('t', 0)).toBe(6);
    // A batch failure is never dead-lettered.
    expect(await readAll(rill, 'dlq', 1, 0)).toEqual([]);
    const end = await rill.admin().fetchTopicOffsets('dlq');
    expect(end[0]!.high).toBe(0);
  });
});
