/**
 * Issue 9, with a real crash: a two-member consumer group on three broker child processes keeps
 * consuming, from its last commits, when the broker coordinating it is SIGKILLed (no clean
 * close, no LeaveGroup, no flushed state). Every record produced after the kill is read and
 * committed, nothing committed before the kill is delivered again (at-least-once only for what
 * was not committed), and once the killed broker is back on its data dir, `rill groups
 * describe` (the compiled CLI, a child process) against the cluster shows the group and its
 * commits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer, Rill } from '../../client/index.js';
import { coordinatorOf } from '../helpers/coordinator.js';
import { rill as runCli } from '../integration/cli-run.js';
import { ProcessCluster, waitFor } from './cluster-process.js';

const TOPIC = 'work';
const GROUP = 'survivors';
const PARTITIONS = 4;
const BATCH = 40;
const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 500 };
// Few __consumer_offsets partitions (quick to create and to fail over); members expelled quickly.
const SETTINGS = { 'offsets.topic.num.partitions': '6', 'group.consumer.heartbeat.interval.ms': '100', 'group.consumer.session.timeout.ms': '3000' };

interface Delivery {
  partition: number;
  offset: number;
  value: string;
}


/** Committed offsets of GROUP on TOPIC by partition (0: nothing committed yet). */
async function committed(rill: Rill): Promise<Map<number, number>> {
  const [t] = await rill.admin({ retry: RETRY }).fetchOffsets(GROUP, [TOPIC]);
  return new Map(t!.partitions.map((p) => [p.partition, p.offset ?? 0]));
}

const total = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('SIGKILL of the broker coordinating a consumer group', () => {
  const cluster = new ProcessCluster(SETTINGS);
  beforeAll(async () => {
    await cluster.start(3);
  }, 40_000);
  afterAll(() => cluster.cleanup(), 30_000);

  it('the group reads every later record from its last commits, and the restarted broker shows it', async () => {
    const rill = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 });
    await rill.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }] });
    for (let p = 0; p < PARTITIONS; p++) await cluster.waitPartition(rill, TOPIC, p, `${TOPIC}-${p} fully in sync`, (d) => d.leader >= 0 && d.isr.length === 3);
    const producer = rill.producer({ acks: 'all', lingerMs: 0, retry: RETRY });
    const produce = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) await producer.send({ topic: TOPIC, messages: [{ key: `k${i % 8}`, value: `v${i}` }] });
    };
    await produce(0, BATCH);

    // Both members bootstrap from all three brokers (the harness client's default).
    const memberClient = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 });
    const seen: Delivery[] = [];
    const members: Consumer[] = [];
    const runs: Array<Promise<void>> = [];
    for (let m = 0; m < 2; m++) {
      const c = memberClient.consumer({ groupId: GROUP, fromBeginning: true, autoCommitIntervalMs: 100, maxWaitMs: 100, sessionTimeoutMs: 3000, heartbeatIntervalMs: 100, retry: RETRY });
      await c.subscribe([TOPIC]);
      runs.push(c.run({ eachMessage: async ({ partition, message }) => void seen.push({ partition, offset: message.offset, value: message.value!.toString() }) }));
      members.push(c);
    }
    await waitFor('the first batch read', () => (new Set(seen.map((d) => d.value)).size >= BATCH ? true : undefined), 20_000);
    await waitFor('the first batch committed', async () => (total(await committed(rill)) === BATCH ? true : undefined), 10_000);
    // Nothing more is produced until after the kill, so these commits are the last before it.
    const committedAtKill = await committed(rill);
    expect(total(committedAtKill)).toBe(BATCH);

    const ports = [...cluster.brokers.values()].map((b) => b.port);
    const coordinator = await coordinatorOf(ports[0]!, GROUP);
    const seenAtKill = seen.length;
    await cluster.kill(coordinator);
    const live = [...cluster.brokers.values()];
    const moved = await waitFor(
      'another broker coordinating the group',
      async () => {
        const now = await coordinatorOf(live[0]!.port, GROUP).catch(() => coordinator);
        return now !== coordinator ? now : undefined;
      },
      15_000,
    );
    expect(live.map((b) => b.nodeId)).toContain(moved);

    await produce(BATCH, 2 * BATCH);
    const everything = Array.from({ length: 2 * BATCH }, (_, i) => `v${i}`);
    await waitFor('the second batch read', () => (new Set(seen.map((d) => d.value)).size >= 2 * BATCH ? true : undefined), 30_000);
    await waitFor('the second batch committed', async () => (total(await committed(rill).catch(() => new Map())) === 2 * BATCH ? true : undefined), 15_000);

    // Nothing lost; nothing below the offsets committed before the kill is delivered after it.
    expect(new Set(seen.map((d) => d.value))).toEqual(new Set(everything));
    const reread = seen.slice(seenAtKill).filter((d) => d.offset < (committedAtKill.get(d.partition) ?? 0));
    expect(reread, cluster.logs()).toEqual([]);
    const [topicNow] = await rill.admin().describeTopics({ topics: [TOPIC] });
    const ends = new Map(topicNow!.partitions.map((p) => [p.partition, p.logEndOffset]));
    expect(total(ends)).toBe(2 * BATCH);
    expect(await committed(rill)).toEqual(ends);

    // The killed broker comes back on its data dir; the group, still two members, is described
    // by the CLI against the whole cluster, with its commits at the log end.
    await cluster.startBroker(coordinator);
    for (let p = 0; p < PARTITIONS; p++) await cluster.waitPartition(rill, TOPIC, p, `broker ${coordinator} back in the ISR of ${TOPIC}-${p}`, (d) => d.isr.length === 3, 20_000);
    const bootstrap = [...cluster.brokers.values()].map((b) => `127.0.0.1:${b.port}`).join(',');
    const described = await runCli(['groups', 'describe', GROUP, '--brokers', bootstrap], undefined, 20_000);
    expect(described.stderr).toBe('');
    expect(described.code).toBe(0);
    expect(described.stdout).toContain(`Group: ${GROUP}  State: `);
    expect(described.stdout).toMatch(/Members: 2\n/);
    const rows = described.stdout.split('\n').filter((l) => l.startsWith(`${GROUP} `)).map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => [r[1], Number(r[2]), r[3] === '-' ? 0 : Number(r[3])])).toEqual([...ends].sort((a, b) => a[0] - b[0]).map(([p, end]) => [TOPIC, p, end]));

    for (const c of members) await c.close();
    await Promise.all(runs);
  }, 90_000);
});
