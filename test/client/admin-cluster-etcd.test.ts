/**
 * The cluster admin calls against three in-process brokers on a real etcd
 * (test/cluster/broker-harness.ts): describeCluster, createTopics with a replica assignment,
 * describeTopics' replicas/ISR/offline replicas, and preferred leader election through the
 * controller: not needed, not available while the preferred replica is down, elected once it
 * is back in sync. Needs wip/cluster-broker (its test/cluster/broker-harness.ts and runtime).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { ClusterEnv, type ClusterBroker } from '../cluster/broker-harness.js';
import { waitFor } from '../cluster/etcd.js';
import type { Admin } from '../../client/index.js';

describe('cluster admin on three brokers', () => {
  const env = new ClusterEnv();
  let brokers: ClusterBroker[];
  let admin: Admin;
  beforeAll(async () => {
    await env.start();
    brokers = await env.brokersUp(3);
    await waitFor('a controller', () => (brokers[0]!.runtime.controllerId() ?? undefined));
    admin = env.client(brokers.map((b) => b.port)).admin({ retry: { retries: 8, initialBackoffMs: 100, maxBackoffMs: 500 } });
  });
  afterAll(() => env.cleanup());

  const partitions = async (topic: string) => (await admin.describeTopics({ topics: [topic] }))[0]!.partitions;

  it('describeCluster: the three live brokers, the controller and the cluster id', async () => {
    const d = await admin.describeCluster();
    expect(d.clusterId).toBe(env.clusterId);
    expect(d.brokers).toEqual(brokers.map((b) => ({ nodeId: b.nodeId, host: '127.0.0.1', port: b.port, rack: null })));
    expect([1, 2, 3]).toContain(d.controllerId);
    expect(d.controllerId).toBe(brokers[0]!.runtime.controllerId());
  });

  it('ElectLeaders sent to a broker that is not the controller: NOT_CONTROLLER as the top-level error', async () => {
    const controller = brokers[0]!.runtime.controllerId()!;
    const other = brokers.find((b) => b.nodeId !== controller)!;
    const raw = await RawClient.connect(other.port);
    try {
      const r = await raw.request('ElectLeaders', { topicPartitions: null });
      expect(r.errorCode).toBe(41);
    } finally {
      await raw.close();
    }
  });

  it('replica assignment, replicas/ISR/offline in describeTopics, and preferred elections', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'placed',
          replicaAssignment: [
            { partition: 0, replicas: [3, 1, 2] },
            { partition: 1, replicas: [1, 2, 3] },
          ],
        },
      ],
    });
    const placed = await waitFor('leaders on the preferred replicas', async () => {
      const ps = await partitions('placed');
      return ps.every((p) => p.leader === p.replicas[0]) ? ps : undefined;
    });
    expect(placed.map((p) => [p.partition, p.leader, p.replicas, [...p.isr].sort(), p.offlineReplicas])).toEqual([
      [0, 3, [3, 1, 2], [1, 2, 3], []],
      [1, 1, [1, 2, 3], [1, 2, 3], []],
    ]);
    await expect(admin.createTopics({ topics: [{ topic: 'bad', replicaAssignment: [{ partition: 0, replicas: [1, 9] }] }] })).rejects.toMatchObject({
      errorName: 'INVALID_REPLICA_ASSIGNMENT',
    });

    expect((await admin.electLeaders({ partitions: [{ topic: 'placed' }] })).map((r) => r.outcome)).toEqual(['not-needed', 'not-needed']);

    // Broker 3 goes away: partition 0 is led by another ISR member, 3 is offline and out of the ISR.
    const dataDir3 = env.brokers.get(3)!.dataDir;
    await env.stop(3);
    const degraded = await waitFor('partition 0 failed over', async () => {
      const ps = await partitions('placed').catch(() => undefined);
      return ps !== undefined && ps[0]!.leader !== 3 && ps[0]!.leader >= 0 && !ps[0]!.isr.includes(3) ? ps : undefined;
    });
    expect(degraded[0]!.offlineReplicas).toEqual([3]);
    const unavailable = await admin.electLeaders({ partitions: [{ topic: 'placed', partitions: [0] }] });
    expect(unavailable.map((r) => [r.partition, r.outcome, r.error?.errorName])).toEqual([[0, 'failed', 'PREFERRED_LEADER_NOT_AVAILABLE']]);

    // Back on its data dir and in sync: the preferred election moves partition 0 back to it.
    await env.broker(3, { dataDir: dataDir3 });
    await waitFor('broker 3 back in the ISR', async () => ((await partitions('placed').catch(() => []))[0]?.isr.includes(3) ? true : undefined), 30_000);
    const elected = await admin.electLeaders({ partitions: [{ topic: 'placed', partitions: [0] }] });
    expect(elected.map((r) => [r.partition, r.outcome])).toEqual([[0, 'elected']]);
    await waitFor('broker 3 leads partition 0 again', async () => ((await partitions('placed'))[0]!.leader === 3 ? true : undefined));
  });
});
