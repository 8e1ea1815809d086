/**
 * The Kafka listener on raw sockets: what each kind of request gets (ApiVersions' ranges and
 * its KIP-511 answer, unsupported versions, unknown keys, garbage, huge size prefixes,
 * undeclared handlers, acks=0), answers in request order, the shared per-connection limits,
 * and that the broker keeps serving after every one of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBatches } from '../../protocol/record-batch.js';
import { decodeResponse, KafkaApiKey, type KafkaMessage } from '../../protocol/kafka/index.js';
import type { BrokerHandle } from '../../broker/index.js';
import { Fixture, batch } from '../broker/harness.js';
import { RawKafkaClient, rawFrame } from './raw-kafka-client.js';

const fx = new Fixture();
const clients: RawKafkaClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await fx.cleanup();
});

async function kafkaBroker(overrides: Record<string, unknown> = {}): Promise<BrokerHandle & { kafkaPort: number }> {
  const broker = await fx.broker({ kafkaPort: 0, ...overrides });
  expect(broker.kafkaPort).toBeGreaterThan(0);
  return broker as BrokerHandle & { kafkaPort: number };
}

async function connect(broker: { kafkaPort: number }): Promise<RawKafkaClient> {
  const c = await RawKafkaClient.connect(broker.kafkaPort);
  clients.push(c);
  return c;
}

/** A fresh connection still gets ApiVersions answered: the broker survived. */
async function stillServes(broker: { kafkaPort: number }): Promise<void> {
  const c = await connect(broker);
  const r = await c.request(KafkaApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
  expect(r.body.errorCode).toBe(0);
}

function produceBody(topic: string, partition: number, records: Buffer | null, acks = -1): KafkaMessage {
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] };
}

type Range = { apiKey: number; minVersion: number; maxVersion: number };

