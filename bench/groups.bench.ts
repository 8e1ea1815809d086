/**
 * Consumer-group benchmark (issue 4): a broker process and consumer-member processes on
 * 127.0.0.1, all real (dist/broker/main.js, the SDK's group consumer in bench/groups/*.ts).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/run.js groups [--messages=N] [--runs=N] ...
 *   (options take the `--name=value` form: bench/run.ts reads bare words as benchmark names)
 *
 * 1. throughput  The parent preloads `--messages` values of `--value-bytes` over `--partitions`
 *                partitions. Then, for each group size in `--sizes` (default 1,2,4), a fresh
 *                group of that many consumer processes reads the topic from the beginning
 *                (`run({ eachMessage })`, or eachBatch with `--each=batch`); aggregate msgs/s
 *                from the start command to the moment every partition was read to its end
 *                (progress arrives every 50 ms). Sizes are interleaved across `--runs` so that
 *                noise spreads evenly; each run reports the duplicates (messages handled twice
 *                because a partition moved before its commit).
 * 2. failover    While the parent produces `--rate` msgs/s spread over the partitions, a group
 *                of `--failover-members` consumers is consuming; then one member is SIGKILLed
 *                (or, in the leave runs, closes cleanly) and the time from that moment to the
 *                first message a survivor handles of each of the member's partitions is
 *                measured (the slowest partition counts). The broker runs with a low
 *                `group.consumer.session.timeout.ms` (`--session-timeout-ms`, default 3000) and
 *                `group.consumer.heartbeat.interval.ms` (`--heartbeat-interval-ms`, 1000), and
 *                the members ask for the same.
 *
 * Every wait is bounded in time, every loop in count; every process is stopped at the end,
 * also on error or interruption. Medians are printed with all samples.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Rill } from '../client/index.js';
import type { EachMode } from './groups/common.js';
import { Member, ProcessGroup, startBrokerProcess, waitUntil } from './groups/processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const BROKER_MAIN = join(here, '..', 'broker', 'main.js');
const MEMBER_SCRIPT = join(here, 'groups', 'consumer.js');

const THROUGHPUT_TOPIC = 'groups-bench';
const LIVE_TOPIC = 'groups-live';
/** Live production during failover: one send() per tick, one message per partition. */
const LIVE_TICK_MS = 10;
const MAX_OUTSTANDING_SENDS = 64;
const START_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 15_000;

interface Options {
  messages: number;
  partitions: number;
  valueBytes: number;
  sizes: number[];
  runs: number;
  each: EachMode;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  failoverMembers: number;
  failoverRuns: number;
  rate: number;
  timeLimitS: number;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    allowPositionals: true,
    options: {
      messages: { type: 'string' },
      partitions: { type: 'string' },
      'value-bytes': { type: 'string' },
      sizes: { type: 'string' },
      runs: { type: 'string' },
      each: { type: 'string' },
      'session-timeout-ms': { type: 'string' },
      'heartbeat-interval-ms': { type: 'string' },
      'failover-members': { type: 'string' },
      'failover-runs': { type: 'string' },
      rate: { type: 'string' },
      'time-limit-s': { type: 'string' },
    },
  });
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = values[name];
    if (raw === undefined) return def;
    const n = Number(raw);
    if (typeof raw !== 'string' || !Number.isInteger(n) || n < min || n > max) throw new RangeError(`--${name} must be an integer in [${min}, ${max}], got ${String(raw)}`);
    return n;
  };
  const sizes = (typeof values.sizes === 'string' ? values.sizes : '1,2,4').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) throw new RangeError(`--sizes must list group sizes in [1, 16], got ${String(values.sizes)}`);
  const each = values.each ?? 'message';
  if (each !== 'message' && each !== 'batch') throw new RangeError(`--each must be message or batch, got ${String(each)}`);
  const o: Options = {
    messages: int('messages', 1_000_000, 1_000, 20_000_000),
    partitions: int('partitions', 12, 1, 1_000),
    valueBytes: int('value-bytes', 100, 1, 1 << 20),
    sizes,
    runs: int('runs', 3, 1, 20),
    each,
    sessionTimeoutMs: int('session-timeout-ms', 3_000, 1_000, 60_000),
    heartbeatIntervalMs: int('heartbeat-interval-ms', 1_000, 100, 30_000),
    failoverMembers: int('failover-members', 3, 2, 16),
    failoverRuns: int('failover-runs', 3, 0, 20),
    rate: int('rate', 1_200, 10, 100_000),
    timeLimitS: int('time-limit-s', 120, 5, 3_600),
  };
  if (o.failoverMembers > o.partitions) throw new RangeError('--failover-members must not exceed --partitions (each member needs a partition to lose)');
  if (o.heartbeatIntervalMs >= o.sessionTimeoutMs) throw new RangeError('--heartbeat-interval-ms must be below --session-timeout-ms');
  return o;
}

