/**
 * KafkaJS 2.2.4 against the Kafka listener: the producer (keys, headers, timestamps, the
 * idempotent producer), admin.createTopics / fetchTopicOffsets / describeConfigs /
 * deleteTopics, and interop with the rill SDK. KafkaJS's consumer needs the classic group APIs
 * (broker/kafka/handlers/groups.ts, another helper's), so consuming with KafkaJS is tested there;
 * here the rill SDK reads what KafkaJS wrote.
 */
import { CompressionTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { TestEnv } from '../integration/harness.js';
import { take } from './take.js';

describe('KafkaJS against the Kafka listener', () => {
  const env = new TestEnv();
  const open: Array<Admin | Producer> = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.disconnect().catch(() => undefined);
    await env.cleanup();
  });

  async function setup() {
    const broker = await env.broker({ kafkaPort: 0 });
    const kafka = new Kafka({ clientId: 'kafkajs-test', brokers: [`127.0.0.1:${broker.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const admin = kafka.admin();
    await admin.connect();
    open.push(admin);
    return { broker, kafka, admin, rill: env.client(broker.port) };
  }

  async function producer(kafka: Kafka, idempotent = false): Promise<Producer> {
    const p = kafka.producer({ idempotent, allowAutoTopicCreation: false });
    await p.connect();
    open.push(p);
    return p;
  }

  it('admin.createTopics creates topics the rill SDK sees; a second create says it exists', async () => {
    const { admin, rill } = await setup();
    expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 4 }, { topic: 'compact', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })).toBe(true);
    expect((await admin.listTopics()).sort()).toEqual(['__consumer_offsets', 'compact', 'orders']);
    const described = await rill.admin().describeTopics({ topics: ['orders'] });
    expect(described[0]!.partitions).toHaveLength(4);
    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'compact', configNames: ['cleanup.policy'] }], includeSynonyms: false });
    expect(configs.resources[0]!.configEntries).toMatchObject([{ configName: 'cleanup.policy', configValue: 'compact', isDefault: false }]);
    await expect(admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 4 }] })).resolves.toBe(false);
    await admin.deleteTopics({ topics: ['compact'] });
    expect((await admin.listTopics()).sort()).toEqual(['__consumer_offsets', 'orders']);
  });

  it('producer.send with keys lands each key on the partition the rill SDK picks (both murmur2)', async () => {
    const { admin, kafka, rill } = await setup();
    await admin.createTopics({ topics: [{ topic: 'keyed', numPartitions: 5 }] });
    const p = await producer(kafka);
    const keys = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const kafkajsPartition = new Map<string, number>();
    for (const key of keys) {
      const [meta] = await p.send({ topic: 'keyed', messages: [{ key, value: 'v' }] });
      kafkajsPartition.set(key, meta!.partition);
    }
    const sent = await rill.producer().send({ topic: 'keyed', messages: keys.map((key) => ({ key, value: 'v' })) });
    expect(new Set(kafkajsPartition.values()).size).toBeGreaterThan(1);
    keys.forEach((key, i) => expect(sent[i]!.partition, key).toBe(kafkajsPartition.get(key)));
    const offsets = await admin.fetchTopicOffsets('keyed');
    expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(40);
  });

  it('records from KafkaJS (idempotent) reach the rill SDK with keys, headers and timestamps intact', async () => {
    const { admin, kafka, rill } = await setup();
    await admin.createTopics({ topics: [{ topic: 'interop', numPartitions: 1 }] });
    const p = await producer(kafka, true);
    const base = 1_700_000_000_000;
    await p.send({
      topic: 'interop',
      messages: [
        { key: 'k1', value: 'v1', headers: { trace: 'abc' }, timestamp: String(base) },
        { key: null, value: 'v2', timestamp: String(base + 5) },
      ],
    });
    await p.send({ topic: 'interop', messages: [{ key: 'k3', value: Buffer.from([0, 1, 2]), headers: { bin: Buffer.from([255]) }, timestamp: String(base + 10) }] });
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 'interop', partition: 0, offset: 'earliest' }]);
    const got = await take(consumer, 3);
    expect(got.map((m) => [m.offset, m.key?.toString() ?? null, m.timestamp])).toEqual([
      [0, 'k1', base],
      [1, null, base + 5],
      [2, 'k3', base + 10],
    ]);
    expect(got[0]!.headers.trace?.toString()).toBe('abc');
    expect(got[2]!.value).toEqual(Buffer.from([0, 1, 2]));
    expect(got[2]!.headers.bin).toEqual(Buffer.from([255]));
  });

  it('gzip batches from KafkaJS are stored as sent and read by the rill SDK', async () => {
    const { admin, kafka, rill } = await setup();
    await admin.createTopics({ topics: [{ topic: 'zipped', numPartitions: 1 }] });
    const p = await producer(kafka);
    await p.send({ topic: 'zipped', compression: CompressionTypes.GZIP, messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `value-${i}`.repeat(20) })) });
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 'zipped', partition: 0, offset: 'earliest' }]);
    const got = await take(consumer, 50);
    expect(got.map((m) => m.value?.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `value-${i}`.repeat(20)));
  });

  it('a send to a missing topic with auto-creation on the broker creates it (Metadata allowAutoTopicCreation)', async () => {
    const { kafka, admin } = await setup();
    const p = kafka.producer({ allowAutoTopicCreation: true });
    await p.connect();
    open.push(p);
    const [meta] = await p.send({ topic: 'auto-made', messages: [{ value: 'x' }] });
    expect(meta!.errorCode).toBe(0);
    expect(await admin.listTopics()).toContain('auto-made');
  });
});
