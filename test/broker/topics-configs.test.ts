import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { Fixture, batch, createTopic, fetchOnce, produce } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

function configsOf(r: { resources: Array<{ configs: Array<{ name: string; value: string | null; isDefault: boolean; source: string }> }> }) {
  return Object.fromEntries(r.resources[0]!.configs.map((c) => [c.name, c]));
}

describe('CreateTopics / DeleteTopics', () => {
  it('creates topics with partitions and configs, refusing bad names, counts, factors and duplicates', async () => {
    const broker = await fx.broker({ 'num.partitions': 2 });
    const client = await fx.client(broker);
    const r = await client.request('CreateTopics', {
      topics: [
        { name: 'ok', numPartitions: 3, replicationFactor: 1, configs: { 'retention.ms': '60000' } },
        { name: 'defaults', numPartitions: -1, replicationFactor: -1, configs: {} },
        { name: 'bad name', numPartitions: 1, replicationFactor: 1, configs: {} },
        { name: '..', numPartitions: 1, replicationFactor: 1, configs: {} },
        { name: 'tópico', numPartitions: 1, replicationFactor: 1, configs: {} },
        { name: '__reserved', numPartitions: 1, replicationFactor: 1, configs: {} },
        { name: 'zero', numPartitions: 0, replicationFactor: 1, configs: {} },
        { name: 'rf3', numPartitions: 1, replicationFactor: 3, configs: {} },
        { name: 'badcfg', numPartitions: 1, replicationFactor: 1, configs: { 'retention.ms': 'soon' } },
        { name: 'unknowncfg', numPartitions: 1, replicationFactor: 1, configs: { 'retention.minutes': '5' } },
        { name: 'twice', numPartitions: 1, replicationFactor: 1, configs: {} },
        { name: 'twice', numPartitions: 1, replicationFactor: 1, configs: {} },
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const byName = r.topics.map((t) => [t.name.slice(0, 20), t.errorCode, t.numPartitions]);
    expect(byName).toEqual([
      ['ok', 0, 3],
      ['defaults', 0, 2],
      ['bad name', ErrorCode.INVALID_TOPIC_EXCEPTION, -1],
      ['..', ErrorCode.INVALID_TOPIC_EXCEPTION, -1],
      ['tópico', ErrorCode.INVALID_TOPIC_EXCEPTION, -1],
      ['__reserved', ErrorCode.INVALID_TOPIC_EXCEPTION, -1],
      ['zero', ErrorCode.INVALID_PARTITIONS, -1],
      ['rf3', ErrorCode.INVALID_REPLICATION_FACTOR, -1],
      ['badcfg', ErrorCode.INVALID_CONFIG, -1],
      ['unknowncfg', ErrorCode.INVALID_CONFIG, -1],
      ['twice', ErrorCode.INVALID_REQUEST, -1],
      ['twice', ErrorCode.INVALID_REQUEST, -1],
    ]);
    expect(r.topics.find((t) => t.name === 'badcfg')!.errorMessage).toContain('retention.ms');

    const again = await client.request('CreateTopics', { topics: [{ name: 'ok', numPartitions: 1, replicationFactor: 1, configs: {} }], timeoutMs: 1000, validateOnly: false });
    expect(again.topics[0]!.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    const collide = await client.request('CreateTopics', { topics: [{ name: 'a.b', numPartitions: 1, replicationFactor: 1, configs: {} }, { name: 'a_b', numPartitions: 1, replicationFactor: 1, configs: {} }], timeoutMs: 1000, validateOnly: false });
    expect(collide.topics.map((t) => t.errorCode)).toEqual([0, ErrorCode.INVALID_TOPIC_EXCEPTION]);

    const meta = await client.request('Metadata', { topics: null, allowAutoTopicCreation: false });
    expect(meta.topics.filter((t) => !t.isInternal).map((t) => t.name).sort()).toEqual(['a.b', 'defaults', 'ok']);
    const file = JSON.parse(await readFile(join(broker.context.config['data.dir'], 'topics.json'), 'utf8'));
    expect(file.topics.ok).toEqual({ partitions: 3, configs: { 'retention.ms': '60000' }, internal: false });
  });

  it('validateOnly checks without creating', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    const r = await client.request('CreateTopics', { topics: [{ name: 'dry', numPartitions: 2, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }], timeoutMs: 1000, validateOnly: true });
    expect(r.topics[0]).toMatchObject({ errorCode: 0, numPartitions: 2 });
    const meta = await client.request('Metadata', { topics: ['dry'], allowAutoTopicCreation: false });
    expect(meta.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('deletes a topic and its logs; a deleted topic is unknown and can be created again empty', async () => {
    const broker = await fx.broker({ 'auto.create.topics.enable': false });
    const client = await fx.client(broker);
    await createTopic(client, 'doomed', 2);
    expect((await produce(client, 'doomed', 1, batch(['a', 'b']))).errorCode).toBe(0);
    const r = await client.request('DeleteTopics', { topics: ['doomed', 'never-was'], timeoutMs: 1000 });
    expect(r.topics.map((t) => t.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(broker.context.logs.get('doomed', 0)).toBeUndefined();
    expect((await produce(client, 'doomed', 1, batch(['c']))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await createTopic(client, 'doomed', 2);
    const p = await fetchOnce(client, 'doomed', 1, 0);
    expect(p).toMatchObject({ errorCode: 0, highWatermark: 0 });
  });

  it('refuses to delete internal topics', async () => {
    const broker = await fx.broker();
    const created = await broker.context.topics.ensureInternalTopic('__rill_internal_test', 2, { 'cleanup.policy': 'compact' });
    expect(await broker.context.topics.ensureInternalTopic('__rill_internal_test', 5, {})).toBe(created);
    const client = await fx.client(broker);
    const r = await client.request('DeleteTopics', { topics: ['__rill_internal_test'], timeoutMs: 1000 });
    expect(r.topics[0]!.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const meta = await client.request('Metadata', { topics: ['__rill_internal_test'], allowAutoTopicCreation: false });
    expect(meta.topics[0]).toMatchObject({ errorCode: 0, isInternal: true });
    expect(meta.topics[0]!.partitions).toHaveLength(2);
  });
});

describe('DescribeConfigs / AlterConfigs', () => {
  it('describes topic configs with their source, broker defaults included', async () => {
    const broker = await fx.broker({ 'log.retention.ms': 3_600_000 });
    const client = await fx.client(broker);
    await createTopic(client, 't', 1, { 'segment.bytes': '1048576' });
    const r = await client.request('DescribeConfigs', { resources: [{ resourceType: 'topic', resourceName: 't', configNames: null }] });
    expect(r.resources[0]!.errorCode).toBe(0);
    const c = configsOf(r);
    expect(c['segment.bytes']).toMatchObject({ value: '1048576', isDefault: false, source: 'topic' });
    expect(c['retention.ms']).toMatchObject({ value: '3600000', isDefault: true, source: 'broker' });
    expect(c['cleanup.policy']).toMatchObject({ value: 'delete', isDefault: true, source: 'default' });
    expect(Object.keys(c)).toEqual(expect.arrayContaining(['retention.bytes', 'max.message.bytes', 'flush.messages', 'message.timestamp.type']));

    const some = await client.request('DescribeConfigs', { resources: [{ resourceType: 'topic', resourceName: 't', configNames: ['retention.ms', 'no.such.key'] }, { resourceType: 'topic', resourceName: 'nope', configNames: null }] });
    expect(some.resources[0]!.configs.map((e) => e.name)).toEqual(['retention.ms']);
    expect(some.resources[1]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('describes the broker configs, read-only', async () => {
    const broker = await fx.broker({ 'num.partitions': 7 });
    const client = await fx.client(broker);
    const r = await client.request('DescribeConfigs', { resources: [{ resourceType: 'broker', resourceName: '0', configNames: ['num.partitions', 'max.connections', 'metrics.port'] }, { resourceType: 'broker', resourceName: '9', configNames: null }] });
    expect([...r.resources[0]!.configs].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'max.connections', value: '1000', isDefault: true, readOnly: true, source: 'default' },
      { name: 'metrics.port', value: null, isDefault: true, readOnly: true, source: 'default' },
      { name: 'num.partitions', value: '7', isDefault: false, readOnly: true, source: 'broker' },
    ]);
    expect(r.resources[1]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('alters incrementally: set, revert with null, leave the rest; applies to the live logs and persists', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 2, { 'retention.ms': '1000', 'segment.bytes': '65536' });
    const r = await client.request('AlterConfigs', {
      resources: [{ resourceType: 'topic', resourceName: 't', configs: [{ name: 'retention.ms', value: null }, { name: 'retention.bytes', value: '1048576' }, { name: 'cleanup.policy', value: 'compact,delete' }, { name: 'max.message.bytes', value: '4096' }] }],
      validateOnly: false,
    });
    expect(r.resources[0]).toMatchObject({ errorCode: 0, errorMessage: null });
    const c = configsOf(await client.request('DescribeConfigs', { resources: [{ resourceType: 'topic', resourceName: 't', configNames: null }] }));
    expect(c['retention.ms']).toMatchObject({ value: '604800000', isDefault: true });
    expect(c['segment.bytes']).toMatchObject({ value: '65536', isDefault: false });
    expect(c['retention.bytes']).toMatchObject({ value: '1048576', isDefault: false });
    expect(c['cleanup.policy']).toMatchObject({ value: 'compact,delete' });
    for (const p of [0, 1]) {
      const log = broker.context.logs.get('t', p)!;
      expect(log.config).toMatchObject({ retentionBytes: 1048576, segmentBytes: 65536, cleanupPolicy: 'compact,delete', maxMessageBytes: 4096 });
    }
    // max.message.bytes now bounds produce.
    const big = batch([{ key: 'k', value: 'x'.repeat(5000) }]);
    expect((await produce(client, 't', 0, big)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    const file = JSON.parse(await readFile(join(broker.context.config['data.dir'], 'topics.json'), 'utf8'));
    expect(file.topics.t.configs).toEqual({ 'segment.bytes': '65536', 'retention.bytes': '1048576', 'cleanup.policy': 'compact,delete', 'max.message.bytes': '4096' });
  });

  it('refuses invalid values, unknown keys, unknown topics and broker resources without changing anything', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 1, { 'retention.ms': '1000' });
    const r = await client.request('AlterConfigs', {
      resources: [
        { resourceType: 'topic', resourceName: 't', configs: [{ name: 'retention.bytes', value: '5' }, { name: 'segment.bytes', value: '-1' }] },
        { resourceType: 'topic', resourceName: 't', configs: [{ name: 'cleanup.policy', value: 'shred' }] },
        { resourceType: 'topic', resourceName: 't', configs: [{ name: 'retention.hours', value: '5' }] },
        { resourceType: 'topic', resourceName: 't', configs: [{ name: 'message.timestamp.type', value: 'WallClock' }] },
        { resourceType: 'topic', resourceName: 'missing', configs: [{ name: 'retention.ms', value: '5' }] },
        { resourceType: 'broker', resourceName: '0', configs: [{ name: 'num.partitions', value: '5' }] },
      ],
      validateOnly: false,
    });
    expect(r.resources.map((x) => x.errorCode)).toEqual([
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
    ]);
    expect(r.resources[0]!.errorMessage).toContain('segment.bytes');
    const c = configsOf(await client.request('DescribeConfigs', { resources: [{ resourceType: 'topic', resourceName: 't', configNames: null }] }));
    expect(c['retention.bytes']!.isDefault).toBe(true);
    expect(c['retention.ms']!.value).toBe('1000');
  });

  it('validateOnly checks without applying', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    const r = await client.request('AlterConfigs', { resources: [{ resourceType: 'topic', resourceName: 't', configs: [{ name: 'retention.ms', value: '5' }] }], validateOnly: true });
    expect(r.resources[0]!.errorCode).toBe(0);
    expect(broker.context.logs.get('t', 0)!.config.retentionMs).toBe(604800000);
  });
});
