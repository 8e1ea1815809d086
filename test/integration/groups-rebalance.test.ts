/**
 * Rebalances under load: partitions move between live members without ever being held by two
 * at once (ownership recorded from onAssign/onRevoke, which bracket consumption), and a member
 * killed with SIGKILL (a child process) is replaced after its session timeout by survivors
 * that resume from its last commit, so that duplicates come only from its uncommitted window.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer, ConsumerConfig, Rill } from '../../client/index.js';
import { FAST_GROUPS, committedOffsets, owned, range, sleep } from './fixtures/group-helpers.js';
import { TestEnv, waitFor } from './harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const MEMBER_SCRIPT = resolve(HERE, 'fixtures/group-member.mjs');
const CLIENT_DIST = resolve(HERE, '../../dist/client/index.js');
const PARTITIONS = 12;

beforeAll(() => {
  if (!existsSync(CLIENT_DIST)) throw new Error(`${CLIENT_DIST} is missing: run \`npm run build\` first (\`npm test\` does, via pretest)`);
});

/** Who holds which partition over time, from the members' onAssign/onRevoke. */
class OwnershipLog {
  readonly holder = new Map<number, string>();
  readonly violations: string[] = [];
  readonly intervals: Array<{ member: string; partition: number; from: number; to: number }> = [];
  private readonly open = new Map<string, number>();

  assigned(member: string, partitions: number[]): void {
    for (const p of partitions) {
      const h = this.holder.get(p);
      if (h !== undefined) this.violations.push(`partition ${p} assigned to ${member} while ${h} holds it`);
      this.holder.set(p, member);
      this.open.set(`${member}/${p}`, performance.now());
    }
  }

  revoked(member: string, partitions: number[]): void {
    for (const p of partitions) {
      if (this.holder.get(p) === member) this.holder.delete(p);
      else this.violations.push(`partition ${p} revoked from ${member}, which did not hold it`);
      const from = this.open.get(`${member}/${p}`);
      this.open.delete(`${member}/${p}`);
      if (from !== undefined) this.intervals.push({ member, partition: p, from, to: performance.now() });
    }
  }

  /** Pairs of ownership intervals of one partition that overlap (still-open ones run to now). */
  overlaps(): string[] {
    const all = [...this.intervals, ...[...this.open].map(([k, from]) => ({ member: k.split('/')[0]!, partition: Number(k.split('/')[1]), from, to: Number.POSITIVE_INFINITY }))];
    const out: string[] = [];
    for (const p of range(PARTITIONS)) {
      const list = all.filter((i) => i.partition === p).sort((a, b) => a.from - b.from);
      for (let i = 1; i < list.length; i++) {
        if (list[i]!.from < list[i - 1]!.to) out.push(`partition ${p}: ${list[i - 1]!.member} until ${list[i - 1]!.to}, ${list[i]!.member} from ${list[i]!.from}`);
      }
    }
    return out;
  }
}

interface Processed {
  member: string;
  partition: number;
  offset: number;
  atMs: number;
}

