/**
 * Every codec end to end on a real broker: the SDK producer compresses with it, the broker
 * validates and stores the batches as they came, the SDK consumer reads them back, compaction
 * rewrites them with the same codec, and a batch that inflates past the topic's limit is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CompressionType } from '../../client/types.js';
import { ATTRIBUTES_POS, RECORDS_POS, compressionOf, readBatchHeader } from '../../protocol/record-batch.js';
import { RawClient } from '../helpers/raw-client.js';
import { produce } from '../broker/harness.js';
import { TestEnv } from '../integration/harness.js';

/** A snappy batch as a Kafka broker served it (KafkaJS fixture v4_response_snappy.json, MIT):
 *  raw snappy records, no xerial framing (see test/protocol/compression.test.ts). */
const KAFKA_SNAPPY_BATCH = Buffer.from(
  '000000000000000000000062000000000297ef6eaa00020000000000000168b91290b100000168b91290b1ffffffffffffffff0000000000000000000130445e0000000e6b65792d3134394476616c7565010a642d323031392d30322d30345431353a31333a34382e3138375a00',
  'hex',
);

const CODECS: CompressionType[] = ['gzip', 'snappy', 'lz4', 'zstd'];
const KEYS = 8;
const ROUNDS = 12;

interface Got {
  offset: number;
  key: string;
  value: string;
}

describe('compression through the SDK and the broker', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  for (const compression of CODECS) {
    it(`${compression}: produced, stored as sent, consumed, and compacted`, async () => {
      const broker = await env.broker();
      const rill = env.client(broker.port);
      const topic = `c-${compression}`;
      await rill.admin().createTopics({ topics: [{ topic, numPartitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.bytes': '2048' } }] });
      const producer = rill.producer({ compression, lingerMs: 0 });
      await producer.connect();
      // One batch per round: KEYS keyed updates with repetitive values, so every batch shrinks.
      for (let round = 0; round < ROUNDS; round++) {
        await producer.send({ topic, messages: Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}`, value: `round-${round}-key-${k}-`.repeat(8), headers: { round: `${round}` } })) });
      }
      const total = KEYS * ROUNDS;

      // The broker stored the producer's batches with their codec.
      const log = broker.context.topics.partitionLog(topic, 0)!;
      const stored = await log.read(0, 1024 * 1024);
      const firstBatch = Buffer.from(stored.records);
      const header = readBatchHeader(firstBatch);
      expect(compressionOf(header.attributes)).toBe(compression);
      expect(header.batchLength + 12 - RECORDS_POS).toBeLessThan(KEYS * 8 * 20);

      const all = await readAll(rill, topic, total);
      expect(all.map((r) => r.offset)).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(all.map((r) => r.value)).toEqual(Array.from({ length: total }, (_, i) => `round-${Math.floor(i / KEYS)}-key-${i % KEYS}-`.repeat(8)));

      // Compaction keeps the latest record per key in the closed segments, re-compressed.
      const activeBase = log.activeSegment.baseOffset;
      expect(activeBase).toBeGreaterThan(KEYS);
      await broker.context.logs.runCompaction();
      const compactedBatch = Buffer.from((await log.read(0, 1024 * 1024)).records);
      expect(compressionOf(readBatchHeader(compactedBatch).attributes)).toBe(compression);
      const after = await readAll(rill, topic, -1, total - 1);
      const latest = new Map<string, number>();
      for (const r of all) if (r.offset < activeBase) latest.set(r.key, r.offset);
      const expected = all.filter((r) => r.offset >= activeBase || latest.get(r.key) === r.offset);
      expect(expected.length).toBeLessThan(all.length);
      expect(after).toEqual(expected);
    });
  }

  it('accepts a raw-snappy batch written by another client, stores it as sent, and the SDK reads it', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'foreign', numPartitions: 1 }] });
    const raw = await RawClient.connect(broker.port);
    try {
      await raw.request('ApiVersions', { clientId: 'raw' });
      expect((await produce(raw, 'foreign', 0, KAFKA_SNAPPY_BATCH)).errorCode).toBe(0);
      expect((await produce(raw, 'foreign', 0, KAFKA_SNAPPY_BATCH)).errorCode).toBe(0);
    } finally {
      await raw.close();
    }
    const stored = Buffer.from((await broker.context.topics.partitionLog('foreign', 0)!.read(0, 1 << 20)).records);
    // Byte for byte from the attributes on (baseOffset and the leader epoch are the broker's).
    expect(stored.subarray(ATTRIBUTES_POS, KAFKA_SNAPPY_BATCH.length)).toEqual(KAFKA_SNAPPY_BATCH.subarray(ATTRIBUTES_POS));
    const got = await readAll(rill, 'foreign', 2);
    expect(got).toEqual([0, 1].map((offset) => ({ offset, key: 'key-149', value: 'value-149-2019-02-04T15:13:48.187Z' })));
  });

  it('refuses an unknown compression option with UNSUPPORTED_COMPRESSION_TYPE', () => {
    const rill = env.client(1);
    expect(() => rill.producer({ compression: 'brotli' as CompressionType })).toThrow(expect.objectContaining({ errorName: 'UNSUPPORTED_COMPRESSION_TYPE' }));
  });

  it('refuses a batch that inflates past the topic limit with CORRUPT_MESSAGE, and keeps serving', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port, { retry: { retries: 0, initialBackoffMs: 10, maxBackoffMs: 10 } });
    // max.message.bytes 16 KiB: decompressed records may take at most 64 x 16 KiB = 1 MiB.
    await rill.admin().createTopics({ topics: [{ topic: 'small', numPartitions: 1, configs: { 'max.message.bytes': '16384' } }] });
    const producer = rill.producer({ compression: 'zstd', lingerMs: 0, idempotent: false, acks: 1 });
    await producer.connect();
    await expect(producer.send({ topic: 'small', messages: [{ value: Buffer.alloc(2 * 1024 * 1024) }] })).rejects.toMatchObject({ errorName: 'CORRUPT_MESSAGE' });
    const ok = await producer.send({ topic: 'small', messages: [{ value: Buffer.alloc(512 * 1024) }] });
    expect(ok[0]!.offset).toBe(0);
    const [offsets] = await rill.admin().fetchTopicOffsets('small');
    expect(offsets!.high).toBe(1);
  });
});

/** Reads `topic` partition 0 from the start until `count` records (or the one at `lastOffset`) arrived. */
async function readAll(rill: ReturnType<TestEnv['client']>, topic: string, count: number, lastOffset = -1): Promise<Got[]> {
  const consumer = rill.consumer({ maxWaitMs: 50 });
  consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
  const out: Got[] = [];
  try {
    for await (const m of consumer) {
      out.push({ offset: Number(m.offset), key: m.key!.toString(), value: m.value!.toString() });
      if (out.length === count || Number(m.offset) === lastOffset) break;
    }
  } finally {
    await consumer.close();
  }
  return out;
}
