import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/outside-tools.js';
import { startEtcd, waitFor, type EtcdProcess } from './etcd.js';
import { startNode, type TestNode } from './fixture.js';
import type { BecomeFollower, BecomeLeader } from '../../broker/cluster/metadata-view.js';

const hasEtcd = requireTool('etcd');

interface Recorded {
  leader: BecomeLeader[];
  follower: BecomeFollower[];
  stop: Array<{ topic: string; partition: number }>;
}

function record(n: TestNode): Recorded {
  const r: Recorded = { leader: [], follower: [], stop: [] };
  n.view.on('become-leader', (e) => r.leader.push(e));
  n.view.on('become-follower', (e) => r.follower.push(e));
  n.view.on('stop-replica', (e) => r.stop.push(e));
  return r;
}

describe.skipIf(!hasEtcd)('broker-side metadata view (real etcd)', () => {
  let etcd: EtcdProcess;
  let nodes: TestNode[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  afterEach(async () => {
    for (const n of nodes) await n.close();
    nodes = [];
  });

  it('tells each broker to lead or follow, follows failover, and stops replicas of deleted topics', async () => {
    const one = await startNode(etcd, 'view', 1);
    const two = await startNode(etcd, 'view', 2);
    nodes.push(one, two);
    const r1 = record(one);
    const r2 = record(two);
    const c = await waitFor('a controller', () => nodes.find((n) => n.controller.activeEpoch() !== null));
    await c.controller.createTopic({ name: 'v', numPartitions: 2, replicationFactor: 2, replicaAssignment: [[1, 2], [2, 1]] });
    await waitFor('initial roles', () => (r1.leader.length === 1 && r1.follower.length === 1 && r2.leader.length === 1 && r2.follower.length === 1 ? true : undefined));
    expect(r1.leader[0]).toMatchObject({ topic: 'v', partition: 0, leaderEpoch: 0, isr: [1, 2], replicas: [1, 2] });
    expect(r1.follower[0]).toMatchObject({ topic: 'v', partition: 1, leader: 2, leaderEpoch: 0 });
    expect(one.view.canAcknowledge('v', 0, 0)).toBe(true);
    expect(one.view.canAcknowledge('v', 0, 1)).toBe(false);
    expect(one.view.canAcknowledge('v', 1, 0)).toBe(false);
    // The cache answers Metadata for the whole cluster.
    expect([...two.view.cache.brokers.keys()].sort()).toEqual([1, 2]);
    expect(two.view.cache.controller?.value.nodeId).toBe(c.nodeId);
    expect(two.view.cache.partitionState('v', 0)?.value.leader).toBe(1);

    // Broker 2 dies: broker 1 becomes leader of partition 1 at epoch 1.
    nodes = nodes.filter((n) => n !== two);
    await two.close();
    await waitFor('1 leads v/1', () => r1.leader.find((e) => e.partition === 1));
    expect(r1.leader.find((e) => e.partition === 1)).toMatchObject({ leaderEpoch: 1, isr: [1] });
    expect(one.view.canAcknowledge('v', 1, 1)).toBe(true);
    await waitFor('broker 2 gone from the cache', () => (one.view.cache.brokers.has(2) ? undefined : true));

    await (await waitFor('a controller', () => (one.controller.activeEpoch() !== null ? one : undefined))).controller.deleteTopic('v');
    await waitFor('stop-replica for both partitions', () => (r1.stop.length === 2 ? true : undefined));
    expect(one.view.localRole('v', 0)).toEqual({ role: 'none' });
  });

  it('stops leading at once when the lease is lost, and leads again only after the controller re-elects it', async () => {
    const one = await startNode(etcd, 'view-lease', 1);
    nodes.push(one);
    const r = record(one);
    await waitFor('controller', () => (one.controller.activeEpoch() !== null ? true : undefined));
    await one.controller.createTopic({ name: 'solo', numPartitions: 1, replicationFactor: 1 });
    await waitFor('leader at epoch 0', () => r.leader.find((e) => e.leaderEpoch === 0));
    const lost = new Promise((resolve) => one.session.once('lease-lost', resolve));
    await one.store.client.leaseClient.leaseRevoke({ ID: one.session.registration()!.leaseId });
    await lost;
    // At the moment of the loss: no acknowledgement, and a demotion event.
    expect(one.view.canAcknowledge('solo', 0, 0)).toBe(false);
    expect(r.follower.at(-1)).toMatchObject({ topic: 'solo', partition: 0, leader: -1 });
    // Re-registered, elected controller again, it re-confirms itself with a new epoch.
    const again = await waitFor('leader at epoch 1', () => r.leader.find((e) => e.leaderEpoch === 1));
    expect(again).toMatchObject({ topic: 'solo', partition: 0 });
    expect(one.view.canAcknowledge('solo', 0, 0)).toBe(false);
    expect(one.view.canAcknowledge('solo', 0, 1)).toBe(true);
  });

  it('reports and skips a key whose value fails its schema; the controller keeps working', async () => {
    const one = await startNode(etcd, 'view-junk', 1);
    nodes.push(one);
    const invalid: Error[] = [];
    one.view.on('invalid-record', (e) => invalid.push(e));
    await one.store.ns.put('topics/junk').value('{"topicId": 5}');
    await one.store.ns.put('partitions/junk/0').value('not json');
    await waitFor('two invalid-record events', () => (invalid.length === 2 ? true : undefined));
    expect(invalid.map((e) => e.message).join('\n')).toMatch(/topics\/junk[\s\S]*partitions\/junk\/0/);
    expect(one.view.cache.topics.has('junk')).toBe(false);
    await waitFor('controller', () => (one.controller.activeEpoch() !== null ? true : undefined));
    await one.controller.createTopic({ name: 'fine', numPartitions: 1, replicationFactor: 1 });
    await waitFor('fine/0 in the cache', () => one.view.cache.partitionState('fine', 0));
    // A valid topic whose partition key is broken: the controller leaves the key alone and settles.
    await one.store.ns.put('partitions/fine/0').value('{"leader": "x"}');
    const reconciled = new Promise((resolve) => one.controller.once('reconciled', resolve));
    await one.controller.createTopic({ name: 'fine2', numPartitions: 1, replicationFactor: 1 });
    expect(await reconciled).toMatchObject({ conflicts: 0 });
    await one.controller.settled();
    expect((await one.store.ns.get('partitions/fine/0').string())).toBe('{"leader": "x"}');
  });
});
