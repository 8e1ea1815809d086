import { afterEach, describe, expect, it } from 'vitest';
import { APIS, allApis, validateResponse } from '../../protocol/apis/index.js';
import { Fixture, createTopic } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('ApiVersions and Metadata', () => {
  it('lists every API the broker serves, and records the clientId on the connection', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker, 'billing-service');
    const r = await client.request('ApiVersions', { clientId: 'billing-service', clientSoftwareName: 'raw', clientSoftwareVersion: '0' });
    expect(validateResponse({ ...allApis().find((a) => a.name === 'ApiVersions')! }, r)).toBeNull();
    expect(r.errorCode).toBe(0);
    const keys = r.apiKeys.map((k) => k.apiKey);
    for (const name of ['Produce', 'Fetch', 'ListOffsets', 'Metadata', 'CreateTopics', 'DeleteTopics', 'DescribeConfigs', 'AlterConfigs', 'InitProducerId', 'ApiVersions'] as const) {
      expect(keys).toContain(APIS[name].key);
    }
    const conns = broker.connections();
    expect(conns).toHaveLength(1);
    expect(conns[0]!.clientId).toBe('billing-service');
    expect(conns[0]!.clientHost).toBe('127.0.0.1');
  });

  it('describes the broker and every topic, with this broker as leader of every partition', async () => {
    const broker = await fx.broker({ 'auto.create.topics.enable': false });
    const client = await fx.client(broker);
    await createTopic(client, 'orders', 4);
    await createTopic(client, 'payments', 1);

    const all = await client.request('Metadata', { topics: null, allowAutoTopicCreation: false });
    expect(all.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: broker.port, rack: null }]);
    expect(all.controllerId).toBe(0);
    expect(all.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // Internal topics (the group coordinator's __consumer_offsets) are listed too, flagged.
    expect(all.topics.filter((t) => !t.isInternal).map((t) => t.name).sort()).toEqual(['orders', 'payments']);
    for (const t of all.topics) expect(t.isInternal).toBe(t.name.startsWith('__'));
    const orders = all.topics.find((t) => t.name === 'orders')!;
    expect(orders.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
    for (const p of orders.partitions) expect(p).toMatchObject({ errorCode: 0, leader: 0, replicas: [0], isr: [0] });

    const some = await client.request('Metadata', { topics: ['payments', 'missing', 'bad/name'], allowAutoTopicCreation: true });
    expect(some.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['payments', 0],
      ['missing', 3], // auto-create is off on this broker
      ['bad/name', 17], // INVALID_TOPIC_EXCEPTION
    ]);
  });

  it('auto-creates topics on Metadata when asked and allowed, with num.partitions', async () => {
    const broker = await fx.broker({ 'num.partitions': 5 });
    const client = await fx.client(broker);
    const r = await client.request('Metadata', { topics: ['fresh', 'bad/name', '__internal'], allowAutoTopicCreation: true });
    expect(r.topics[0]!.errorCode).toBe(0);
    expect(r.topics[0]!.partitions).toHaveLength(5);
    expect(r.topics[1]!.errorCode).toBe(17); // INVALID_TOPIC_EXCEPTION
    expect(r.topics[2]!.errorCode).toBe(3); // internal names are never auto-created
    const again = await client.request('Metadata', { topics: ['other'], allowAutoTopicCreation: false });
    expect(again.topics[0]!.errorCode).toBe(3);
  });

  it('advertises the configured host and port instead of the bound ones', async () => {
    const broker = await fx.broker({ 'advertised.host': 'broker-0.example', 'advertised.port': 19092, 'node.id': 7 });
    const client = await fx.client(broker);
    const r = await client.request('Metadata', { topics: null, allowAutoTopicCreation: false });
    expect(r.brokers).toEqual([{ nodeId: 7, host: 'broker-0.example', port: 19092, rack: null }]);
    expect(r.controllerId).toBe(7);
  });
});
