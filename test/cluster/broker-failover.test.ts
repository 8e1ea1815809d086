/**
 * Brokers leaving and coming back, in process (graceful close; the SIGKILL/SIGSTOP suites run
 * brokers as child processes): min.insync.replicas with two brokers down, leader failover with
 * no acknowledged record lost, the old leader truncating its divergent tail and rejoining the
 * ISR, and a data dir of another cluster refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, RillError } from '../../protocol/errors.js';
import { decodeBatches } from '../../protocol/record-batch.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import { RawClient } from '../helpers/raw-client.js';
import { batch } from '../broker/harness.js';
import { ClusterEnv, type ClusterBroker } from './broker-harness.js';
import { waitFor } from './etcd.js';

async function produceRaw(client: RawClient, topic: string, partition: number, values: string[], acks: 1 | -1) {
  const r = await client.request('Produce', { acks, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partition, records: batch(values) }] }] });
  return r.topics[0]!.partitions[0]!;
}

/** Every value in a local log, below `end` (default: the log end). */
async function valuesOf(log: PartitionLog, end = log.logEndOffset): Promise<string[]> {
  const out: string[] = [];
  let offset = log.logStartOffset;
  while (offset < end) {
    const r = await log.read(offset, 1 << 20, { isolation: 'logEnd' });
    if (r.records.length === 0) break;
    for (const b of decodeBatches(r.records)) {
      for (const rec of b.records) if (rec.offset >= offset && rec.offset < end) out.push(rec.value!.toString());
      offset = b.header.baseOffset + b.header.lastOffsetDelta + 1;
    }
  }
  return out;
}

