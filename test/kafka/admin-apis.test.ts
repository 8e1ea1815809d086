/**
 * The Kafka listener's admin APIs on raw sockets, at their oldest and newest served versions:
 * CreateTopics (configs, assignments, refusals), DeleteTopics (names, topic ids), InitProducerId,
 * DescribeConfigs (topic, broker, unsupported resource types), Metadata for unknown topics, and
 * the error answer a refused translation gets on every entry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaApiKey, ZERO_UUID } from '../../protocol/kafka/index.js';
import type { BrokerHandle } from '../../broker/index.js';
import { Fixture } from '../broker/harness.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const fx = new Fixture();
const clients: RawKafkaClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await fx.cleanup();
});

async function setup(overrides: Record<string, unknown> = {}): Promise<{ broker: BrokerHandle; c: RawKafkaClient }> {
  const broker = await fx.broker({ kafkaPort: 0, ...overrides });
  const c = await RawKafkaClient.connect(broker.kafkaPort!);
  clients.push(c);
  return { broker, c };
}

const topic = (name: string, numPartitions: number, extra: Record<string, unknown> = {}) => ({ name, numPartitions, replicationFactor: -1, assignments: [], configs: [], ...extra });

describe('Kafka admin APIs', () => {
  it('CreateTopics: configs, manual assignments, and per-topic refusals in request order', async () => {
    const { c } = await setup();
    const r = await c.request(KafkaApiKey.CreateTopics, 5, {
      topics: [
        topic('with-config', 2, { configs: [{ name: 'retention.ms', value: '60000' }, { name: 'segment.bytes', value: null }] }),
        topic('assigned', -1, { replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [0] }, { partitionIndex: 1, brokerIds: [0] }, { partitionIndex: 2, brokerIds: [0] }] }),
        topic('both', 2, { assignments: [{ partitionIndex: 0, brokerIds: [0] }] }),
        topic('bad config', 1, { configs: [{ name: 'retention.ms', value: 'soon' }] }),
        topic('three-replicas', 1, { replicationFactor: 3 }),
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    const out = r.body.topics as Array<{ name: string; errorCode: number; numPartitions: number; replicationFactor: number; errorMessage: string | null }>;
    expect(out.map((t) => [t.name, t.errorCode, t.numPartitions])).toEqual([
      ['with-config', 0, 2],
      ['assigned', 0, 3],
      ['both', 42, -1],
      ['bad config', 17, -1],
      ['three-replicas', 38, -1],
    ]);
    expect(out[0]!.replicationFactor).toBe(1);
    const cfg = await c.request(KafkaApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'with-config', configurationKeys: ['retention.ms', 'segment.bytes'] }], includeSynonyms: false, includeDocumentation: false });
    const entries = (cfg.body.results as Array<{ configs: Array<{ name: string; value: string; configSource: number }> }>)[0]!.configs;
    expect(entries.find((e) => e.name === 'retention.ms')).toMatchObject({ value: '60000', configSource: 1 });
    expect(entries.find((e) => e.name === 'segment.bytes')).toMatchObject({ configSource: 5 });
  });

  it('CreateTopics v0 and validateOnly create nothing extra; a second create is TOPIC_ALREADY_EXISTS', async () => {
    const { c } = await setup();
    const dry = await c.request(KafkaApiKey.CreateTopics, 1, { topics: [topic('dry', 4)], timeoutMs: 1000, validateOnly: true });
    expect(dry.body.topics).toMatchObject([{ name: 'dry', errorCode: 0 }]);
    const v0 = await c.request(KafkaApiKey.CreateTopics, 0, { topics: [topic('v0', 1)], timeoutMs: 1000 });
    expect(v0.body.topics).toMatchObject([{ name: 'v0', errorCode: 0 }]);
    const again = await c.request(KafkaApiKey.CreateTopics, 7, { topics: [topic('v0', 1)], timeoutMs: 1000, validateOnly: false });
    expect(again.body.topics).toMatchObject([{ name: 'v0', errorCode: 36 }]);
    const md = await c.request(KafkaApiKey.Metadata, 9, { topics: [{ name: 'dry' }, { name: 'v0' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect((md.body.topics as Array<{ name: string; errorCode: number }>).map((t) => [t.name, t.errorCode])).toEqual([
      ['dry', 3],
      ['v0', 0],
    ]);
  });

  it('a translation the rill schema refuses is answered with its code on every entry', async () => {
    const { c } = await setup();
    const r = await c.request(KafkaApiKey.CreateTopics, 7, { topics: [topic('huge', 200_000), topic('fine', 1)], timeoutMs: 1000, validateOnly: false });
    const out = r.body.topics as Array<{ name: string; errorCode: number; errorMessage: string }>;
    expect(out.map((t) => [t.name, t.errorCode])).toEqual([
      ['huge', 42],
      ['fine', 42],
    ]);
    expect(out[0]!.errorMessage).toMatch(/numPartitions/);
  });

  it('DeleteTopics by name (v0, v5) and by topic id (v6: unknown on a standalone broker)', async () => {
    const { c } = await setup();
    await c.request(KafkaApiKey.CreateTopics, 4, { topics: [topic('a', 1), topic('b', 1)], timeoutMs: 1000, validateOnly: false });
    const v0 = await c.request(KafkaApiKey.DeleteTopics, 0, { topicNames: ['a', 'missing'], timeoutMs: 1000 });
    expect(v0.body.responses).toMatchObject([
      { name: 'a', errorCode: 0 },
      { name: 'missing', errorCode: 3 },
    ]);
    const v6 = await c.request(KafkaApiKey.DeleteTopics, 6, { topics: [{ name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }, { name: 'b', topicId: ZERO_UUID }], timeoutMs: 1000 });
    expect(v6.body.responses).toMatchObject([
      { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', errorCode: 100 },
      { name: 'b', errorCode: 0, errorMessage: null },
    ]);
    const md = await c.request(KafkaApiKey.Metadata, 1, { topics: null });
    expect((md.body.topics as Array<{ name: string }>).map((t) => t.name)).toEqual(['__consumer_offsets']);
  });

  it('InitProducerId gives idempotent producer ids and bumps epochs; a transactional id is refused', async () => {
    const { c } = await setup();
    const first = await c.request(KafkaApiKey.InitProducerId, 0, { transactionalId: null, transactionTimeoutMs: 60000 });
    expect(first.body).toMatchObject({ errorCode: 0, producerEpoch: 0 });
    const id = first.body.producerId as number;
    expect(id).toBeGreaterThanOrEqual(0);
    const bumped = await c.request(KafkaApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: id, producerEpoch: 0 });
    expect(bumped.body).toMatchObject({ errorCode: 0, producerId: id, producerEpoch: 1 });
    const tx = await c.request(KafkaApiKey.InitProducerId, 2, { transactionalId: 'tx-1', transactionTimeoutMs: 60000 });
    expect(tx.body).toMatchObject({ errorCode: 42, producerId: -1 });
  });

  it('DescribeConfigs: broker resources, and other resource types refused per resource', async () => {
    const { c } = await setup({ 'node.id': 4 });
    for (const v of [0, 1, 4]) {
      const r = await c.request(KafkaApiKey.DescribeConfigs, v, {
        resources: [
          { resourceType: 4, resourceName: '4', configurationKeys: ['num.partitions'] },
          { resourceType: 8, resourceName: '4', configurationKeys: null },
          { resourceType: 2, resourceName: 'nope', configurationKeys: null },
        ],
        includeSynonyms: true,
      });
      const results = r.body.results as Array<{ errorCode: number; resourceType: number; configs: Array<{ name: string; readOnly: boolean; configSource: number; isDefault: boolean }> }>;
      expect(results.map((x) => [x.resourceType, x.errorCode])).toEqual([
        [4, 0],
        [8, 42],
        [2, 3],
      ]);
      expect(results[0]!.configs).toHaveLength(1);
      expect(results[0]!.configs[0]).toMatchObject({ name: 'num.partitions', readOnly: true });
      if (v === 0) expect(results[0]!.configs[0]!.isDefault).toBe(true);
      else expect(results[0]!.configs[0]!.configSource).toBe(5);
    }
  });
});
