/**
 * Controlled shutdown, in process on a real etcd: the controller's rules for a broker whose
 * registration says `shuttingDown` (pure functions), a closing broker that is also the
 * controller (its leaderships and ISR places go while it still watches, then another broker
 * is elected controller), a partition no one else can lead (it keeps its leader and the close
 * does not wait out the timeout), and `controlled.shutdown.enable=false` (today's behaviour:
 * the broker never sees its leaderships move before it is gone).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NO_LEADER, type PartitionState } from '../../broker/cluster/schemas.js';
import { electPreferred, leaderCannotHandOver, reconcilePartition } from '../../broker/cluster/leader-election.js';
import { leadershipsToHandOver } from '../../broker/cluster-runtime-shutdown.js';
import { ClusterEnv, type ClusterBroker } from './broker-harness.js';
import { waitFor } from './etcd.js';

const st = (leader: number, isr: number[], leaderEpoch = 3, partitionEpoch = 5): PartitionState => ({ leader, leaderEpoch, isr, partitionEpoch });
const live = (...ids: number[]): Map<number, number> => new Map(ids.map((id) => [id, 1]));
const part = (state: PartitionState, replicas = [1, 2, 3]) => ({ state, modRevision: 100, replicas });

describe('leader election with brokers in controlled shutdown', () => {
  it('moves a shutting-down leader to the first other live ISR member and drops it from the ISR', () => {
    expect(reconcilePartition(part(st(1, [1, 2, 3])), live(1, 2, 3), false, new Set([1]))).toEqual(st(2, [2, 3], 4, 6));
    // Assignment order decides, and a second broker shutting down is passed over too.
    expect(reconcilePartition(part(st(1, [1, 2, 3]), [1, 3, 2]), live(1, 2, 3), false, new Set([1, 3]))).toEqual(st(2, [2], 4, 6));
  });

  it('drops a shutting-down follower from the ISR without a leader change', () => {
    expect(reconcilePartition(part(st(1, [1, 2, 3])), live(1, 2, 3), false, new Set([3]))).toEqual(st(1, [1, 2], 3, 6));
  });

  it('keeps the leader when no other live ISR member exists, and says so', () => {
    expect(reconcilePartition(part(st(1, [1])), live(1, 2, 3), false, new Set([1]))).toBeNull();
    expect(leaderCannotHandOver(st(1, [1]), live(1, 2, 3), new Set([1]))).toBe(true);
    expect(leaderCannotHandOver(st(1, [1, 2]), live(1, 3), new Set([1]))).toBe(true); // 2 is dead
    expect(leaderCannotHandOver(st(1, [1, 2]), live(1, 2), new Set([1]))).toBe(false);
  });

  it('elects a shutting-down broker only when no other ISR member is live', () => {
    expect(reconcilePartition(part(st(NO_LEADER, [2, 3])), live(2, 3), false, new Set([2]))).toEqual(st(3, [3], 4, 6));
    expect(reconcilePartition(part(st(NO_LEADER, [2])), live(2, 3), false, new Set([2]))).toEqual(st(2, [2], 4, 6));
  });

  it('never hands preferred leadership back to a broker shutting down', () => {
    expect(electPreferred(part(st(2, [1, 2, 3])), live(1, 2, 3), new Set([1]))).toEqual({ outcome: 'not-available' });
  });
});

describe('controlled shutdown of a cluster broker', () => {
  let env: ClusterEnv;
  afterEach(async () => {
    await env.cleanup();
  }, 60_000);

  /** Polls broker `b`'s own view every few ms while `closing` runs; what it saw of `topic`. */
  async function watchWhileClosing(b: ClusterBroker, topic: string, partitions: number, closing: Promise<void>) {
    let done = false;
    void closing.finally(() => (done = true));
    let sawLeadershipsGone = false;
    let sawOutOfIsrs = false;
    while (!done) {
      const infos = Array.from({ length: partitions }, (_, p) => b.runtime.partition(topic, p)!);
      if (infos.every((i) => i.leader !== b.nodeId && i.leader >= 0)) sawLeadershipsGone = true;
      if (infos.every((i) => !i.isr.includes(b.nodeId))) sawOutOfIsrs = true;
      await new Promise((r) => setTimeout(r, 5));
    }
    await closing;
    return { sawLeadershipsGone, sawOutOfIsrs };
  }

  it('a closing controller hands its leaderships and ISR places over while it serves, then the controller role', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    await brokers[0]!.runtime.createTopic({ name: 'cs', numPartitions: 6, replicationFactor: 3 });
    await waitFor('every partition with a leader', () => (brokers.every((b) => [0, 1, 2, 3, 4, 5].every((p) => (b.runtime.partition('cs', p)?.leader ?? -1) >= 0)) ? true : undefined));
    const controllerId = brokers[0]!.runtime.controllerId()!;
    const victim = env.brokers.get(controllerId)!;
    const led = leadershipsToHandOver(victim.runtime.view.cache, victim.nodeId);
    expect(led.length).toBeGreaterThan(0);
    env.brokers.delete(victim.nodeId);
    const seen = await watchWhileClosing(victim, 'cs', 6, victim.close());
    expect(seen).toEqual({ sawLeadershipsGone: true, sawOutOfIsrs: true });
    const others = brokers.filter((b) => b !== victim);
    const next = await waitFor('another controller', () => {
      const id = others[0]!.runtime.controllerId();
      return id !== null && id !== victim.nodeId ? id : undefined;
    }, 10_000);
    expect(others.map((b) => b.nodeId)).toContain(next);
    for (let p = 0; p < 6; p++) expect(others[0]!.runtime.partition('cs', p)!.leader).not.toBe(victim.nodeId);
  }, 60_000);

  it('a partition no one else can lead keeps its leader, and the close does not wait out the timeout', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(2, { 'controlled.shutdown.timeout.ms': 120_000 });
    const victim = brokers[1]!;
    await brokers[0]!.runtime.createTopic({ name: 'solo', numPartitions: 1, replicationFactor: 1, replicaAssignment: [[victim.nodeId]] });
    await brokers[0]!.runtime.createTopic({ name: 'pair', numPartitions: 1, replicationFactor: 2, replicaAssignment: [[victim.nodeId, brokers[0]!.nodeId]] });
    await waitFor('pair in sync', () => (victim.runtime.partition('pair', 0)?.isr.length === 2 && victim.runtime.localRole('pair', 0).role === 'leader' ? true : undefined), 10_000);
    env.brokers.delete(victim.nodeId);
    const closing = victim.close();
    let soloKept = false;
    let pairMoved = false;
    let done = false;
    void closing.finally(() => (done = true));
    while (!done) {
      pairMoved ||= victim.runtime.partition('pair', 0)!.leader === brokers[0]!.nodeId;
      soloKept ||= pairMoved && victim.runtime.partition('solo', 0)!.leader === victim.nodeId;
      await new Promise((r) => setTimeout(r, 5));
    }
    await closing; // well within the 60 s test timeout, against a 120 s controlled-shutdown timeout
    expect({ pairMoved, soloKept }).toEqual({ pairMoved: true, soloKept: true });
  }, 60_000);

  it('controlled.shutdown.enable=false: the lease goes first, the broker never sees its leaderships move', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3, { 'controlled.shutdown.enable': false });
    await brokers[0]!.runtime.createTopic({ name: 'off', numPartitions: 3, replicationFactor: 3 });
    await waitFor('every partition with a leader', () => (brokers.every((b) => [0, 1, 2].every((p) => (b.runtime.partition('off', p)?.leader ?? -1) >= 0)) ? true : undefined));
    const victim = brokers.find((b) => leadershipsToHandOver(b.runtime.view.cache, b.nodeId).length > 0)!;
    env.brokers.delete(victim.nodeId);
    const seen = await watchWhileClosing(victim, 'off', 3, victim.close());
    expect(seen.sawLeadershipsGone).toBe(false);
    const other = brokers.find((b) => b !== victim)!;
    await waitFor('new leaders once the lease is gone', () => ([0, 1, 2].every((p) => { const l = other.runtime.partition('off', p)!.leader; return l >= 0 && l !== victim.nodeId; }) ? true : undefined), 10_000);
  }, 60_000);
});