describe('brokers leaving and returning', () => {
  let env: ClusterEnv;
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await env.cleanup();
  }, 60_000);

  async function raw(b: ClusterBroker): Promise<RawClient> {
    const c = await RawClient.connect(b.port);
    clients.push(c);
    return c;
  }

  function leaderOf(brokers: ClusterBroker[], topic: string, partition: number): ClusterBroker | undefined {
    for (const b of brokers) {
      if (env.brokers.get(b.nodeId) !== b) continue;
      if (b.runtime.localRole(topic, partition).role === 'leader') return b;
    }
    return undefined;
  }

  /** A fresh three-broker cluster with an RF 3 topic; the leader of its partition 0 and the others. */
  async function clusterWithTopic(topic: string, numPartitions: number, configs: Record<string, string> = {}) {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    await brokers[0]!.runtime.createTopic({ name: topic, numPartitions, replicationFactor: 3, configs });
    const leader = await waitFor(`a leader of ${topic}-0`, () => leaderOf(brokers, topic, 0));
    return { brokers, leader, others: brokers.filter((b) => b !== leader) };
  }

  it('min.insync.replicas=2 with two of three brokers down: acks=all gets NOT_ENOUGH_REPLICAS, acks=1 works', async () => {
    const { brokers, leader } = await clusterWithTopic('mir', 1, { 'min.insync.replicas': '2' });
    const l = await raw(leader);
    expect((await produceRaw(l, 'mir', 0, ['a'], -1)).errorCode).toBe(0);
    for (const b of brokers) if (b !== leader) await env.stop(b.nodeId);
    // The controller removes the dead replicas from the ISR; the leader adopts it.
    await waitFor('the ISR to shrink to the leader', () => (leader.runtime.partition('mir', 0)!.isr.length === 1 ? true : undefined), 10_000);
    expect(leader.runtime.partition('mir', 0)!.offlineReplicas).toHaveLength(2);
    expect((await produceRaw(l, 'mir', 0, ['b'], -1)).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    const acks1 = await produceRaw(l, 'mir', 0, ['c'], 1);
    expect(acks1.errorCode).toBe(0);
    expect(acks1.baseOffset).toBe(1);
  }, 60_000);

  it('a closed leader is replaced from the ISR, no acked record is lost, and the old leader truncates and rejoins', async () => {
    const { leader: old, others: followers } = await clusterWithTopic('fo', 1);
    const epoch0 = old.runtime.partition('fo', 0)!.leaderEpoch;
    const l = await raw(old);
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      expect((await produceRaw(l, 'fo', 0, [`a${i}`], -1)).errorCode).toBe(0);
      acked.push(`a${i}`);
    }
    // A tail only the old leader has: the followers stop fetching, acks=1 writes it.
    for (const f of followers) await f.runtime.fetchers.unfollow('fo', 0);
    expect((await produceRaw(l, 'fo', 0, ['lost0', 'lost1'], 1)).errorCode).toBe(0);
    const oldDir = old.dataDir;
    const started = Date.now();
    await env.stop(old.nodeId);
    const next = await waitFor('a new leader', () => leaderOf(followers, 'fo', 0), 10_000);
    const failoverMs = Date.now() - started;
    expect(failoverMs).toBeLessThan(10_000);
    const info = next.runtime.partition('fo', 0)!;
    expect(info.leaderEpoch).toBeGreaterThan(epoch0);
    const n = await raw(next);
    // A request with the old epoch is fenced; one with the new epoch is served.
    const fenced = await n.request('Fetch', { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ name: 'fo', partitions: [{ partition: 0, currentLeaderEpoch: epoch0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] });
    expect(fenced.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    for (let i = 0; i < 3; i++) {
      const r = await produceRaw(n, 'fo', 0, [`b${i}`], -1);
      expect(r.errorCode).toBe(0);
      acked.push(`b${i}`);
    }
    expect(await valuesOf(next.runtime.localLog('fo', 0)!)).toEqual(acked);

    // The old leader comes back on its data dir: it truncates lost0/lost1, fetches b0..b2, rejoins.
    const back = await env.broker(old.nodeId, { dataDir: oldDir });
    await waitFor('the old leader back in the ISR', () => (next.runtime.partition('fo', 0)!.isr.includes(old.nodeId) ? true : undefined), 15_000);
    const backLog = back.runtime.localLog('fo', 0)!;
    await waitFor('the old leader caught up', () => (backLog.logEndOffset === acked.length ? true : undefined));
    expect(await valuesOf(backLog)).toEqual(acked);
    expect(back.runtime.localRole('fo', 0).role).toBe('follower');
  }, 60_000);

  it('an SDK producer keeps going across a leader change: every acked record is read back once, in per-key order', async () => {
    const { leader: victim, others: survivors } = await clusterWithTopic('keyed', 3);
    const rill = env.client(survivors.map((b) => b.port), { retry: { retries: 20, initialBackoffMs: 50, maxBackoffMs: 500 } });
    const producer = rill.producer({ acks: -1, lingerMs: 5 });
    const acked: Array<{ key: string; seq: number }> = [];
    let stop = false;
    const keys = 6;
    const sending = (async () => {
      for (let seq = 0; !stop && seq < 2000; seq++) {
        const key = `k${seq % keys}`;
        await producer.send({ topic: 'keyed', messages: [{ key, value: `${key}:${seq}` }] });
        acked.push({ key, seq });
      }
    })();
    await waitFor('some acked records', () => (acked.length >= 30 ? true : undefined));
    await env.stop(victim.nodeId);
    const ackedAtKill = acked.length;
    await waitFor('more records acked after the failover', () => (acked.length >= ackedAtKill + 30 ? true : undefined), 20_000);
    stop = true;
    await sending;
    const consumer = env.client([survivors[0]!.port]).consumer({ maxWaitMs: 100 });
    consumer.assign([0, 1, 2].map((partition) => ({ topic: 'keyed', partition, offset: 'earliest' as const })));
    const seen: string[] = [];
    for await (const m of consumer) {
      seen.push(m.value!.toString());
      if (seen.length === acked.length) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(acked.map((a) => `${a.key}:${a.seq}`).sort());
    // Per key, the order in the log is the send order (checked on each key's own partition).
    for (let p = 0; p < 3; p++) {
      const leader = leaderOf(survivors, 'keyed', p)!;
      const values = await valuesOf(leader.runtime.localLog('keyed', p)!);
      const byKey = new Map<string, number[]>();
      for (const v of values) {
        const [key, seq] = v.split(':') as [string, string];
        byKey.set(key, [...(byKey.get(key) ?? []), Number(seq)]);
      }
      for (const seqs of byKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  }, 60_000);

  it('the controller\'s broker leaves: another takes over and topic creation and elections go on', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    const first = await waitFor('a controller', () => brokers[0]!.runtime.controllerId() ?? undefined);
    await env.stop(first);
    const rest = brokers.filter((b) => b.nodeId !== first);
    const next = await waitFor('a new controller', () => {
      const id = rest[0]!.runtime.controllerId();
      return id !== null && id !== first ? id : undefined;
    });
    expect(rest.map((b) => b.nodeId)).toContain(next);
    await rest[0]!.runtime.createTopic({ name: 'after', numPartitions: 2, replicationFactor: 2 });
    const controller = rest.find((b) => b.nodeId === next)!;
    const results = await controller.runtime.electLeaders('preferred', [{ topic: 'after', partition: 0 }]);
    expect(results[0]!.errorCode).toBe(ErrorCode.ELECTION_NOT_NEEDED);
    const other = rest.find((b) => b.nodeId !== next)!;
    await expect(other.runtime.electLeaders('preferred', null)).rejects.toMatchObject({ code: ErrorCode.NOT_CONTROLLER });
  }, 60_000);

  it('a whole-cluster restart brings every acked record back', async () => {
    const { brokers, leader } = await clusterWithTopic('all', 1);
    const l = await raw(leader);
    for (let i = 0; i < 5; i++) expect((await produceRaw(l, 'all', 0, [`r${i}`], -1)).errorCode).toBe(0);
    const dirs = new Map(brokers.map((b) => [b.nodeId, b.dataDir]));
    for (const b of brokers) await env.stop(b.nodeId);
    const back = await Promise.all([...dirs].map(([id, dataDir]) => env.broker(id, { dataDir })));
    const next = await waitFor('a leader after the restart', () => leaderOf(back, 'all', 0), 15_000);
    const log = next.runtime.localLog('all', 0)!;
    await waitFor('the HW back at the end', () => (log.highWatermark === 5 ? true : undefined));
    expect(await valuesOf(log)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  }, 60_000);

  it('a leader whose lease etcd revoked stops acknowledging at once and comes back as a follower', async () => {
    const { leader, others } = await clusterWithTopic('lease', 1);
    const l = await raw(leader);
    expect((await produceRaw(l, 'lease', 0, ['before'], -1)).errorCode).toBe(0);
    const leaseId = leader.runtime.session.leaseId()!;
    const admin = env.etcd!.store(env.clusterId);
    await admin.client.leaseClient.leaseRevoke({ ID: leaseId });
    await waitFor('the old leader to notice', () => (leader.runtime.localRole('lease', 0).role !== 'leader' ? true : undefined), 10_000);
    expect((await produceRaw(l, 'lease', 0, ['stale'], -1)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const next = await waitFor('a new leader', () => leaderOf(others, 'lease', 0), 10_000);
    expect((await produceRaw(await raw(next), 'lease', 0, ['after'], -1)).errorCode).toBe(0);
    await waitFor('the old leader registered again and back in the ISR', () => (next.runtime.partition('lease', 0)!.isr.includes(leader.nodeId) ? true : undefined), 15_000);
    expect(leader.runtime.localRole('lease', 0).role).toBe('follower');
    expect(await valuesOf(next.runtime.localLog('lease', 0)!)).toEqual(['before', 'after']);
  }, 60_000);

  it('refuses a data dir of another cluster with INCONSISTENT_CLUSTER_ID', async () => {
    env = await new ClusterEnv().start();
    const b = await env.broker(1);
    const dir = b.dataDir;
    await env.stop(1);
    const other = new ClusterEnv('another-cluster');
    other.etcd = env.etcd;
    const err = await other.broker(1, { dataDir: dir }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).code).toBe(ErrorCode.INCONSISTENT_CLUSTER_ID);
    expect((err as Error).message).toMatch(/belongs to another cluster/);
    // An etcd nobody answers on fails the start with one line naming it, and leaves the dir usable.
    const unreachable = await env.broker(1, { dataDir: dir, 'etcd.endpoints': 'http://127.0.0.1:1' }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(unreachable?.message).toMatch(/^cannot join cluster '.+' on etcd http:\/\/127\.0\.0\.1:1: /);
    // And a restart without --cluster-id rejoins the recorded cluster.
    const again = await env.broker(1, { dataDir: dir, 'cluster.id': null });
    expect(again.context.clusterId).toBe(env.clusterId);
  }, 60_000);
});