describe('consumer group rebalances', () => {
  const env = new TestEnv();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await env.cleanup();
  });

  async function setup(): Promise<{ rill: Rill; port: number }> {
    const broker = await env.broker(FAST_GROUPS);
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: PARTITIONS }] });
    return { rill, port: broker.port };
  }

  /** Produces one message to every partition every `everyMs` until stopped; resolves with how many per partition. */
  function produceSteadily(rill: Rill, everyMs: number, maxRounds: number): { stop: () => Promise<number[]> } {
    const producer = rill.producer({ lingerMs: 0 });
    const counts = range(PARTITIONS).map(() => 0);
    let stopped = false;
    const loop = (async () => {
      for (let round = 0; round < maxRounds && !stopped; round++) {
        await producer.send({ topic: 't', messages: range(PARTITIONS).map((partition) => ({ value: `r${round}`, partition })) });
        for (const p of range(PARTITIONS)) counts[p]!++;
        await sleep(everyMs);
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
        return counts;
      },
    };
  }

  function member(rill: Rill, name: string, log: OwnershipLog, processed: Processed[], extra: Partial<ConsumerConfig> = {}): { consumer: Consumer; running: Promise<void> } {
    const consumer = rill.consumer({
      groupId: 'g',
      fromBeginning: true,
      maxWaitMs: 100,
      autoCommitIntervalMs: 200,
      onAssign: async (tps) => {
        await sleep(2);
        log.assigned(name, tps.map((tp) => tp.partition));
      },
      onRevoke: async (tps) => {
        log.revoked(name, tps.map((tp) => tp.partition));
      },
      ...extra,
    });
    const ready = consumer.subscribe(['t']);
    const running = ready.then(() =>
      consumer.run({
        partitionsConsumedConcurrently: 2,
        eachMessage: async ({ partition, message }) => {
          if (log.holder.get(partition) !== name) log.violations.push(`${name} processed ${partition}@${message.offset} without holding it`);
          await sleep(1);
          processed.push({ member: name, partition, offset: message.offset, atMs: performance.now() });
        },
      }),
    );
    return { consumer, running };
  }

  it('three members over 12 partitions get 4 each; a fourth joining moves partitions without any being held twice', async () => {
    const { rill } = await setup();
    const log = new OwnershipLog();
    const processed: Processed[] = [];
    const load = produceSteadily(rill, 20, 400);
    const members = ['c1', 'c2', 'c3'].map((name) => member(rill, name, log, processed));
    await waitFor(() => members.every((m) => owned(m.consumer).length === 4), 15_000, '4 partitions each');
    expect(new Set(members.flatMap((m) => owned(m.consumer))).size).toBe(12);
    await sleep(200);

    members.push(member(rill, 'c4', log, processed));
    await waitFor(() => members.every((m) => owned(m.consumer).length === 3), 15_000, '3 partitions each');
    expect(new Set(members.flatMap((m) => owned(m.consumer))).size).toBe(12);
    await sleep(200);
    const counts = await load.stop();
    const total = counts.reduce((a, b) => a + b, 0);
    await waitFor(() => new Set(processed.map((p) => `${p.partition}/${p.offset}`)).size === total, 15_000, 'every message processed');
    for (const m of members) await m.consumer.stop();
    await Promise.all(members.map((m) => m.running));

    expect(log.violations).toEqual([]);
    expect(log.overlaps()).toEqual([]);
    // Each revocation committed what was processed and the next owner started there: no
    // message was handled twice, none was skipped.
    const byPartition = range(PARTITIONS).map((p) => processed.filter((x) => x.partition === p).map((x) => x.offset));
    for (const p of range(PARTITIONS)) expect(byPartition[p]).toEqual(range(counts[p]!));
    // The fourth member took partitions over from the others, so some did move.
    expect(new Set(processed.filter((x) => x.member === 'c4').map((x) => x.partition)).size).toBe(3);
  });

  it('a member killed with SIGKILL is replaced after its session timeout; survivors resume from its last commit', async () => {
    const { rill, port } = await setup();
    const producer = rill.producer();
    await producer.send({ topic: 't', messages: range(PARTITIONS * 5).map((i) => ({ value: `m${i}`, partition: i % PARTITIONS })) });

    const log = new OwnershipLog();
    const processed: Processed[] = [];
    const survivors = ['s1', 's2'].map((name) => member(rill, name, log, processed));
    await waitFor(() => survivors.every((m) => owned(m.consumer).length === 6), 15_000, '6 partitions each');

    // The victim: a separate process with a short session timeout and a slow handler.
    const child = spawn(
      process.execPath,
      [MEMBER_SCRIPT, JSON.stringify({ port, groupId: 'g', topic: 't', sessionTimeoutMs: 2_000, autoCommitIntervalMs: 300, handlerDelayMs: 10 })],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const victimProcessed: Array<{ partition: number; offset: number }> = [];
    const victimCommits = new Map<number, number>();
    const victimOwned = new Set<number>();
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as { event: string; partition: number; offset: number; assigned: number[]; revoked: number[]; offsets: Array<{ partition: number; offset: number }> };
        buffered = buffered.slice(nl + 1);
        if (line.event === 'processed') victimProcessed.push({ partition: line.partition, offset: line.offset });
        if (line.event === 'commit') for (const o of line.offsets) victimCommits.set(o.partition, o.offset);
        if (line.event === 'rebalance') {
          for (const p of line.assigned) victimOwned.add(p);
          for (const p of line.revoked) victimOwned.delete(p);
        }
      }
    });
    await waitFor(() => victimOwned.size === 4, 20_000, `the victim to own 4 partitions (stderr: ${stderr})`);
    expect(survivors.map((m) => owned(m.consumer).length)).toEqual([4, 4]);
    // A backlog for everyone: the victim (10 ms a message) is mid-stream when it dies.
    await producer.send({ topic: 't', messages: range(PARTITIONS * 60).map((i) => ({ value: `b${i}`, partition: i % PARTITIONS })) });
    await waitFor(() => victimCommits.size > 0 && victimProcessed.length >= 40, 20_000, `the victim to process and commit (stderr: ${stderr})`);
    const victimPartitions = [...victimOwned].sort((a, b) => a - b);

    child.kill('SIGKILL');
    const killedAt = performance.now();
    await new Promise((r) => child.once('exit', r));
    // A commit the victim wrote just before dying is still applied by the broker: let it land.
    await sleep(300);
    // Nobody commits the victim's partitions until a survivor owns them: this is its last commit.
    const lastCommits = await committedOffsets(port, 'g', 't', victimPartitions);

    await waitFor(() => new Set(survivors.flatMap((m) => owned(m.consumer))).size === 12, 15_000, 'the survivors to own all 12');
    // Not before the broker expelled it: only its session timeout freed the partitions.
    expect(performance.now() - killedAt).toBeGreaterThan(1_000);
    await producer.send({ topic: 't', messages: range(PARTITIONS * 5).map((i) => ({ value: `late${i}`, partition: i % PARTITIONS })) });
    const ends = (await rill.admin().fetchTopicOffsets('t')).sort((a, b) => a.partition - b.partition).map((p) => p.high);
    const all = new Set([...processed.map((p) => `${p.partition}/${p.offset}`), ...victimProcessed.map((p) => `${p.partition}/${p.offset}`)]);
    await waitFor(
      () => {
        for (const p of processed) all.add(`${p.partition}/${p.offset}`);
        return all.size === ends.reduce((a, b) => a + b, 0);
      },
      15_000,
      'every message processed at least once',
    );
    for (const m of survivors) await m.consumer.stop();
    await Promise.all(survivors.map((m) => m.running));

    expect(log.violations).toEqual([]);
    expect(log.overlaps()).toEqual([]);
    // The survivors picked each victim partition up exactly at its last commit.
    victimPartitions.forEach((p, i) => {
      const first = Math.min(...processed.filter((x) => x.partition === p && x.atMs > killedAt).map((x) => x.offset));
      expect(first).toBe(lastCommits[i]! >= 0 ? lastCommits[i] : 0);
    });
    // Duplicates: messages the victim processed past its last commit, and only those.
    const victimSeen = new Set(victimProcessed.map((p) => `${p.partition}/${p.offset}`));
    const survivorCounts = new Map<string, number>();
    for (const p of processed) survivorCounts.set(`${p.partition}/${p.offset}`, (survivorCounts.get(`${p.partition}/${p.offset}`) ?? 0) + 1);
    expect([...survivorCounts.values()].every((n) => n === 1)).toBe(true);
    const duplicates = [...survivorCounts.keys()].filter((k) => victimSeen.has(k)).map((k) => k.split('/').map(Number) as [number, number]);
    for (const [partition, offset] of duplicates) {
      const known = victimCommits.get(partition) ?? 0;
      expect(offset, `duplicate ${partition}/${offset} is before the victim's commit ${known}`).toBeGreaterThanOrEqual(known);
    }
    // The victim was mid-stream with commits every 300 ms and a 10 ms handler: it left some behind.
    expect(victimProcessed.length).toBeGreaterThan(0);
  });
});
