import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, type ConnectionOptions } from '../../client/connection.js';
import { ChunkDecoder } from '../../client/consumer/chunk-decoder.js';
import { SegmentedBytes } from '../../protocol/frame.js';
import { withRetry } from '../../client/retry.js';
import { ConnectionError, RillError, TimeoutError } from '../../protocol/errors.js';
import { encodeBatch } from '../../protocol/record-batch.js';
import { TestEnv, testLogger } from '../integration/harness.js';

function connection(port: number, overrides: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({
    host: '127.0.0.1',
    port,
    clientId: 'connection-test',
    connectionTimeoutMs: 2_000,
    requestTimeoutMs: 5_000,
    maxInFlightRequests: 64,
    maxFrameBytes: 64 * 1024 * 1024,
    reconnectBackoff: { retries: 5, initialBackoffMs: 20, maxBackoffMs: 100 },
    logger: testLogger,
    ...overrides,
  });
}

describe('Connection against a real broker', () => {
  const env = new TestEnv();
  const connections: Connection[] = [];
  const open = (port: number, overrides: Partial<ConnectionOptions> = {}): Connection => {
    const c = connection(port, overrides);
    connections.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of connections.splice(0)) await c.close();
    await env.cleanup();
  });

  it('pipelines many requests on one socket, bounded in flight, each answered by correlation id', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'pipe', numPartitions: 8 }] });
    const conn = open(broker.port, { maxInFlightRequests: 4, clientId: 'pipeline-test' });
    await conn.connect();
    let peak = 0;
    const requests = Array.from({ length: 100 }, (_, i) => {
      const p = conn.request('ListOffsets', { topics: [{ name: 'pipe', partitions: [{ partition: i % 8, timestamp: -1 }] }] });
      peak = Math.max(peak, conn.inFlightRequests);
      return p.then((r) => ({ asked: i % 8, got: r.topics[0]!.partitions[0]!.partition, error: r.topics[0]!.partitions[0]!.errorCode }));
    });
    const answers = await Promise.all(requests);
    for (const a of answers) {
      expect(a.error).toBe(0);
      expect(a.got).toBe(a.asked);
    }
    expect(peak).toBe(4);
    expect(conn.inFlightRequests).toBe(0);
    // The broker saw several requests at once from this one connection: they were pipelined.
    const stats = broker.connections().find((c) => c.clientId === 'pipeline-test')!;
    expect(stats.maxInflightRequestsSeen).toBeGreaterThan(1);
    expect(stats.maxInflightRequestsSeen).toBeLessThanOrEqual(4);
  });

  it('times a request out without breaking the connection, and drops the late answer', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'slow', numPartitions: 1 }] });
    const conn = open(broker.port);
    await conn.connect();
    const started = Date.now();
    const parked = conn.request(
      'Fetch',
      { maxWaitMs: 800, minBytes: 1, maxBytes: 1024, topics: [{ name: 'slow', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }] },
      { timeoutMs: 150 },
    );
    const err = await parked.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as RillError).retriable).toBe(true);
    expect(Date.now() - started).toBeLessThan(700);
    // The broker still answers the parked fetch later; that answer is dropped and the next
    // request on the same socket gets its own response.
    const md = await conn.request('Metadata', { topics: ['slow'], allowAutoTopicCreation: false });
    expect(md.topics.map((t) => t.name)).toEqual(['slow']);
    expect(conn.isReady).toBe(true);
  });

  it('aborts a waiting request through its AbortSignal', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'abort', numPartitions: 1 }] });
    const conn = open(broker.port);
    await conn.connect();
    const ac = new AbortController();
    const started = Date.now();
    const p = conn.request(
      'Fetch',
      { maxWaitMs: 2_000, minBytes: 1, maxBytes: 1024, topics: [{ name: 'abort', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }] },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 50);
    const err = await p.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(conn.inFlightRequests).toBe(0);
  });

  it('writes acks=0 produce requests without waiting for an answer', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'fire', numPartitions: 1 }] });
    const conn = open(broker.port);
    const records = encodeBatch([{ value: 'a' }, { value: 'b' }]);
    const result = await conn.request('Produce', { acks: 0, timeoutMs: 1_000, topics: [{ name: 'fire', partitions: [{ partition: 0, records }] }] }, { expectResponse: false });
    expect(result).toBeUndefined();
    expect(conn.inFlightRequests).toBe(0);
    let end = 0;
    for (let i = 0; i < 100 && end < 2; i++) {
      const r = await conn.request('ListOffsets', { topics: [{ name: 'fire', partitions: [{ partition: 0, timestamp: -1 }] }] });
      end = r.topics[0]!.partitions[0]!.offset;
    }
    expect(end).toBe(2);
  });

  it('fetch(): a Fetch answer spanning socket chunks keeps its records as views of the chunks, decoding as request() does', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'big', numPartitions: 1 }] });
    const conn = open(broker.port);
    // 4 batches of 500 x 200-byte values: ~410 KB, several 64 KiB socket reads.
    for (let b = 0; b < 4; b++) {
      const records = encodeBatch(Array.from({ length: 500 }, (_, i) => ({ value: Buffer.alloc(200, (b * 500 + i) & 0xff) })));
      const r = await conn.request('Produce', { acks: 1, timeoutMs: 5_000, topics: [{ name: 'big', partitions: [{ partition: 0, records }] }] });
      expect(r.topics[0]!.partitions[0]!.errorCode).toBe(0);
    }
    const request = { maxWaitMs: 0, minBytes: 1, maxBytes: 4 * 1024 * 1024, topics: [{ name: 'big', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 4 * 1024 * 1024 }] }] };
    const segmented = (await conn.fetch(request)).topics[0]!.partitions[0]!;
    const joined = (await conn.request('Fetch', request)).topics[0]!.partitions[0]!;
    expect(segmented.records).toBeInstanceOf(SegmentedBytes);
    const parts = (segmented.records as SegmentedBytes).segments;
    expect(parts.length).toBeGreaterThan(1);
    expect(Buffer.concat(parts as Buffer[]).equals(joined.records as Buffer)).toBe(true);
    expect({ ...segmented, records: null }).toEqual({ ...joined, records: null });
    const out = new ChunkDecoder().decode('big', 0, 0, segmented.records!);
    expect(out.failure).toBeNull();
    expect(out.chunk.takeRest().map((m) => m.value![0])).toEqual(Array.from({ length: 2000 }, (_, i) => i & 0xff));
  });

  it('fails in-flight requests with a retriable ConnectionError when the socket drops, then reconnects', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 'drop', numPartitions: 1 }] });
    const conn = open(broker.port);
    await conn.connect();
    const parked = conn.request('Fetch', {
      maxWaitMs: 2_000,
      minBytes: 1,
      maxBytes: 1024,
      topics: [{ name: 'drop', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }],
    });
    await new Promise((r) => setTimeout(r, 20));
    conn.dropSocket();
    const err = await parked.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as RillError).retriable).toBe(true);
    const md = await conn.request('Metadata', { topics: ['drop'], allowAutoTopicCreation: false });
    expect(md.topics[0]!.name).toBe('drop');
  });

  it('resumes after the broker is stopped and restarted on the same port', async () => {
    const first = await env.broker();
    const port = first.port;
    const dataDir = first.dataDir;
    await env.client(port).admin().createTopics({ topics: [{ topic: 'survive', numPartitions: 2 }] });
    const conn = open(port);
    const before = await conn.request('Metadata', { topics: ['survive'], allowAutoTopicCreation: false });
    expect(before.topics[0]!.partitions).toHaveLength(2);

    await env.stop(first);
    // While it is down: a request fails with a retriable connection error...
    const down = await conn.request('Metadata', { topics: null, allowAutoTopicCreation: false }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ConnectionError);
    // ...and one retried with backoff succeeds once the broker is back on the same port.
    const retried = withRetry({ retries: 50, initialBackoffMs: 20, maxBackoffMs: 100 }, () =>
      conn.request('Metadata', { topics: ['survive'], allowAutoTopicCreation: false }),
    );
    await new Promise((r) => setTimeout(r, 200));
    await env.broker({ dataDir, port });
    const after = await retried;
    expect(after.topics[0]!.errorCode).toBe(0);
    expect(after.topics[0]!.partitions).toHaveLength(2);
    expect(conn.isReady).toBe(true);
  });

  it('closes the connection on a response frame over maxFrameBytes', async () => {
    const broker = await env.broker();
    const conn = open(broker.port, { maxFrameBytes: 1024 });
    await conn.connect();
    const names = Array.from({ length: 30 }, (_, i) => `topic-with-a-long-name-${i}`);
    await env.client(broker.port).admin().createTopics({ topics: names.map((topic) => ({ topic, numPartitions: 1 })) });
    const err = await conn.request('Metadata', { topics: null, allowAutoTopicCreation: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
  });
});

describe('Connection handshake', () => {
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('gives up on a peer that accepts but never answers ApiVersions, after connectionTimeoutMs', async () => {
    const server = net.createServer((s) => {
      sockets.push(s);
      s.resume();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const conn = connection(port, { connectionTimeoutMs: 200 });
    const started = Date.now();
    const err = await conn.request('Metadata', { topics: null, allowAutoTopicCreation: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).retriable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    await conn.close();
  });

  it('refuses quickly with a retriable error when nothing listens, backing off between attempts', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    const conn = connection(port, { reconnectBackoff: { retries: 5, initialBackoffMs: 100, maxBackoffMs: 100 } });
    const first = await conn.connect().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ConnectionError);
    expect((first as Error).message).toMatch(/ECONNREFUSED/);
    // The second attempt waits out the backoff (jittered within [50, 100] ms) first.
    const started = Date.now();
    await conn.connect().catch(() => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    await conn.close();
  });
});