export default async function groupsBench(argv: string[]): Promise<void> {
  const o = options(argv);
  const group = new ProcessGroup();
  const dir = await mkdtemp(join(tmpdir(), 'rill-groups-bench-'));
  const rills: Rill[] = [];
  try {
    const configFile = join(dir, 'broker.json');
    await writeFile(
      configFile,
      JSON.stringify({ 'group.consumer.session.timeout.ms': o.sessionTimeoutMs, 'group.consumer.heartbeat.interval.ms': o.heartbeatIntervalMs }),
    );
    const broker = await startBrokerProcess(group, BROKER_MAIN, join(dir, 'data'), { args: ['--config', configFile] });
    const brokers = `127.0.0.1:${broker.port}`;
    const rill = new Rill({ brokers: [brokers], clientId: 'groups-bench', logger: pino({ level: 'warn' }, pino.destination(2)) });
    rills.push(rill);
    const admin = rill.admin();
    await admin.createTopics({ topics: [{ topic: THROUGHPUT_TOPIC, numPartitions: o.partitions }, { topic: LIVE_TOPIC, numPartitions: o.partitions }] });

    console.log(
      `machine: ${cpus().length} vCPU (${cpus()[0]?.model ?? '?'}), node ${process.version}; ${o.messages.toLocaleString('en-US')} x ${o.valueBytes}-byte values over ${o.partitions} partitions; ` +
        `each${o.each === 'batch' ? 'Batch' : 'Message'}; session timeout ${o.sessionTimeoutMs} ms, heartbeat interval ${o.heartbeatIntervalMs} ms`,
    );
    const preloadMs = await preload(rill, o);
    console.log(`preloaded in ${(preloadMs / 1000).toFixed(1)} s (${Math.round(o.messages / (preloadMs / 1000)).toLocaleString('en-US')} msgs/s)`);
    const ends = (await admin.fetchTopicOffsets(THROUGHPUT_TOPIC)).map((p) => p.high);

    // ---- 1. throughput -------------------------------------------------------------------
    const samples = new Map<number, ThroughputResult[]>();
    for (let run = 1; run <= o.runs; run++) {
      for (const size of o.sizes) {
        const r = await throughputRun(group, brokers, o, size, `tp-${size}-${run}`, ends);
        const list = samples.get(size) ?? [];
        list.push(r);
        samples.set(size, list);
        console.log(`  run ${run}, group of ${size}: ${Math.round(r.msgsPerSec).toLocaleString('en-US')} msgs/s, first message after ${r.firstMessageMs} ms, ${r.duplicates} duplicates, longest event-loop stall ${r.eventLoopMaxMs} ms`);
      }
    }
    console.log('\n| consumer processes | msgs/s (median) | MB/s | runs (msgs/s) | first message after (median) | duplicates |');
    console.log('|---:|---:|---:|---|---:|---:|');
    for (const size of o.sizes) {
      const list = samples.get(size)!;
      const med = median(list.map((s) => s.msgsPerSec));
      console.log(
        `| ${size} | ${Math.round(med).toLocaleString('en-US')} | ${((med * o.valueBytes) / 1e6).toFixed(1)} | ${list.map((s) => Math.round(s.msgsPerSec).toLocaleString('en-US')).join(', ')} | ${median(list.map((s) => s.firstMessageMs))} ms | ${list.map((s) => s.duplicates).join(', ')} |`,
      );
    }

    // ---- 2. failover ----------------------------------------------------------------------
    if (o.failoverRuns > 0) {
      const live = startLiveProducer(rill, o);
      try {
        const results: Record<'kill' | 'leave', Array<{ reassignedMs: number; consumedMs: number; moved: number }>> = { kill: [], leave: [] };
        for (let run = 1; run <= o.failoverRuns; run++) {
          for (const mode of ['kill', 'leave'] as const) {
            const r = await failoverRun(group, brokers, o, mode, `fo-${mode}-${run}`);
            results[mode].push(r);
            console.log(`  run ${run}, ${mode}: ${r.moved} partitions reassigned after ${r.reassignedMs} ms, consumed again after ${r.consumedMs} ms`);
          }
        }
        console.log(`\nlive production: ${live.sent().toLocaleString('en-US')} messages at ~${o.rate} msgs/s; ${o.failoverMembers} members, ${o.partitions} partitions`);
        console.log('| event | session timeout | heartbeat interval | until reassigned (median) | until consumed again (median) | runs (consumed, ms) |');
        console.log('|---|---:|---:|---:|---:|---|');
        for (const mode of ['kill', 'leave'] as const) {
          const list = results[mode];
          console.log(
            `| ${mode === 'kill' ? 'SIGKILL' : 'clean leave (close())'} | ${o.sessionTimeoutMs} ms | ${o.heartbeatIntervalMs} ms | ${median(list.map((r) => r.reassignedMs))} ms | ${median(list.map((r) => r.consumedMs))} ms | ${list.map((r) => r.consumedMs).join(', ')} |`,
          );
        }
      } finally {
        await live.stop();
      }
    }
  } finally {
    for (const r of rills) await r.close().catch(() => undefined);
    await group.stopAll();
    group.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Produces o.messages values round-robin over the partitions (acks=1, bounded outstanding sends); returns the ms it took. */
async function preload(rill: Rill, o: Options): Promise<number> {
  const producer = rill.producer({ acks: 1, idempotent: false, lingerMs: 5, batchBytes: 256 * 1024 });
  const value = Buffer.alloc(o.valueBytes, 0x61);
  const perSend = 1_000;
  const started = Date.now();
  const deadline = started + o.timeLimitS * 1000;
  const outstanding = new Set<Promise<unknown>>();
  for (let sent = 0; sent < o.messages; ) {
    if (Date.now() > deadline) throw new Error(`preload did not finish within ${o.timeLimitS} s`);
    const n = Math.min(perSend, o.messages - sent);
    const base = sent;
    const p = producer.send({ topic: THROUGHPUT_TOPIC, messages: Array.from({ length: n }, (_, i) => ({ value, partition: (base + i) % o.partitions })) });
    outstanding.add(p);
    void p.finally(() => outstanding.delete(p)).catch(() => undefined);
    sent += n;
    if (outstanding.size >= MAX_OUTSTANDING_SENDS) await Promise.race(outstanding);
  }
  await Promise.all(outstanding);
  await producer.close();
  return Date.now() - started;
}

interface ThroughputResult {
  /** Every message of the topic over the time from the start command to the last partition read to its end. */
  msgsPerSec: number;
  /** Messages handled more than once (a partition moved before its commit). */
  duplicates: number;
  /** From the start command to the first message handled: joining, assignment, first fetch. */
  firstMessageMs: number;
  /** The longest event-loop stall of any member (heartbeats wait that long too). */
  eventLoopMaxMs: number;
}

async function throughputRun(group: ProcessGroup, brokers: string, o: Options, size: number, groupId: string, ends: number[]): Promise<ThroughputResult> {
  const members = Array.from({ length: size }, (_, i) => new Member(group, `${groupId}/${i}`, MEMBER_SCRIPT, brokers));
  try {
    const started = Date.now();
    await Promise.all(
      members.map((m) =>
        m.start(
          {
            groupId,
            topic: THROUGHPUT_TOPIC,
            fromBeginning: true,
            sessionTimeoutMs: o.sessionTimeoutMs,
            heartbeatIntervalMs: o.heartbeatIntervalMs,
            autoCommitIntervalMs: 1_000,
            each: o.each,
          },
          START_TIMEOUT_MS,
        ),
      ),
    );
    let doneAt = 0;
    await waitUntil(
      members,
      () => {
        for (let p = 0; p < ends.length; p++) {
          let next = 0;
          for (const m of members) next = Math.max(next, m.nextOffsets[p] ?? 0);
          if (next < ends[p]!) return false;
        }
        doneAt = Date.now();
        return true;
      },
      o.timeLimitS * 1000,
      `group of ${size} to read ${o.messages} messages`,
    );
    const total = ends.reduce((a, b) => a + b, 0);
    const handled = members.reduce((a, m) => a + m.messages, 0);
    const firstAt = Math.min(...members.flatMap((m) => m.firstMessages.map((f) => f.atMs)));
    return {
      msgsPerSec: total / ((doneAt - started) / 1000),
      duplicates: Math.max(0, handled - total),
      firstMessageMs: firstAt - started,
      eventLoopMaxMs: Math.max(...members.map((m) => m.eventLoopMaxMs)),
    };
  } finally {
    await Promise.all(members.map((m) => m.close(CLOSE_TIMEOUT_MS)));
  }
}

async function failoverRun(group: ProcessGroup, brokers: string, o: Options, mode: 'kill' | 'leave', groupId: string): Promise<{ reassignedMs: number; consumedMs: number; moved: number }> {
  const members = Array.from({ length: o.failoverMembers }, (_, i) => new Member(group, `${groupId}/${i}`, MEMBER_SCRIPT, brokers));
  const waitMs = o.sessionTimeoutMs * 3 + 20_000;
  try {
    await Promise.all(
      members.map((m) =>
        m.start(
          { groupId, topic: LIVE_TOPIC, fromBeginning: false, sessionTimeoutMs: o.sessionTimeoutMs, heartbeatIntervalMs: o.heartbeatIntervalMs, autoCommitIntervalMs: 1_000, each: o.each },
          START_TIMEOUT_MS,
        ),
      ),
    );
    // Steady state: the partitions balanced over the members (each owned by exactly one), and
    // each member consuming all of its own.
    const fairShare = Math.floor(o.partitions / o.failoverMembers);
    await waitUntil(
      members,
      () => {
        const owners = members.flatMap((m) => m.partitions);
        if (owners.length !== o.partitions || new Set(owners).size !== o.partitions) return false;
        if (members.some((m) => m.partitions.length < fairShare)) return false;
        return members.every((m) => m.partitions.every((p) => m.firstMessages.some((f) => f.partition === p)));
      },
      waitMs,
      'the group to settle and consume every partition',
    );
    const victim = members[0]!;
    const survivors = members.slice(1);
    const moved = [...victim.partitions];
    if (moved.length === 0) throw new Error(`${victim.name} owns no partition to move`);
    const t0 = Date.now();
    if (mode === 'kill') victim.kill();
    else void victim.close(CLOSE_TIMEOUT_MS);
    const reassignedAt = (p: number): number | undefined => {
      let at: number | undefined;
      for (const s of survivors) for (const a of s.assignments) if (a.atMs >= t0 && a.partitions.includes(p) && (at === undefined || a.atMs < at)) at = a.atMs;
      return at;
    };
    const consumedAt = (p: number): number | undefined => {
      let at: number | undefined;
      for (const s of survivors) for (const f of s.firstMessages) if (f.atMs >= t0 && f.partition === p && (at === undefined || f.atMs < at)) at = f.atMs;
      return at;
    };
    await waitUntil(survivors, () => moved.every((p) => consumedAt(p) !== undefined), waitMs, `the survivors to consume ${mode === 'kill' ? 'the killed' : 'the leaving'} member's partitions`);
    return {
      moved: moved.length,
      reassignedMs: Math.max(...moved.map((p) => reassignedAt(p)! - t0)),
      consumedMs: Math.max(...moved.map((p) => consumedAt(p)! - t0)),
    };
  } finally {
    await Promise.all(members.map((m) => m.close(CLOSE_TIMEOUT_MS)));
  }
}

/** ~o.rate msgs/s over every partition of the live topic, until stop(). */
function startLiveProducer(rill: Rill, o: Options): { sent: () => number; stop: () => Promise<void> } {
  const producer = rill.producer({ acks: 1, idempotent: false, lingerMs: 0 });
  const perTick = Math.max(1, Math.round((o.rate * LIVE_TICK_MS) / 1000));
  const value = Buffer.alloc(o.valueBytes, 0x62);
  const outstanding = new Set<Promise<unknown>>();
  let sent = 0;
  let next = 0;
  let failure: unknown = null;
  const timer = setInterval(() => {
    if (outstanding.size >= MAX_OUTSTANDING_SENDS) return;
    const messages = Array.from({ length: perTick }, () => ({ value, partition: next++ % o.partitions }));
    const p = producer.send({ topic: LIVE_TOPIC, messages }).then(() => {
      sent += messages.length;
    });
    outstanding.add(p);
    p.catch((err: unknown) => {
      failure = err;
    }).finally(() => outstanding.delete(p));
  }, LIVE_TICK_MS);
  return {
    sent: () => sent,
    stop: async () => {
      clearInterval(timer);
      await Promise.allSettled(outstanding);
      await producer.close();
      if (failure !== null) throw failure;
    },
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}
