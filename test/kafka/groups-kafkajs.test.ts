/**
 * Classic consumer groups with clients nobody here wrote, over the Kafka listener:
 *  - a KafkaJS group of three child processes that rebalances when one leaves (LeaveGroup) and
 *    when one is SIGKILLed (session expiry), with its commits shown by `rill groups describe`;
 *  - KafkaJS admin.fetchOffsets, setOffsets and resetOffsets on the stopped group;
 *  - `kcat -G` consuming as a balanced group and committing.
 * `rill` runs from dist/ (built by `npm test`'s pretest).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.js';
import { collect, rill } from '../integration/cli-run.js';
import { waitFor } from '../integration/harness.js';

const { Kafka, logLevel } = kafkajs;
const MEMBER = join(dirname(fileURLToPath(import.meta.url)), 'groups-member.mjs');
const TOPIC = 'orders';
const PARTITIONS = 6;

let dir: string;
let broker: BrokerHandle | null = null;
const children: ChildProcessWithoutNullStreams[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rill-kafka-groups-'));
  broker = await startBroker({
    dataDir: dir,
    port: 0,
    kafkaPort: 0,
    logger: pino({ level: 'silent' }),
    'offsets.topic.num.partitions': 4,
    'group.initial.rebalance.delay.ms': 300,
    'group.min.session.timeout.ms': 1000,
  });
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await broker?.close();
  broker = null;
  await rm(dir, { recursive: true, force: true });
});

function kafkaBroker(): string {
  return `127.0.0.1:${broker!.kafkaPort}`;
}

function client() {
  return new Kafka({ clientId: 'test', brokers: [kafkaBroker()], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
}

/** A child-process member and what it reported. */
class Member {
  readonly child: ChildProcessWithoutNullStreams;
  assignment: number[] | null = null;
  joins = 0;
  readonly consumed = new Set<string>();
  readonly exited: Promise<number | null>;

  constructor(groupId: string) {
    this.child = spawn(process.execPath, [MEMBER, kafkaBroker(), groupId, TOPIC], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(this.child);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const e = JSON.parse(line) as { event: string; assignment?: Record<string, number[]>; partition?: number; offset?: string };
      if (e.event === 'joined') {
        this.joins++;
        this.assignment = [...(e.assignment?.[TOPIC] ?? [])].sort((a, b) => a - b);
      } else if (e.event === 'message') this.consumed.add(`${e.partition}:${e.offset}`);
    });
  }
}

/** True when `members` hold every partition between them, each exactly once, `each` apiece. */
function balanced(members: Member[], each: number): boolean {
  const all = members.flatMap((m) => m.assignment ?? []);
  return members.every((m) => m.assignment?.length === each) && new Set(all).size === PARTITIONS && all.length === PARTITIONS;
}

async function produce(count: number): Promise<void> {
  const producer = client().producer();
  await producer.connect();
  await producer.send({ topic: TOPIC, messages: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await producer.disconnect();
}

/** `rill groups describe` rows: partition → committed offset. */
async function describedOffsets(groupId: string): Promise<{ state: string; offsets: Map<number, number> }> {
  const res = await rill(['groups', 'describe', groupId, '--brokers', `127.0.0.1:${broker!.port}`]);
  expect(res.code, res.stderr).toBe(0);
  const state = /State: (\S+)/.exec(res.stdout)![1]!;
  const offsets = new Map<number, number>();
  for (const line of res.stdout.split('\n')) {
    const cells = line.trim().split(/\s+/);
    if (cells[1] === TOPIC && cells[3] !== '-') offsets.set(Number(cells[2]), Number(cells[3]));
  }
  return { state, offsets };
}

describe('classic groups with KafkaJS and kcat', () => {
  it('a KafkaJS group of three rebalances on a leave and on a SIGKILL; commits show in rill groups describe; admin resets the stopped group', async () => {
    const admin = client().admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
      await produce(60);

      const members = [new Member('shop'), new Member('shop'), new Member('shop')];
      await waitFor(() => balanced(members, 2), 30_000, 'three members with two partitions each');
      await waitFor(() => members.reduce((n, m) => n + m.consumed.size, 0) >= 60, 30_000, 'all 60 records consumed');
      await waitFor(async () => [...(await describedOffsets('shop')).offsets.values()].reduce((a, b) => a + b, 0) === 60, 15_000, 'commits of all 60 records');
      expect((await describedOffsets('shop')).state).toBe('stable');

      // One leaves cleanly (LeaveGroup): the other two split the six partitions.
      const [leaver, victim, survivor] = members as [Member, Member, Member];
      leaver.child.kill('SIGTERM');
      expect(await leaver.exited).toBe(0);
      await waitFor(() => balanced([victim, survivor], 3), 30_000, 'two members with three partitions each');

      // One is killed: its session expires (3 s) and the survivor gets everything.
      victim.child.kill('SIGKILL');
      await waitFor(() => balanced([survivor], 6), 30_000, 'the survivor holding all six partitions');
      await produce(12);
      await waitFor(() => survivor.consumed.size >= 12, 30_000, 'the survivor consuming the new records');
      await waitFor(async () => [...(await describedOffsets('shop')).offsets.values()].reduce((a, b) => a + b, 0) === 72, 15_000, 'commits of all 72 records');

      survivor.child.kill('SIGTERM');
      expect(await survivor.exited).toBe(0);
      await waitFor(async () => (await describedOffsets('shop')).state === 'empty', 10_000, 'the group to be empty');

      // KafkaJS admin on the stopped group.
      const fetched = await admin.fetchOffsets({ groupId: 'shop', topics: [TOPIC] });
      expect(fetched[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(72);
      await admin.setOffsets({ groupId: 'shop', topic: TOPIC, partitions: [{ partition: 0, offset: '1' }] });
      const afterSet = await admin.fetchOffsets({ groupId: 'shop', topics: [TOPIC] });
      expect(afterSet[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('1');
      await admin.resetOffsets({ groupId: 'shop', topic: TOPIC, earliest: true });
      const { offsets } = await describedOffsets('shop');
      expect([...offsets.values()]).toEqual(new Array(PARTITIONS).fill(0));

      // `rill groups reset-offsets --execute` on the stopped classic group, seen by KafkaJS.
      const reset = await rill(['groups', 'reset-offsets', '--group', 'shop', '--topic', TOPIC, '--to-latest', '--execute', '--brokers', `127.0.0.1:${broker!.port}`]);
      expect(reset.code, reset.stderr).toBe(0);
      const latest = await admin.fetchOffsets({ groupId: 'shop', topics: [TOPIC] });
      expect(latest[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(72);
    } finally {
      await admin.disconnect();
    }
  }, 180_000);

  it('kcat -G consumes as a balanced group and commits what it read', async () => {
    const admin = client().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] });
    await admin.disconnect();
    await produce(30);
    // Not spawnSync: the broker runs in this process and must keep answering.
    const kcatChild = spawn(
      'kcat',
      ['-b', kafkaBroker(), '-G', 'kc', TOPIC, '-o', 'beginning', '-e', '-q', '-f', '%p %o\\n', '-X', 'session.timeout.ms=6000', '-X', 'auto.offset.reset=earliest'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.push(kcatChild);
    const kcat = await collect(kcatChild, 'kcat -G', '', 60_000);
    expect(kcat.code, kcat.stderr).toBe(0);
    expect(kcat.stdout.trim().split('\n')).toHaveLength(30);
    await waitFor(async () => [...(await describedOffsets('kc')).offsets.values()].reduce((a, b) => a + b, 0) === 30, 15_000, "kcat's commits");
  }, 90_000);
});