describe('Kafka listener', () => {
  it('is off unless kafkaPort / kafka.port is given', async () => {
    const broker = await fx.broker();
    expect(broker.kafkaPort).toBeNull();
  });

  it('ApiVersions lists the served APIs at every version, CreatePartitions left out', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    for (const v of [0, 1, 2, 3]) {
      const r = await c.request(KafkaApiKey.ApiVersions, v, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
      expect(r.body.errorCode).toBe(0);
      const keys = r.body.apiKeys as Range[];
      const byKey = new Map(keys.map((k) => [k.apiKey, k]));
      expect(byKey.get(KafkaApiKey.Produce)).toEqual({ apiKey: 0, minVersion: 3, maxVersion: 9 });
      expect(byKey.get(KafkaApiKey.Fetch)).toEqual({ apiKey: 1, minVersion: 4, maxVersion: 12 });
      expect(byKey.get(KafkaApiKey.ListOffsets)).toEqual({ apiKey: 2, minVersion: 0, maxVersion: 9 });
      expect(byKey.get(KafkaApiKey.Metadata)).toEqual({ apiKey: 3, minVersion: 0, maxVersion: 9 });
      expect(byKey.get(KafkaApiKey.ApiVersions)).toEqual({ apiKey: 18, minVersion: 0, maxVersion: 3 });
      for (const k of [KafkaApiKey.CreateTopics, KafkaApiKey.DeleteTopics, KafkaApiKey.InitProducerId, KafkaApiKey.DescribeConfigs]) {
        expect(byKey.get(k)?.minVersion).toBe(0);
      }
      expect(byKey.has(KafkaApiKey.CreatePartitions)).toBe(false);
    }
  });

  it('ApiVersions at an unknown version gets the v0 answer with UNSUPPORTED_VERSION and the ranges, and the connection stays open', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    // A client newer than the broker sends ApiVersions v9; its body is unknown to the broker.
    c.sendRaw(rawFrame(KafkaApiKey.ApiVersions, 9, 77, Buffer.from([0, 0, 0])));
    const r = decodeResponse(KafkaApiKey.ApiVersions, 0, await c.nextFrame());
    expect(r.correlationId).toBe(77);
    expect(r.body.errorCode).toBe(35);
    expect((r.body.apiKeys as Range[]).find((k) => k.apiKey === KafkaApiKey.ApiVersions)).toEqual({ apiKey: 18, minVersion: 0, maxVersion: 3 });
    const again = await c.request(KafkaApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    expect(again.body.errorCode).toBe(0);
  });

  it('another API at a version not served closes the connection (no version both sides know); the broker lives on', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    c.sendRaw(rawFrame(KafkaApiKey.Metadata, 42, 5, Buffer.alloc(8)));
    expect(await c.closesWithin(5000)).toBe(true);
    await stillServes(broker);
  });

  it('an unknown API key, a frame shorter than the header, garbage and a body that does not decode each close only that connection', async () => {
    const broker = await kafkaBroker();
    const unknown = await connect(broker);
    unknown.sendRaw(rawFrame(999, 0, 1));

    const short = await connect(broker);
    short.sendRaw(Buffer.from([0, 0, 0, 3, 1, 2, 3]));

    const garbage = await connect(broker);
    const g = Buffer.alloc(4 + 64, 0xab);
    g.writeInt32BE(64, 0);
    garbage.sendRaw(g);

    // Metadata v1 whose topic array claims a million entries in a 4-byte body.
    const truncated = await connect(broker);
    const count = Buffer.alloc(4);
    count.writeInt32BE(1_000_000, 0);
    truncated.sendRaw(rawFrame(KafkaApiKey.Metadata, 1, 9, count));

    for (const c of [unknown, short, garbage, truncated]) expect(await c.closesWithin(5000)).toBe(true);
    await stillServes(broker);
  });

  it('a body that does not decode is answered INVALID_REQUEST where the response has a top-level error code', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    // ApiVersions v3 (flexible header: clientId, then an empty tag buffer) whose compact
    // clientSoftwareName claims 9 bytes and has 1.
    c.sendRaw(rawFrame(KafkaApiKey.ApiVersions, 3, 41, Buffer.from([0, 10, 0x61])));
    const r = decodeResponse(KafkaApiKey.ApiVersions, 3, await c.nextFrame());
    expect(r.correlationId).toBe(41);
    expect(r.body.errorCode).toBe(42);
    const again = await c.request(KafkaApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    expect(again.body.errorCode).toBe(0);
  });

  it('a huge size prefix closes the connection before anything is buffered for it', async () => {
    const broker = await kafkaBroker({ 'socket.request.max.bytes': 1024 * 1024 });
    const c = await connect(broker);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(0x7fffffff, 0);
    c.sendRaw(prefix);
    expect(await c.closesWithin(5000)).toBe(true);
    await stillServes(broker);
  });

  it('a declared API without a handler answers UNSUPPORTED_VERSION on every entry', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    const r = await c.request(KafkaApiKey.CreatePartitions, 1, { topics: [{ name: 'a', count: 3, assignments: null }, { name: 'b', count: 2, assignments: null }], timeoutMs: 1000, validateOnly: false });
    expect(r.body.results).toEqual([
      { name: 'a', errorCode: 35, errorMessage: 'CreatePartitions is not served by this broker' },
      { name: 'b', errorCode: 35, errorMessage: 'CreatePartitions is not served by this broker' },
    ]);
  });

  it('produce, fetch and list offsets over the flexible and the oldest served versions', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    const created = await c.request(KafkaApiKey.CreateTopics, 7, { topics: [{ name: 'raw', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    expect(created.body.topics).toMatchObject([{ name: 'raw', errorCode: 0, numPartitions: 2, replicationFactor: 1 }]);
    for (const v of [3, 9]) {
      const p = await c.request(KafkaApiKey.Produce, v, produceBody('raw', 1, batch([`v${v}-a`, `v${v}-b`])));
      expect(p.body.responses).toMatchObject([{ name: 'raw', partitionResponses: [{ index: 1, errorCode: 0, baseOffset: v === 3 ? 0 : 2 }] }]);
    }
    for (const v of [4, 12]) {
      const f = await c.request(KafkaApiKey.Fetch, v, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'raw', partitions: [{ partition: 1, fetchOffset: 1, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' });
      const part = (f.body.responses as Array<{ partitions: Array<{ highWatermark: number; lastStableOffset: number; records: Buffer }> }>)[0]!.partitions[0]!;
      expect(part.highWatermark).toBe(4);
      expect(part.lastStableOffset).toBe(4);
      // Whole batches as stored: the first batch holds offset 1, so it comes whole from offset 0.
      expect(decodeBatches(part.records).flatMap((b) => b.records.map((r) => r.value!.toString()))).toEqual(['v3-a', 'v3-b', 'v9-a', 'v9-b']);
    }
    const l0 = await c.request(KafkaApiKey.ListOffsets, 0, { replicaId: -1, topics: [{ name: 'raw', partitions: [{ partitionIndex: 1, timestamp: -1, maxNumOffsets: 1 }] }] });
    expect(l0.body.topics).toMatchObject([{ name: 'raw', partitions: [{ partitionIndex: 1, errorCode: 0, oldStyleOffsets: [4] }] }]);
    const l6 = await c.request(KafkaApiKey.ListOffsets, 6, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'raw', partitions: [{ partitionIndex: 1, timestamp: -2 }, { partitionIndex: 7, timestamp: -1 }] }] });
    expect(l6.body.topics).toMatchObject([{ name: 'raw', partitions: [{ partitionIndex: 1, errorCode: 0, offset: 0 }, { partitionIndex: 7, errorCode: 3, offset: -1 }] }]);
  });

  it('ListOffsets v9 special timestamps: -4 earliest local, -5 latest tiered (none), -3 max timestamp refused per partition; an unknown partition still says so', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    await c.request(KafkaApiKey.CreateTopics, 7, { topics: [{ name: 'ts', numPartitions: 5, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    for (const p of [0, 1, 2, 3, 4]) await c.request(KafkaApiKey.Produce, 9, produceBody('ts', p, batch(['a', 'b', 'c'])));
    const partitions = [-1, -4, -5, -3, -2].map((timestamp, partitionIndex) => ({ partitionIndex, timestamp, currentLeaderEpoch: -1 }));
    const l9 = await c.request(KafkaApiKey.ListOffsets, 9, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'ts', partitions }, { name: 'nope', partitions: [{ partitionIndex: 0, timestamp: -5 }] }] });
    expect(l9.body.topics).toMatchObject([
      { name: 'ts', partitions: [0, 1, 2, 3, 4].map((partitionIndex) => ({ partitionIndex, ...[{ errorCode: 0, offset: 3 }, { errorCode: 0, offset: 0 }, { errorCode: 0, offset: -1, timestamp: -1 }, { errorCode: 35, offset: -1 }, { errorCode: 0, offset: 0 }][partitionIndex] })) },
      { name: 'nope', partitions: [{ partitionIndex: 0, errorCode: 3, offset: -1 }] },
    ]);
  });

  it('Metadata advertises kafka.advertised.host/port, never the rill port', async () => {
    const broker = await kafkaBroker({ 'kafka.advertised.host': 'kafka-0.example', 'kafka.advertised.port': 19092, 'node.id': 3 });
    const c = await connect(broker);
    for (const v of [0, 9]) {
      const r = await c.request(KafkaApiKey.Metadata, v, { topics: [], allowAutoTopicCreation: false });
      expect(r.body.brokers).toMatchObject([{ nodeId: 3, host: 'kafka-0.example', port: 19092 }]);
    }
    // v0's empty list means every topic; v1+'s means none.
    const all = await c.request(KafkaApiKey.Metadata, 0, { topics: [] });
    expect((all.body.topics as Array<{ name: string }>).map((t) => t.name)).toContain('__consumer_offsets');
    const none = await c.request(KafkaApiKey.Metadata, 1, { topics: [] });
    expect(none.body.topics).toEqual([]);
  });

  it('a bad acks value is refused on every partition; acks=0 gets no answer, and a failing acks=0 produce closes the connection', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    const bad = await c.request(KafkaApiKey.Produce, 8, produceBody('t0', 0, batch(['x']), 5));
    expect(bad.body.responses).toMatchObject([{ name: 't0', partitionResponses: [{ index: 0, errorCode: 21, baseOffset: -1 }] }]);

    // Fire and forget, then a Metadata: the next frame on the wire is the Metadata answer.
    c.send(KafkaApiKey.Produce, 8, produceBody('t0', 0, batch(['quiet']), 0));
    const id = c.send(KafkaApiKey.Metadata, 9, { topics: [{ name: 't0' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const meta = decodeResponse(KafkaApiKey.Metadata, 9, await c.nextFrame());
    expect(meta.correlationId).toBe(id);
    const listed = await c.request(KafkaApiKey.ListOffsets, 1, { replicaId: -1, topics: [{ name: 't0', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] });
    expect(listed.body.topics).toMatchObject([{ partitions: [{ offset: 1 }] }]);

    c.send(KafkaApiKey.Produce, 8, produceBody('t0', 0, Buffer.from('not a record batch at all, not at all'), 0));
    expect(await c.closesWithin(5000)).toBe(true);
    await stillServes(broker);
  });

  it('answers pipelined requests in request order, a long poll ahead of a quick request included', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    await c.request(KafkaApiKey.CreateTopics, 4, { topics: [{ name: 'lp', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    const fetchId = c.send(KafkaApiKey.Fetch, 11, { maxWaitMs: 300, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'lp', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' });
    const metaId = c.send(KafkaApiKey.Metadata, 5, { topics: null, allowAutoTopicCreation: false });
    const first = decodeResponse(KafkaApiKey.Fetch, 11, await c.nextFrame());
    const second = decodeResponse(KafkaApiKey.Metadata, 5, await c.nextFrame());
    expect([first.correlationId, second.correlationId]).toEqual([fetchId, metaId]);
    expect((first.body.responses as Array<{ partitions: Array<{ records: Buffer | null }> }>)[0]!.partitions[0]!.records?.length ?? 0).toBe(0);
  });

  it('a long poll is answered as soon as a produce on the other listener supplies minBytes', async () => {
    const broker = await kafkaBroker();
    const c = await connect(broker);
    await c.request(KafkaApiKey.CreateTopics, 0, { topics: [{ name: 'wake', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    const fetchId = c.send(KafkaApiKey.Fetch, 12, { maxWaitMs: 30_000, minBytes: 1, maxBytes: 1 << 20, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'wake', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' });
    const rill = await fx.client(broker);
    const produced = await rill.request('Produce', { acks: -1, timeoutMs: 5000, topics: [{ name: 'wake', partitions: [{ partition: 0, records: batch(['ping']) }] }] });
    expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(0);
    // Well before maxWaitMs: the purgatory woke the fetch.
    const f = decodeResponse(KafkaApiKey.Fetch, 12, await c.nextFrame(10_000));
    expect(f.correlationId).toBe(fetchId);
    const part = (f.body.responses as Array<{ partitions: Array<{ records: Buffer }> }>)[0]!.partitions[0]!;
    expect(decodeBatches(part.records)[0]!.records[0]!.value!.toString()).toBe('ping');
  });

  it('bounds requests in flight per connection (max.inflight.requests.per.connection) and still answers all in order', async () => {
    const broker = await kafkaBroker({ 'max.inflight.requests.per.connection': 2 });
    const c = await connect(broker);
    await c.request(KafkaApiKey.CreateTopics, 2, { topics: [{ name: 'held', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    // A long poll holds one slot; twenty quick requests pile up behind it, unread by the broker.
    const ids = [c.send(KafkaApiKey.Fetch, 10, { maxWaitMs: 300, minBytes: 1, maxBytes: 1 << 20, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'held', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [] })];
    for (let i = 0; i < 20; i++) ids.push(c.send(KafkaApiKey.ApiVersions, 2, {}));
    const seen: number[] = [];
    for (let i = 0; i < ids.length; i++) seen.push((await c.nextFrame()).readInt32BE(0));
    expect(seen).toEqual(ids);
    const stats = broker.kafkaConnections();
    expect(stats).toHaveLength(1);
    expect(stats[0]!.maxDispatchedSeen).toBeLessThanOrEqual(2);
    expect(stats[0]!.clientId).toBe('raw-test');
  });

  it('a client that pipelines fetches without reading is paused, not buffered, and then gets every answer in order', async () => {
    const broker = await kafkaBroker({ 'max.inflight.requests.per.connection': 16 });
    const c = await connect(broker);
    await c.request(KafkaApiKey.CreateTopics, 3, { topics: [{ name: 'big', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    expect((await c.request(KafkaApiKey.Produce, 9, produceBody('big', 0, batch(['x'.repeat(16 * 1024)])))).body.responses).toMatchObject([{ partitionResponses: [{ errorCode: 0 }] }]);

    c.socket.pause();
    const total = 2000;
    const fetch = { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'big', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' };
    const ids: number[] = [];
    for (let i = 0; i < total; i++) ids.push(c.send(KafkaApiKey.Fetch, 11, fetch));
    const paused = () => broker.kafkaConnections().some((s) => s.readPaused && s.inflightRequests > 0);
    for (const deadline = Date.now() + 10_000; !paused() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    const stats = broker.kafkaConnections()[0]!;
    expect(stats.readPaused).toBe(true);
    expect(stats.readPauses).toBeGreaterThanOrEqual(1);
    expect(stats.maxDispatchedSeen).toBeLessThanOrEqual(16);

    c.socket.resume();
    const seen: number[] = [];
    for (let i = 0; i < total; i++) seen.push((await c.nextFrame()).readInt32BE(0));
    expect(seen).toEqual(ids);
  });

  it('keeps the rill listener limits: max.connections per listener, idle close', async () => {
    const broker = await kafkaBroker({ 'max.connections': 1, 'connections.max.idle.ms': 300 });
    const first = await connect(broker);
    const second = await connect(broker);
    expect(await second.closesWithin(5000)).toBe(true);
    await first.request(KafkaApiKey.ApiVersions, 0, {});
    // Idle past connections.max.idle.ms: closed by the broker.
    expect(await first.closesWithin(5000)).toBe(true);
    for (const deadline = Date.now() + 5000; broker.kafkaConnections().length > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    expect(broker.kafkaConnections()).toEqual([]);
  });

  it('a busy Kafka port fails the start before the data dir is created', async () => {
    const broker = await kafkaBroker();
    const dir = `${await fx.tempDir()}/never-created`;
    await expect(fx.broker({ dataDir: dir, kafkaPort: broker.kafkaPort })).rejects.toThrow(/kafka\.port: cannot listen on .*already in use/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(dir)).toBe(false);
  });
});
