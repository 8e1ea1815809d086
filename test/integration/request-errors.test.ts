/**
 * The SDK's side of bad requests: a topic name that breaks the rule fails at once with
 * INVALID_TOPIC_EXCEPTION (not retried, not a NETWORK_EXCEPTION); a request the broker cannot
 * read is rejected with the broker's code and message; CreateTopics without a partition count
 * gets the broker's `num.partitions`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, RillError } from '../../protocol/errors.js';
import { Connection } from '../../client/connection.js';
import type { BrokerHandle } from '../../broker/index.js';
import { TestEnv, testLogger } from './harness.js';

const env = new TestEnv();
afterEach(() => env.cleanup());

/** How many requests of `api` the broker has answered (its latency histogram's count). */
async function answered(broker: BrokerHandle, api: string): Promise<number> {
  const metric = await broker.context.metrics.requestDuration.get();
  return metric.values.find((v) => v.metricName?.endsWith('_count') && v.labels.api === api)?.value ?? 0;
}

describe('SDK and bad requests', () => {
  it('admin createTopics / describeTopics and producer send with an illegal name: INVALID_TOPIC_EXCEPTION, one request, no retry', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port, { retry: { retries: 4, initialBackoffMs: 50, maxBackoffMs: 200 } });
    const admin = rill.admin();
    for (const topic of ['', 'a'.repeat(300), '..', 'bad name']) {
      const before = await answered(broker, 'CreateTopics');
      const err = await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }).catch((e: unknown) => e);
      expect(err, topic).toBeInstanceOf(RillError);
      expect((err as RillError).code).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect((err as RillError).retriable).toBe(false);
      expect(await answered(broker, 'CreateTopics')).toBe(before + 1);
    }
    const described = await admin.describeTopics({ topics: ['a'.repeat(300)] }).catch((e: unknown) => e);
    expect((described as RillError).code).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);

    const producer = rill.producer();
    const sent = await producer.send({ topic: 'b'.repeat(300), messages: [{ value: 'x' }] }).catch((e: unknown) => e);
    expect((sent as RillError).code).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('admin createTopics without numPartitions gets the broker num.partitions', async () => {
    const broker = await env.broker({ 'num.partitions': 4 });
    const admin = env.client(broker.port).admin();
    await admin.createTopics({ topics: [{ topic: 'defaulted' }] });
    const [info] = await admin.describeTopics({ topics: ['defaulted'] });
    expect(info!.partitions).toHaveLength(4);
  });

  it('a request the broker cannot read is rejected with its code and field-naming message, and the connection stays', async () => {
    const broker = await env.broker();
    const conn = new Connection({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 'raw',
      connectionTimeoutMs: 5000,
      requestTimeoutMs: 5000,
      maxInFlightRequests: 5,
      maxFrameBytes: 1024 * 1024,
      reconnectBackoff: { retries: 0, initialBackoffMs: 10, maxBackoffMs: 10 },
      logger: testLogger,
    });
    try {
      const err = await conn.request('Produce', { acks: 2 as never, timeoutMs: 1000, topics: [] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RillError);
      expect((err as RillError).code).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
      expect((err as RillError).message).toMatch(/Produce refused by .*: acks: expected one of 0 \| 1 \| -1, got 2/);
      const err2 = await conn.request('ListOffsets', { topics: [{ name: 't', partitions: [{ partition: 0, timestamp: 5.5 }] }] }).catch((e: unknown) => e);
      expect((err2 as RillError).code).toBe(ErrorCode.INVALID_REQUEST);
      expect((err2 as RillError).message).toMatch(/topics\[0\]\.partitions\[0\]\.timestamp/);
      const md = await conn.request('Metadata', { topics: null });
      expect(md.brokers).toHaveLength(1);
    } finally {
      await conn.close();
    }
  });
});
