/**
 * Consumer groups in a cluster (three in-process brokers on a real etcd): a two-member group
 * keeps consuming from its last commits when the broker coordinating it is closed; `rill
 * groups reset-offsets --execute` (the compiled CLI, a child process) against the cluster makes
 * the group replay; admin listGroups finds groups coordinated by different brokers, and
 * describeGroup / fetchOffsets reach each group's coordinator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Consumer, Rill } from '../../client/index.js';
import { coordinatorOf } from '../helpers/coordinator.js';
import { ClusterEnv, type ClusterBroker } from '../cluster/broker-harness.js';
import { waitFor } from '../cluster/etcd.js';
import { rill as runCli } from '../integration/cli-run.js';

const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 300 };
const GROUPS = { 'group.consumer.heartbeat.interval.ms': 100, 'group.consumer.session.timeout.ms': 3_000, 'offsets.topic.num.partitions': 6 };


async function committedTotal(rill: Rill, groupId: string, topic: string): Promise<number> {
  const [t] = await rill.admin({ retry: RETRY }).fetchOffsets(groupId, [topic]);
  return t!.partitions.reduce((sum, p) => sum + (p.offset ?? 0), 0);
}

describe('consumer groups in a cluster', () => {
  let env: ClusterEnv;
  afterEach(() => env.cleanup(), 60_000);

  async function cluster(): Promise<ClusterBroker[]> {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3, GROUPS);
    await waitFor('a controller', () => brokers[0]!.runtime.controllerId() ?? undefined);
    return brokers;
  }

  it('a two-member group (bootstrapped from its coordinator alone) keeps consuming from its last commits when that broker is closed; reset-offsets --execute replays', async () => {
    const brokers = await cluster();
    await brokers[0]!.runtime.createTopic({ name: 'work', numPartitions: 4, replicationFactor: 3 });
    const rill = env.client(brokers.map((b) => b.port));
    const producer = rill.producer({ acks: 'all', lingerMs: 0, retry: RETRY });
    const produce = async (from: number, to: number) => {
      for (let i = from; i < to; i++) await producer.send({ topic: 'work', messages: [{ key: `k${i % 8}`, value: `v${i}` }] });
    };
    await produce(0, 40);

    // The members bootstrap from the coordinator's broker alone: after it goes, they must find
    // the new coordinator through the brokers they learned since.
    const coordinator = await coordinatorOf(brokers[0]!.port, 'followers');
    const memberClient = env.client([env.brokers.get(coordinator)!.port]);
    const seen: string[] = [];
    const members: Consumer[] = [];
    const runs: Array<Promise<void>> = [];
    for (let m = 0; m < 2; m++) {
      const c = memberClient.consumer({ groupId: 'followers', fromBeginning: true, autoCommitIntervalMs: 100, maxWaitMs: 100, retry: RETRY });
      await c.subscribe(['work']);
      runs.push(c.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) }));
      members.push(c);
    }
    await waitFor('the first 40 read', () => (seen.length >= 40 ? true : undefined), 20_000);
    await waitFor('the first 40 committed', async () => ((await committedTotal(rill, 'followers', 'work')) === 40 ? true : undefined), 10_000);
    const before = seen.length;

    expect(await coordinatorOf(brokers[0]!.port, 'followers')).toBe(coordinator);
    await env.stop(coordinator);
    const live = [...env.brokers.values()];
    await waitFor('the coordinator moved', async () => {
      const now = await coordinatorOf(live[0]!.port, 'followers').catch(() => coordinator);
      return now !== coordinator ? now : undefined;
    });
    await produce(40, 80);
    await waitFor('the next 40 read', () => (new Set(seen).size >= 80 ? true : undefined), 30_000);
    await waitFor('the next 40 committed', async () => ((await committedTotal(rill, 'followers', 'work').catch(() => 0)) === 80 ? true : undefined), 15_000);
    // Nothing lost; the records committed before the move are not delivered again, and the rest
    // at least once (a member may re-read what it had not committed when its partition moved).
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: 80 }, (_, i) => `v${i}`)));
    for (const v of seen.slice(0, before)) expect(seen.filter((x) => x === v)).toHaveLength(1);

    for (const c of members) await c.close();
    await Promise.all(runs);

    // The CLI resets the (now empty) group to the start against the cluster; the group replays.
    const bootstrap = live.map((b) => `127.0.0.1:${b.port}`).join(',');
    const reset = await runCli(['groups', 'reset-offsets', '--group', 'followers', '--topic', 'work', '--to-earliest', '--execute', '--brokers', bootstrap], undefined, 30_000);
    expect(reset.stderr).toBe('');
    expect(reset.code).toBe(0);
    expect(await committedTotal(rill, 'followers', 'work')).toBe(0);
    const replayed: string[] = [];
    const again = rill.consumer({ groupId: 'followers', autoCommitIntervalMs: 100, maxWaitMs: 100, retry: RETRY });
    await again.subscribe(['work']);
    const run = again.run({ eachMessage: async ({ message }) => void replayed.push(message.value!.toString()) });
    await waitFor('the replay', () => (replayed.length >= 80 ? true : undefined), 20_000);
    await again.close();
    await run;
    expect(new Set(replayed).size).toBe(80);
  }, 120_000);

  it('admin listGroups finds groups coordinated by different brokers; describe and offsets reach each coordinator', async () => {
    const brokers = await cluster();
    await brokers[0]!.runtime.createTopic({ name: 'lg', numPartitions: 2, replicationFactor: 3 });
    const rill = env.client(brokers.map((b) => b.port));
    await rill.producer({ acks: 'all', lingerMs: 0, retry: RETRY }).send({ topic: 'lg', messages: [{ value: 'a' }, { value: 'b' }] });
    const admin = rill.admin({ retry: RETRY });
    // Groups until two different coordinators hold some (six __consumer_offsets partitions over three brokers).
    const coordinators = new Map<string, number>();
    for (let i = 0; i < 12 && new Set(coordinators.values()).size < 2; i++) {
      const groupId = `lg-${i}`;
      const result = await admin.resetOffsets({ groupId, topics: [{ topic: 'lg' }], strategy: { toLatest: true }, execute: true });
      expect(result.executed).toBe(true);
      coordinators.set(groupId, await coordinatorOf(brokers[0]!.port, groupId));
    }
    expect(new Set(coordinators.values()).size).toBeGreaterThanOrEqual(2);
    const listed = (await admin.listGroups()).map((g) => g.groupId);
    for (const groupId of coordinators.keys()) {
      expect(listed).toContain(groupId);
      const [offsets] = await admin.fetchOffsets(groupId, ['lg']);
      expect(offsets!.partitions.map((p) => p.offset).reduce((a, b) => a! + b!, 0)).toBe(2);
      const d = await admin.describeGroup(groupId);
      expect(d.members).toEqual([]);
      expect(d.partitions).toHaveLength(2);
    }
  }, 90_000);
});
