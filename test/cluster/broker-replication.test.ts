/**
 * The broker's cluster paths on three in-process brokers and a real etcd: requests to a follower,
 * leader epochs in requests, the high watermark as the consumers' limit, ISR shrink and
 * expansion written by the leader, and acks=all timing out when the followers stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { RawClient } from '../helpers/raw-client.js';
import { batch } from '../broker/harness.js';
import { ClusterEnv, type ClusterBroker } from './broker-harness.js';
import { waitFor } from './etcd.js';

async function produceRaw(client: RawClient, topic: string, partition: number, values: string[], acks: 1 | -1, timeoutMs = 5000) {
  const r = await client.request('Produce', { acks, timeoutMs, topics: [{ name: topic, partitions: [{ partition, records: batch(values) }] }] });
  return r.topics[0]!.partitions[0]!;
}

async function fetchRaw(client: RawClient, topic: string, partition: number, fetchOffset: number, currentLeaderEpoch = -1) {
  const r = await client.request('Fetch', {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [{ name: topic, partitions: [{ partition, currentLeaderEpoch, fetchOffset, partitionMaxBytes: 1 << 20 }] }],
  });
  return r.topics[0]!.partitions[0]!;
}

describe('cluster request routing and the high watermark', () => {
  const env = new ClusterEnv();
  const clients: RawClient[] = [];
  let brokers: ClusterBroker[];

  async function raw(b: ClusterBroker): Promise<RawClient> {
    const c = await RawClient.connect(b.port);
    clients.push(c);
    return c;
  }

  function roles(topic: string, partition: number): { leader: ClusterBroker; followers: ClusterBroker[] } {
    const leaderId = brokers[0]!.runtime.partition(topic, partition)!.leader;
    return { leader: brokers.find((b) => b.nodeId === leaderId)!, followers: brokers.filter((b) => b.nodeId !== leaderId) };
  }

  beforeAll(async () => {
    await env.start();
    brokers = await env.brokersUp(3);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.close();
    await env.cleanup();
  }, 60_000);

  it('a follower answers Produce and Fetch with NOT_LEADER_OR_FOLLOWER; the leader checks the epoch in the request', async () => {
    await brokers[0]!.runtime.createTopic({ name: 'routed', numPartitions: 1, replicationFactor: 3 });
    await Promise.all(brokers.map((b) => waitFor('roles applied', () => (b.runtime.localRole('routed', 0).role !== 'none' ? true : undefined))));
    const { leader, followers } = roles('routed', 0);
    const epoch = leader.runtime.partition('routed', 0)!.leaderEpoch;
    const f = await raw(followers[0]!);
    expect((await produceRaw(f, 'routed', 0, ['x'], -1)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect((await fetchRaw(f, 'routed', 0, 0)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const l = await raw(leader);
    expect((await produceRaw(l, 'routed', 0, ['a', 'b'], -1)).errorCode).toBe(0);
    expect((await fetchRaw(l, 'routed', 0, 0, epoch + 1)).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    const ok = await fetchRaw(l, 'routed', 0, 0, epoch);
    expect(ok.errorCode).toBe(0);
    expect(ok.highWatermark).toBe(2);
    // ListOffsets: the leader answers with its high watermark, a follower refuses.
    const lo = await l.request('ListOffsets', { topics: [{ name: 'routed', partitions: [{ partition: 0, timestamp: -1 }] }] });
    expect(lo.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, offset: 2 });
    const flo = await f.request('ListOffsets', { topics: [{ name: 'routed', partitions: [{ partition: 0, timestamp: -1 }] }] });
    expect(flo.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // Metadata from a follower describes the whole cluster.
    const md = await f.request('Metadata', { topics: ['routed'], allowAutoTopicCreation: false });
    expect(md.brokers.map((b) => b.nodeId)).toEqual([1, 2, 3]);
    expect(md.controllerId).toBeGreaterThan(0);
    expect(md.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, leader: leader.nodeId, leaderEpoch: epoch, isr: expect.arrayContaining([1, 2, 3]), offlineReplicas: [] });
  });

  it('refuses a replication factor above the live brokers', async () => {
    const c = await raw(brokers[1]!);
    const r = await c.request('CreateTopics', { topics: [{ name: 'too-many', numPartitions: 1, replicationFactor: 4, configs: {} }], timeoutMs: 5000, validateOnly: false });
    expect(r.topics[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  });

  it('consumers never read above the high watermark; a lagging follower leaves the ISR and rejoins when it catches up', async () => {
    await brokers[1]!.runtime.createTopic({ name: 'hw', numPartitions: 1, replicationFactor: 3 });
    await Promise.all(brokers.map((b) => waitFor('roles applied', () => (b.runtime.localRole('hw', 0).role !== 'none' ? true : undefined))));
    const { leader, followers } = roles('hw', 0);
    const l = await raw(leader);
    expect((await produceRaw(l, 'hw', 0, ['r0', 'r1'], -1)).errorCode).toBe(0);
    // The followers stop replicating (their fetchers drop the partition; the brokers stay up).
    for (const f of followers) await f.runtime.fetchers.unfollow('hw', 0);
    expect((await produceRaw(l, 'hw', 0, ['u0', 'u1', 'u2'], 1)).errorCode).toBe(0);
    const log = leader.runtime.localLog('hw', 0)!;
    expect(log.logEndOffset).toBe(5);
    const seen = await fetchRaw(l, 'hw', 0, 0);
    expect(seen.highWatermark).toBe(2);
    const visible = (seen.records as Buffer).length;
    // Reading from the high watermark gives nothing yet (not OFFSET_OUT_OF_RANGE either).
    const ahead = await fetchRaw(l, 'hw', 0, 3);
    expect(ahead.errorCode).toBe(0);
    expect((ahead.records as Buffer).length).toBe(0);
    // acks=all cannot complete while the ISR members do not fetch: REQUEST_TIMED_OUT at timeoutMs.
    expect((await produceRaw(l, 'hw', 0, ['t0'], -1, 300)).errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect(visible).toBeGreaterThan(0);
    // replica.lag.time.max.ms (2 s here) later the leader shrinks the ISR to itself; the HW moves.
    await waitFor('the ISR shrink', () => (leader.runtime.partition('hw', 0)!.isr.length === 1 ? true : undefined), 10_000);
    expect(leader.runtime.partition('hw', 0)!.isr).toEqual([leader.nodeId]);
    await waitFor('the HW to reach the log end', () => (log.highWatermark === log.logEndOffset ? true : undefined));
    // Counted when the leader's etcd transaction answers, which may come after the watch has
    // already brought the new ISR back to the leader (adoptControllerIsr): wait for it.
    await waitFor('the shrink counted', () => (leader.runtime.isrChanges.shrinks >= 1 ? true : undefined));
    const shrunk = await leader.context.metrics.registry.metrics();
    expect(shrunk).toMatch(/^rill_under_replicated_partitions\{[^}]*\} 1$/m);
    expect(shrunk).toMatch(/^rill_isr_shrinks_total\{[^}]*\} [1-9]/m);
    expect(shrunk).toMatch(new RegExp(`^rill_follower_lag_messages\\{[^}]*topic="hw",partition="0",replica="${followers[0]!.nodeId}"[^}]*\\} [1-9]`, 'm'));
    // The followers fetch again, catch up, and the leader adds them back.
    for (const f of followers) {
      const flog = f.runtime.localLog('hw', 0)!;
      await f.runtime.fetchers.follow(flog, { nodeId: leader.nodeId, host: '127.0.0.1', port: leader.port }, leader.runtime.partition('hw', 0)!.leaderEpoch);
    }
    await waitFor('the ISR expansion', () => (leader.runtime.partition('hw', 0)!.isr.length === 3 ? true : undefined), 10_000);
    await waitFor('the expansion counted', () => (leader.runtime.isrChanges.expands >= 1 ? true : undefined));
    for (const f of followers) expect(f.runtime.localLog('hw', 0)!.logEndOffset).toBe(log.logEndOffset);
    expect((await produceRaw(l, 'hw', 0, ['after'], -1)).errorCode).toBe(0);
    const healed = await leader.context.metrics.registry.metrics();
    expect(healed).toMatch(/^rill_isr_expands_total\{[^}]*\} [1-9]/m);
  });

  it('hands out producer ids from cluster-wide blocks: brokers never give the same id', async () => {
    const ids: number[] = [];
    for (const b of brokers) {
      const c = await raw(b);
      for (let i = 0; i < 3; i++) {
        const r = await c.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
        expect(r.errorCode).toBe(0);
        ids.push(r.producerId);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes a cluster topic\'s replication configs', async () => {
    await brokers[0]!.runtime.createTopic({ name: 'cfg', numPartitions: 1, replicationFactor: 2, configs: { 'min.insync.replicas': '2', 'retention.ms': '60000' } });
    const c = await raw(brokers[2]!);
    await waitFor('the mirror', () => brokers[2]!.context.topics.get('cfg'));
    const r = await c.request('DescribeConfigs', { resources: [{ resourceType: 'topic', resourceName: 'cfg', configNames: ['min.insync.replicas', 'unclean.leader.election.enable', 'retention.ms'] }] });
    const byName = new Map(r.resources[0]!.configs.map((e) => [e.name, e]));
    expect(byName.get('min.insync.replicas')).toMatchObject({ value: '2', source: 'topic' });
    expect(byName.get('unclean.leader.election.enable')).toMatchObject({ value: 'false', source: 'default' });
    expect(byName.get('retention.ms')).toMatchObject({ value: '60000', source: 'topic' });
  });

  it('alters a cluster topic\'s configs from any broker: every replica and the leader\'s min.insync.replicas follow', async () => {
    await brokers[0]!.runtime.createTopic({ name: 'alt', numPartitions: 1, replicationFactor: 3 });
    await Promise.all(brokers.map((b) => waitFor('roles applied', () => (b.runtime.localRole('alt', 0).role !== 'none' ? true : undefined))));
    const rill = env.client([brokers[2]!.port]);
    await rill.admin().alterConfigs({ topic: 'alt', configs: { 'retention.ms': '120000', 'min.insync.replicas': '3' } });
    for (const b of brokers) {
      await waitFor('the new retention on every replica', () => (b.runtime.localLog('alt', 0)!.config.retentionMs === 120_000 ? true : undefined));
    }
    const { leader, followers } = roles('alt', 0);
    // min.insync.replicas=3 with one follower out of the ISR refuses acks=all.
    for (const f of followers) await f.runtime.fetchers.unfollow('alt', 0);
    await waitFor('the ISR shrink', () => (leader.runtime.partition('alt', 0)!.isr.length < 3 ? true : undefined), 10_000);
    expect((await produceRaw(await raw(leader), 'alt', 0, ['x'], -1)).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    await expect(rill.admin().alterConfigs({ topic: 'alt', configs: { 'min.insync.replicas': 'zero' } })).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
  });

  it('reports exactly one active controller across the brokers', async () => {
    let active = 0;
    for (const b of brokers) {
      const text = await b.context.metrics.registry.metrics();
      const m = /^rill_active_controller\{[^}]*\} (\d)$/m.exec(text);
      active += Number(m![1]);
      expect(text).toMatch(/^rill_offline_partitions\{[^}]*\} 0$/m);
    }
    expect(active).toBe(1);
  });
});
