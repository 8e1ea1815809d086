import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/outside-tools.js';
import { startEtcd, waitFor, type EtcdProcess } from './etcd.js';
import { partitionState, startNode, type TestNode } from './fixture.js';
import { ControllerWriter, FencedControllerError } from '../../broker/cluster/writer.js';
import { ProducerIdBlockAllocator } from '../../broker/cluster/producer-id-blocks.js';
import { partitionKey, topicKey } from '../../broker/cluster/keys.js';
import { Records, type PartitionState } from '../../broker/cluster/schemas.js';
import type { RillError } from '../../protocol/errors.js';

const hasEtcd = requireTool('etcd');

describe.skipIf(!hasEtcd)('controller (real etcd)', () => {
  let etcd: EtcdProcess;
  let nodes: TestNode[] = [];
  let cluster = 0;
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

  async function startCluster(ids: number[], options = {}): Promise<{ clusterId: string; byId: Map<number, TestNode> }> {
    const clusterId = `c${++cluster}`;
    const byId = new Map<number, TestNode>();
    for (const id of ids) {
      const n = await startNode(etcd, clusterId, id, options);
      nodes.push(n);
      byId.set(id, n);
    }
    return { clusterId, byId };
  }

  const activeController = (byId: Map<number, TestNode>, except?: number): Promise<TestNode> =>
    waitFor('an active controller', () => [...byId.values()].find((n) => n.nodeId !== except && n.controller.activeEpoch() !== null));

  async function stopNode(byId: Map<number, TestNode>, id: number): Promise<void> {
    const n = byId.get(id)!;
    byId.delete(id);
    nodes = nodes.filter((x) => x !== n);
    await n.close();
  }

  it('elects one controller; when its lease dies another takes over with a higher epoch and the old epoch writes nothing', async () => {
    const { byId } = await startCluster([1, 2]);
    const first = await activeController(byId);
    const oldEpoch = first.controller.activeEpoch()!;
    expect([...byId.values()].filter((n) => n.controller.activeEpoch() !== null)).toHaveLength(1);
    const deposed = new Promise((resolve) => first.election.once('deposed', resolve));
    const oldLease = first.session.registration()!.leaseId;
    await first.store.client.leaseClient.leaseRevoke({ ID: oldLease });
    await deposed;
    const second = await activeController(byId, first.nodeId);
    expect(second.controller.activeEpoch()!).toBeGreaterThan(oldEpoch);
    // The deposed controller's own API refuses at once...
    await expect(first.controller.createTopic({ name: 'x', numPartitions: 1, replicationFactor: 1 })).rejects.toMatchObject({ errorName: 'NOT_CONTROLLER' });
    // ...and a write fenced by its old epoch fails in etcd itself.
    const stale = new ControllerWriter(first.store, oldEpoch);
    await expect(stale.createTopic('x', { topicId: 'id', configs: {}, replicas: [[1]] }, [{ leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 }])).rejects.toBeInstanceOf(FencedControllerError);
    await expect(stale.swapPartition('x', 0, 0, { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 })).rejects.toBeInstanceOf(FencedControllerError);
    expect(await first.store.get(topicKey('x'), Records.topic)).toBeNull();
    // The new controller writes (once the old one has registered again as a plain broker).
    await waitFor('the deposed broker registered again', () => (first.session.leaseAlive() && first.session.registration()!.leaseId !== oldLease ? true : undefined));
    await second.controller.createTopic({ name: 'x', numPartitions: 1, replicationFactor: 2 });
    expect(await partitionState(second.store, 'x', 0)).toMatchObject({ leaderEpoch: 0, partitionEpoch: 0 });
  });

  it('creates topics with balanced placement and deletes them; bad requests get typed errors', async () => {
    const { byId } = await startCluster([1, 2, 3]);
    const c = await activeController(byId);
    const { replicas } = await c.controller.createTopic({ name: 'orders', numPartitions: 12, replicationFactor: 3 });
    const leaders = new Map<number, number>();
    for (let p = 0; p < 12; p++) {
      const state = await partitionState(c.store, 'orders', p);
      expect(state).toEqual({ leader: replicas[p]![0], leaderEpoch: 0, isr: replicas[p], partitionEpoch: 0 });
      leaders.set(state!.leader, (leaders.get(state!.leader) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([4, 4, 4]);
    const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: RillError) => e.errorName);
    expect(await code(c.controller.createTopic({ name: 'orders', numPartitions: 1, replicationFactor: 1 }))).toBe('TOPIC_ALREADY_EXISTS');
    expect(await code(c.controller.createTopic({ name: 'big', numPartitions: 1, replicationFactor: 4 }))).toBe('INVALID_REPLICATION_FACTOR');
    expect(await code(c.controller.createTopic({ name: 'bad/name', numPartitions: 1, replicationFactor: 1 }))).toBe('INVALID_TOPIC_EXCEPTION');
    // More partitions than one etcd transaction holds.
    await c.controller.createTopic({ name: 'wide', numPartitions: 250, replicationFactor: 1 });
    expect(await partitionState(c.store, 'wide', 249)).toMatchObject({ leaderEpoch: 0 });
    await c.controller.deleteTopic('orders');
    expect(await c.store.get(topicKey('orders'), Records.topic)).toBeNull();
    expect((await c.store.list('partitions/orders/', Records.partition)).records).toHaveLength(0);
    expect(await code(c.controller.deleteTopic('orders'))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('moves leadership to the ISR when a broker dies; a partition whose ISR is all down goes offline until one returns', async () => {
    const { clusterId, byId } = await startCluster([1, 2, 3]);
    const c = await activeController(byId);
    await c.controller.createTopic({ name: 't', numPartitions: 3, replicationFactor: 2, replicaAssignment: [[2, 1], [1, 3], [3, 2]] });
    await c.controller.createTopic({ name: 'pair', numPartitions: 1, replicationFactor: 2, replicaAssignment: [[2, 3]] });
    const store = c.store;
    const expectState = (topic: string, p: number, want: PartitionState): Promise<unknown> =>
      waitFor(`${topic}/${p} = ${JSON.stringify(want)}`, async () => {
        const s = await partitionState(store, topic, p);
        return JSON.stringify(s) === JSON.stringify(want) ? true : undefined;
      });

    await stopNode(byId, 3);
    await activeController(byId);
    await expectState('t', 1, { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 1 });
    await expectState('t', 2, { leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 1 });
    await expectState('pair', 0, { leader: 2, leaderEpoch: 0, isr: [2], partitionEpoch: 1 });

    await stopNode(byId, 2);
    await activeController(byId);
    await expectState('t', 0, { leader: 1, leaderEpoch: 1, isr: [1], partitionEpoch: 1 });
    await expectState('t', 2, { leader: -1, leaderEpoch: 2, isr: [2], partitionEpoch: 2 });
    await expectState('pair', 0, { leader: -1, leaderEpoch: 1, isr: [2], partitionEpoch: 2 });

    // Broker 3 comes back: not in those ISRs, so unclean election being off, they stay offline.
    const three = await startNode(etcd, clusterId, 3);
    nodes.push(three);
    byId.set(3, three);
    await (await activeController(byId)).controller.settled();
    expect(await partitionState(store, 'pair', 0)).toEqual({ leader: -1, leaderEpoch: 1, isr: [2], partitionEpoch: 2 });

    const two = await startNode(etcd, clusterId, 2);
    nodes.push(two);
    byId.set(2, two);
    await expectState('t', 2, { leader: 2, leaderEpoch: 3, isr: [2], partitionEpoch: 3 });
    await expectState('pair', 0, { leader: 2, leaderEpoch: 2, isr: [2], partitionEpoch: 3 });
  });

  it('elects with unclean election when a topic enables it', async () => {
    const { byId } = await startCluster([1, 2]);
    const c = await activeController(byId);
    await c.controller.createTopic({ name: 'dirty', numPartitions: 1, replicationFactor: 2, replicaAssignment: [[2, 1]], configs: { 'unclean.leader.election.enable': 'true' } });
    // Only 2 in the ISR (as after 1 fell behind), then 2 dies: 1 is elected although out of sync.
    const kv = (await c.store.get(partitionKey('dirty', 0), Records.partition))!;
    await new ControllerWriter(c.store, c.controller.activeEpoch()!).swapPartition('dirty', 0, kv.modRevision, { ...kv.value, isr: [2], partitionEpoch: 1 });
    await stopNode(byId, 2);
    await waitFor('unclean leader 1', async () => ((await partitionState(c.store, 'dirty', 0))?.leader === 1 ? true : undefined));
    expect(await partitionState(c.store, 'dirty', 0)).toEqual({ leader: 1, leaderEpoch: 1, isr: [1], partitionEpoch: 2 });
  });

  it('elects unclean leaders on demand: out of the ISR when no ISR member lives, not needed with a leader, not available with no live replica', async () => {
    // Unclean election is off (the default): only the on-demand election may elect outside the ISR.
    const { byId } = await startCluster([1, 2, 3]);
    let c = await activeController(byId);
    await c.controller.createTopic({ name: 'u', numPartitions: 3, replicationFactor: 2, replicaAssignment: [[2, 1], [1, 3], [2]] });
    // Only 2 in the ISR of u/0 (as after 1 fell behind).
    const kv = (await c.store.get(partitionKey('u', 0), Records.partition))!;
    await new ControllerWriter(c.store, c.controller.activeEpoch()!).swapPartition('u', 0, kv.modRevision, { ...kv.value, isr: [2], partitionEpoch: 1 });
    const store = c.store;
    await stopNode(byId, 2);
    await waitFor('u/0 and u/2 offline', async () => {
      const [s0, s2] = [await partitionState(store, 'u', 0), await partitionState(store, 'u', 2)];
      return s0?.leader === -1 && s2?.leader === -1 ? true : undefined;
    });
    c = await activeController(byId);
    await c.controller.settled();
    expect(await partitionState(store, 'u', 0)).toEqual({ leader: -1, leaderEpoch: 1, isr: [2], partitionEpoch: 2 });
    // A broker that is not the controller refuses.
    const other = [...byId.values()].find((n) => n !== c)!;
    await expect(other.controller.electUncleanLeaders([{ topic: 'u', partition: 0 }])).rejects.toMatchObject({ errorName: 'NOT_CONTROLLER' });

    const results = await c.controller.electUncleanLeaders([{ topic: 'u', partition: 0 }, { topic: 'u', partition: 1 }, { topic: 'u', partition: 2 }, { topic: 'u', partition: 9 }, { topic: 'nope', partition: 0 }]);
    expect(results.map((r) => `${r.topic}/${r.partition}:${r.outcome}`)).toEqual(['u/0:elected', 'u/1:not-needed', 'u/2:not-available', 'u/9:unknown-partition', 'nope/0:unknown-partition']);
    // 1 leads although it was out of the ISR, and is the whole ISR; both epochs bumped.
    expect(await partitionState(store, 'u', 0)).toEqual({ leader: 1, leaderEpoch: 2, isr: [1], partitionEpoch: 3 });
    expect(await partitionState(store, 'u', 2)).toEqual({ leader: -1, leaderEpoch: 1, isr: [2], partitionEpoch: 1 });
    // Every partition (none named): only u/2 still has no leader, and none can be elected.
    const all = await c.controller.electUncleanLeaders();
    expect(all.map((r) => `${r.topic}/${r.partition}:${r.outcome}`).sort()).toEqual(['u/0:not-needed', 'u/1:not-needed', 'u/2:not-available']);
    // The controller's reconciliation keeps the new state (unclean election stays off otherwise).
    await c.controller.settled();
    expect(await partitionState(store, 'u', 0)).toEqual({ leader: 1, leaderEpoch: 2, isr: [1], partitionEpoch: 3 });
  });

  it('moves leadership back to the preferred replica on demand and when imbalanced', async () => {
    const { byId } = await startCluster([1, 2]);
    const c = await activeController(byId);
    await c.controller.createTopic({ name: 'p', numPartitions: 2, replicationFactor: 2, replicaAssignment: [[1, 2], [2, 1]] });
    const epoch = c.controller.activeEpoch()!;
    const writer = new ControllerWriter(c.store, epoch);
    // As after a failover: 2 leads partition 0, and 1 is back in the ISR (the leader re-added it).
    const kv = (await c.store.get(partitionKey('p', 0), Records.partition))!;
    await writer.swapPartition('p', 0, kv.modRevision, { leader: 2, leaderEpoch: 1, isr: [2, 1], partitionEpoch: 1 });
    const results = await c.controller.electPreferredLeaders([{ topic: 'p', partition: 0 }, { topic: 'p', partition: 1 }, { topic: 'p', partition: 7 }]);
    expect(results.map((r) => r.outcome)).toEqual(['elected', 'not-needed', 'unknown-partition']);
    expect(await partitionState(c.store, 'p', 0)).toEqual({ leader: 1, leaderEpoch: 2, isr: [2, 1], partitionEpoch: 2 });
    // Preferred replica out of the ISR: not available.
    const kv2 = (await c.store.get(partitionKey('p', 0), Records.partition))!;
    await writer.swapPartition('p', 0, kv2.modRevision, { leader: 2, leaderEpoch: 3, isr: [2], partitionEpoch: 3 });
    expect((await c.controller.electPreferredLeaders([{ topic: 'p', partition: 0 }]))[0]!.outcome).toBe('not-available');
    // The periodic check (auto.leader.rebalance.enable) elects once 1 is in sync again.
    const kv3 = (await c.store.get(partitionKey('p', 0), Records.partition))!;
    await writer.swapPartition('p', 0, kv3.modRevision, { leader: 2, leaderEpoch: 3, isr: [2, 1], partitionEpoch: 4 });
    expect((await c.controller.rebalanceImbalanced()).map((r) => r.outcome)).toEqual(['elected']);
    expect((await partitionState(c.store, 'p', 0))?.leader).toBe(1);
  });

  it('with auto.leader.rebalance.enable, moves leadership back on its own every check interval', async () => {
    const { byId } = await startCluster([1, 2], { autoLeaderRebalanceEnable: true, leaderImbalanceCheckIntervalMs: 200 });
    const c = await activeController(byId);
    await c.controller.createTopic({ name: 'auto', numPartitions: 1, replicationFactor: 2, replicaAssignment: [[1, 2]] });
    const kv = (await c.store.get(partitionKey('auto', 0), Records.partition))!;
    await new ControllerWriter(c.store, c.controller.activeEpoch()!).swapPartition('auto', 0, kv.modRevision, { leader: 2, leaderEpoch: 1, isr: [2, 1], partitionEpoch: 1 });
    await waitFor('1 leads auto/0 again', async () => ((await partitionState(c.store, 'auto', 0))?.leader === 1 ? true : undefined));
    expect(await partitionState(c.store, 'auto', 0)).toEqual({ leader: 1, leaderEpoch: 2, isr: [2, 1], partitionEpoch: 2 });
  });

  it('re-elects the partitions of a leader that lost its lease and registered again', async () => {
    const { byId } = await startCluster([1, 2]);
    const c = await activeController(byId);
    await c.controller.createTopic({ name: 'b', numPartitions: 1, replicationFactor: 2, replicaAssignment: [[2, 1]] });
    const two = byId.get(2)!;
    const old = two.session.registration()!;
    await two.store.client.leaseClient.leaseRevoke({ ID: old.leaseId });
    await waitFor('1 leads b/0 after 2 bounced', async () => ((await partitionState(c.store, 'b', 0))?.leader === 1 ? true : undefined));
    expect(await partitionState(c.store, 'b', 0)).toMatchObject({ leader: 1, leaderEpoch: 1 });
  });

  it('hands out disjoint producer-id blocks to concurrent allocators', async () => {
    const a = new ProducerIdBlockAllocator(etcd.store('pids'), 1000);
    const b = new ProducerIdBlockAllocator(etcd.store('pids'), 1000);
    const blocks = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).nextBlock()));
    const starts = blocks.map((x) => x.firstProducerId).sort((x, y) => x - y);
    expect(starts).toEqual(Array.from({ length: 40 }, (_, i) => i * 1000));
    for (const x of blocks) expect(x.endProducerId - x.firstProducerId).toBe(1000);
  });
});
