/**
 * Shared pieces of the broker and fault suites: real brokers on port 0 in temp dirs (closed
 * and removed by `cleanup()` in afterEach), raw clients, and produce/fetch shorthands built on
 * the protocol codecs only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { encodeBatch, decodeBatches, type EncodeOptions, type RecordInput } from '../../protocol/record-batch.js';
import { startBroker, type BrokerHandle, type StartBrokerOptions } from '../../broker/index.js';
import { RawClient } from '../helpers/raw-client.js';

/** Broker logs in tests: silent unless RILL_TEST_LOG=debug|info|warn is set. */
export const testLogger = pino({ level: process.env.RILL_TEST_LOG ?? 'silent' }, pino.destination(2));

export class Fixture {
  private readonly dirs: string[] = [];
  private readonly brokers: BrokerHandle[] = [];
  private readonly clients: RawClient[] = [];

  async tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'rill-broker-test-'));
    this.dirs.push(dir);
    return dir;
  }

  /** A broker on 127.0.0.1, port 0, in a fresh temp dir unless `dataDir` is given. */
  async broker(options: Partial<StartBrokerOptions> = {}): Promise<BrokerHandle> {
    const dataDir = options.dataDir ?? (await this.tempDir());
    const broker = await startBroker({ port: 0, logger: testLogger, ...options, dataDir });
    this.brokers.push(broker);
    return broker;
  }

  async client(broker: { port: number }, clientId = 'test'): Promise<RawClient> {
    const client = await RawClient.connect(broker.port);
    this.clients.push(client);
    await client.request('ApiVersions', { clientId });
    return client;
  }

  async cleanup(): Promise<void> {
    // Everything this test made is taken first: a cleanup still running after its hook timed
    // out must not remove the next test's dirs (it once did, failing that test too).
    const clients = this.clients.splice(0);
    const brokers = this.brokers.splice(0);
    const dirs = this.dirs.splice(0);
    for (const c of clients) await c.close();
    for (const b of brokers) await b.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

export function batch(values: Array<string | RecordInput>, opts: EncodeOptions = {}): Buffer {
  const records = values.map((v) => (typeof v === 'string' ? { key: null, value: v } : v));
  return encodeBatch(records, opts);
}

export async function createTopic(client: RawClient, name: string, numPartitions = 1, configs: Record<string, string> = {}): Promise<void> {
  const r = await client.request('CreateTopics', { topics: [{ name, numPartitions, replicationFactor: 1, configs }], timeoutMs: 1000, validateOnly: false });
  if (r.topics[0]!.errorCode !== 0) throw new Error(`create ${name}: ${r.topics[0]!.errorCode} ${r.topics[0]!.errorMessage}`);
}

/** One partition's produce; returns that partition's response. */
export async function produce(client: RawClient, topic: string, partition: number, records: Buffer, acks: 1 | -1 = -1) {
  const r = await client.request('Produce', { acks, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partition, records }] }] });
  return r.topics[0]!.partitions[0]!;
}

export async function fetchOnce(client: RawClient, topic: string, partition: number, fetchOffset: number, opts: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {}) {
  const r = await client.request('Fetch', {
    maxWaitMs: opts.maxWaitMs ?? 0,
    minBytes: opts.minBytes ?? 0,
    maxBytes: opts.maxBytes ?? 16 * 1024 * 1024,
    topics: [{ name: topic, partitions: [{ partition, fetchOffset, partitionMaxBytes: opts.partitionMaxBytes ?? 8 * 1024 * 1024 }] }],
  });
  return r.topics[0]!.partitions[0]!;
}

/** Every record of a partition from `from` to its high watermark, as { offset, key, value }. */
export async function readAll(client: RawClient, topic: string, partition: number, from = 0) {
  const out: Array<{ offset: number; key: string | null; value: string | null; timestamp: number }> = [];
  let offset = from;
  for (;;) {
    const p = await fetchOnce(client, topic, partition, offset);
    if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset}: error ${p.errorCode}`);
    const records = p.records as Buffer;
    if (records.length === 0) break;
    for (const b of decodeBatches(records)) {
      for (const r of b.records) {
        if (r.offset < offset) continue;
        out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp });
      }
      offset = b.header.baseOffset + b.header.lastOffsetDelta + 1;
    }
    if (offset >= p.highWatermark) break;
  }
  return out;
}
