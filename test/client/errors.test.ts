import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../../client/connection.js';
import { partitionErrors } from '../../client/errors.js';
import { RillError } from '../../client/index.js';
import { TestEnv, testLogger } from '../integration/harness.js';

async function rejection(p: Promise<unknown>): Promise<RillError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RillError);
  return err as RillError;
}

describe('typed errors from broker error codes', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('lists every failing partition of a response, with its code and context', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'two', numPartitions: 2 }] });
    const conn = new Connection({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 'errors',
      connectionTimeoutMs: 2_000,
      requestTimeoutMs: 5_000,
      maxInFlightRequests: 8,
      maxFrameBytes: 1 << 20,
      reconnectBackoff: { retries: 1, initialBackoffMs: 10, maxBackoffMs: 10 },
      logger: testLogger,
    });
    try {
      const r = await conn.request('ListOffsets', {
        topics: [
          { name: 'two', partitions: [{ partition: 0, timestamp: -1 }, { partition: 5, timestamp: -1 }, { partition: 7, timestamp: -1 }] },
          { name: 'missing', partitions: [{ partition: 0, timestamp: -1 }] },
        ],
      });
      const err = partitionErrors(r.topics, 'ListOffsets')!;
      expect(err).toBeInstanceOf(RillError);
      expect(err.errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
      expect(err.retriable).toBe(true);
      expect(err.topic).toBe('two');
      expect(err.partition).toBe(5);
      expect(err.partitions!.map((p) => `${p.topic}[${p.partition}]`)).toEqual(['two[5]', 'two[7]', 'missing[0]']);
      expect(err.message).toContain('3 partition(s)');
      expect(err.message).toContain('missing[0]');
    } finally {
      await conn.close();
    }
  });

  it('raises RillErrors with names, retriable flags and topic/partition from the SDK', async () => {
    const broker = await env.broker({ 'auto.create.topics.enable': false });
    const rill = env.client(broker.port, { retry: { retries: 1, initialBackoffMs: 10, maxBackoffMs: 20 } });
    const admin = rill.admin();
    await admin.createTopics({ topics: [{ topic: 'known', numPartitions: 2 }] });

    const exists = await rejection(admin.createTopics({ topics: [{ topic: 'known', numPartitions: 2 }] }));
    expect(exists.errorName).toBe('TOPIC_ALREADY_EXISTS');
    expect(exists.retriable).toBe(false);
    expect(exists.topic).toBe('known');

    const unknown = await rejection(admin.describeTopics({ topics: ['nope'] }));
    expect(unknown.errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(unknown.message).toBe("topic 'nope' does not exist");

    const badConfig = await rejection(admin.alterConfigs({ topic: 'known', configs: { 'retention.ms': 'soon' } }));
    expect(badConfig.errorName).toBe('INVALID_CONFIG');

    const producer = rill.producer();
    const badPartition = await rejection(producer.send({ topic: 'known', messages: [{ value: 'x', partition: 9 }] }));
    expect(badPartition.errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(badPartition.partition).toBe(9);

    const noTopic = await rejection(producer.send({ topic: 'not-created', messages: [{ value: 'x' }] }));
    expect(noTopic.errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(noTopic.topic).toBe('not-created');

    const acks = await rejection(producer.send({ topic: 'known', acks: 1, messages: [{ value: 'x' }] }));
    expect(acks.errorName).toBe('INVALID_REQUIRED_ACKS');

    const tooBig = rill.producer({ idempotent: false, acks: 1, retry: { retries: 0 } });
    await admin.alterConfigs({ topic: 'known', configs: { 'max.message.bytes': '2048' } });
    const large = await rejection(tooBig.send({ topic: 'known', messages: [{ value: Buffer.alloc(10_000) }] }));
    expect(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']).toContain(large.errorName);
    expect(large.topic).toBe('known');
    expect(large.partition).toBeTypeOf('number');
  });

  it('raises OFFSET_OUT_OF_RANGE for an explicit offset past the end, naming the partition', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'short', numPartitions: 1 }] });
    await rill.producer().send({ topic: 'short', messages: [{ value: 'only' }] });
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 'short', partition: 0, offset: 42 }]);
    const err = await rejection(
      (async () => {
        for await (const _m of consumer) void _m;
      })(),
    );
    expect(err.errorName).toBe('OFFSET_OUT_OF_RANGE');
    expect(err.topic).toBe('short');
    expect(err.partition).toBe(0);
    expect(err.message).toContain('offset 42');
  });
});
