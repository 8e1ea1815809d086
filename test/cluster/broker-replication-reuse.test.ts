/**
 * The broker's data path under replication: a leader that assembles large produce frames in
 * reused buffers (broker/frame-buffer-pool.ts) and serves its followers' fetches from the
 * in-memory tail or the file (storage/tail-cache.ts) must hand every follower exactly the bytes
 * it wrote. Pipelined large produces (acks=all and acks=1 mixed) go to the leader of an RF 3
 * partition while the followers replicate; then every replica's log is compared byte for byte
 * with the leader's and every record with what was produced at its offset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBatches, encodeBatch } from '../../protocol/record-batch.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import { RawClient } from '../helpers/raw-client.js';
import { ClusterEnv, type ClusterBroker } from './broker-harness.js';
import { waitFor } from './etcd.js';

const REQUESTS = 24;
const BATCHES_PER_REQUEST = 4;
const RECORDS_PER_BATCH = 60;

/** Every byte of the log from its start to its end, read through log.read (whole batches). */
async function logBytes(log: PartitionLog): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20, { isolation: 'logEnd' });
    expect(r.records.length).toBeGreaterThan(0);
    parts.push(Buffer.from(r.records));
    for (const b of decodeBatches(r.records)) offset = b.header.baseOffset + b.header.lastOffsetDelta + 1;
  }
  return Buffer.concat(parts);
}

describe('replication with reused produce buffers and the in-memory tail', () => {
  const env = new ClusterEnv();
  let brokers: ClusterBroker[];
  let client: RawClient | null = null;

  beforeAll(async () => {
    await env.start();
    brokers = await env.brokersUp(3);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await env.cleanup();
  }, 60_000);

  it('every follower holds the leader\'s bytes, and every record is the one produced at its offset', async () => {
    const topic = 'reuse-rf3';
    await brokers[0]!.runtime.createTopic({ name: topic, numPartitions: 1, replicationFactor: 3 });
    await Promise.all(brokers.map((b) => waitFor('roles applied', () => (b.runtime.localRole(topic, 0).role !== 'none' ? true : undefined))));
    const leaderId = brokers[0]!.runtime.partition(topic, 0)!.leader;
    const leader = brokers.find((b) => b.nodeId === leaderId)!;
    const followers = brokers.filter((b) => b !== leader);
    client = await RawClient.connect(leader.port);

    const expected = new Map<number, string>();
    const sends: Array<Promise<void>> = [];
    for (let r = 0; r < REQUESTS; r++) {
      // Two waves: the second wave's frames are assembled in buffers the first wave released
      // (within a wave, every frame may be read before any produce is answered).
      if (r === REQUESTS / 2) await Promise.all(sends);
      const values: string[] = [];
      const batches: Buffer[] = [];
      for (let b = 0; b < BATCHES_PER_REQUEST; b++) {
        const vs = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => `r${r}-b${b}-i${i}|${String(r * 7919 + b * 104729 + i).repeat(120)}`);
        values.push(...vs);
        batches.push(encodeBatch(vs.map((value) => ({ key: null, value }))));
      }
      // Pipelined (not awaited one by one), so several pooled frames are in flight at once.
      sends.push(
        client.request('Produce', { acks: r % 2 === 0 ? -1 : 1, timeoutMs: 10_000, topics: [{ name: topic, partitions: [{ partition: 0, records: Buffer.concat(batches) }] }] }).then((res) => {
          const p = res.topics[0]!.partitions[0]!;
          expect(p.errorCode).toBe(0);
          for (let i = 0; i < values.length; i++) expected.set(p.baseOffset + i, values[i]!);
        }),
      );
    }
    await Promise.all(sends);
    const total = REQUESTS * BATCHES_PER_REQUEST * RECORDS_PER_BATCH;
    expect(expected.size).toBe(total);
    expect(leader.connections().reduce((n, s) => n + s.frameBufferReuses, 0)).toBeGreaterThan(0);

    const leaderLog = leader.runtime.localLog(topic, 0)!;
    expect(leaderLog.logEndOffset).toBe(total);
    for (const f of followers) {
      const flog = f.runtime.localLog(topic, 0)!;
      await waitFor(`node ${f.nodeId} to catch up`, () => (flog.logEndOffset === total ? true : undefined), 15_000);
    }
    const leaderBytes = await logBytes(leaderLog);
    for (const f of followers) expect((await logBytes(f.runtime.localLog(topic, 0)!)).equals(leaderBytes), `node ${f.nodeId}'s log`).toBe(true);
    for (const b of decodeBatches(leaderBytes)) {
      for (const rec of b.records) expect(rec.value!.toString(), `offset ${rec.offset}`).toBe(expected.get(rec.offset));
    }
  }, 60_000);
});
