/**
 * run()'s plain eachMessage path (client/consumer/run-delivery.ts, no group and no dead-letter
 * topic, the hot one): handlers that return no promise or throw synchronously, and stop() in
 * the middle of a chunk, behave as with an async handler.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Rill } from '../../../client/index.js';
import { TestEnv } from '../../integration/harness.js';

describe('run() eachMessage without a failure policy', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  async function setup(count: number): Promise<Rill> {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    await rill.producer().send({ topic: 't', messages: Array.from({ length: count }, (_, i) => ({ value: `m${i}`, partition: 0 })) });
    return rill;
  }

  it('takes a handler that returns no promise, and one that throws synchronously: run() rejects and the failed message comes again', async () => {
    const rill = await setup(600);
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const seen: number[] = [];
    const syncHandler = (({ message }: { message: { offset: number } }) => {
      if (message.offset === 450) throw new Error('sync failure at 450');
      seen.push(message.offset);
    }) as unknown as Parameters<typeof consumer.run>[0]['eachMessage'];
    await expect(consumer.run({ eachMessage: syncHandler })).rejects.toThrow('sync failure at 450');
    expect(seen).toEqual(Array.from({ length: 450 }, (_, i) => i));
    expect(consumer.position('t', 0)).toBe(450);
    expect(consumer.processedOffsets()).toEqual([{ topic: 't', partition: 0, offset: 450 }]);

    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 599) void consumer.stop();
      },
    });
    expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => i));
    await consumer.close();
  });

  it('stop() in the middle of a chunk puts the rest back: the next run() goes on from the next message', async () => {
    const rill = await setup(500);
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const seen: number[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 123) void consumer.stop();
      },
    });
    expect(seen).toEqual(Array.from({ length: 124 }, (_, i) => i));
    expect(consumer.position('t', 0)).toBe(124);
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 499) void consumer.stop();
      },
    });
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(consumer.processedOffsets()).toEqual([{ topic: 't', partition: 0, offset: 500 }]);
    await consumer.close();
  });
});
