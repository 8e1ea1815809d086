/**
 * One round of the peers workload on one system (through the RunningPeer interface only):
 *   produce  `messages` values of VALUE_BYTES to a fresh topic in chunks of CHUNK, at most
 *            `inFlight` chunks unacknowledged; msgs/s from the first send to the last ack
 *   consume  the same topic from its beginning until every message was read, each one checked
 *            (number, length, content; none missing, none twice); msgs/s
 *   latency  a fresh topic read from its end while `rate` msgs/s are sent for `latencySeconds`,
 *            one message per send, paced by a 1 ms timer, at most MAX_OUTSTANDING unacknowledged;
 *            per message, the reader's performance.now() minus the send time stamped in the
 *            value (one process, one clock): p50/p99/p99.9/max; one priming message per
 *            partition is sent and read first, unmeasured
 * For each phase the server processes' CPU seconds (utime + stime from /proc, all threads) per
 * million messages, and the bench process's own (the system's client: a client that cannot keep
 * up bounds the rate as much as a server does). A system that loses, duplicates or alters a message fails the round.
 * Every wait is bounded by `phaseTimeLimitMs`.
 */
import { performance } from 'node:perf_hooks';
import { percentiles, type Percentiles } from '../e2e/common.js';
import { procCpuSeconds } from '../e2e/processes.js';
import { PARTITIONS, type RunningPeer } from './system.js';
import { VALUE_BYTES, ValueChecker, makeValues, runIdOf, sendTimeOf, writeValue } from './values.js';

export const CHUNK = 1_000;
/** Paced sends not yet acknowledged beyond which the pacer waits (a system that falls behind shows it in its achieved rate). */
const MAX_OUTSTANDING = 10_000;
/** After the last paced send, how long the reader may take to see everything. */
const LATENCY_DRAIN_MS = 10_000;
/** Run id of the priming messages sent before a latency run (one per partition, not measured). */
const PRIME_RUN_ID = 0xffff_ffff;
const PRIME_TIMEOUT_MS = 15_000;

export interface WorkloadOptions {
  messages: number;
  inFlight: number;
  rate: number;
  latencySeconds: number;
  phaseTimeLimitMs: number;
}

export interface ThroughputResult {
  /** Messages acknowledged (produce) or read and checked (consume). */
  messages: number;
  msgsPerSec: number;
  elapsedMs: number;
  /** Server CPU seconds per million messages, or null when /proc could not be read. */
  serverCpuPerM: number | null;
  /** The bench process's CPU seconds (the system's client, all clients here) per million messages. */
  clientCpuPerM: number;
}

export interface LatencyResult extends Percentiles {
  sent: number;
  achievedRate: number;
  serverCpuPerM: number | null;
  clientCpuPerM: number;
}

export interface RoundResult {
  produce: ThroughputResult;
  consume: ThroughputResult;
  latency: LatencyResult;
}

function serverCpu(peer: RunningPeer): number | null {
  let sum = 0;
  for (const pid of peer.serverPids()) {
    const s = procCpuSeconds(pid);
    if (s === null) return null;
    sum += s;
  }
  return sum;
}

function cpuPerM(before: number | null, after: number | null, messages: number): number | null {
  return before === null || after === null || messages === 0 ? null : ((after - before) / messages) * 1e6;
}

/** This process's CPU seconds (user + system, all threads). */
function clientCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface CpuPerM {
  serverCpuPerM: number | null;
  clientCpuPerM: number;
}

/** Reads the servers' and this process's CPU now; the function returned gives what each used since, per million `messages`. */
function cpuMeter(peer: RunningPeer): (messages: number) => CpuPerM {
  const server0 = serverCpu(peer);
  const client0 = clientCpu();
  return (messages) => ({ serverCpuPerM: cpuPerM(server0, serverCpu(peer), messages), clientCpuPerM: cpuPerM(client0, clientCpu(), messages)! });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function produce(peer: RunningPeer, topic: string, values: Buffer[], opts: WorkloadOptions): Promise<ThroughputResult> {
  const signal = AbortSignal.timeout(opts.phaseTimeLimitMs);
  const outstanding = new Set<Promise<void>>();
  let failure: unknown = null;
  const cpu = cpuMeter(peer);
  const t0 = performance.now();
  for (let first = 0; first < values.length && failure === null; first += CHUNK) {
    const p = peer.produceChunk(topic, values.slice(first, first + CHUNK), first, signal);
    outstanding.add(p);
    p.then(
      () => outstanding.delete(p),
      (err: unknown) => {
        outstanding.delete(p);
        failure ??= err;
      },
    );
    if (outstanding.size >= opts.inFlight) await Promise.race(outstanding).catch(() => undefined);
  }
  await Promise.allSettled(outstanding);
  if (failure !== null) throw failure;
  const elapsedMs = performance.now() - t0;
  return {
    messages: values.length,
    msgsPerSec: values.length / (elapsedMs / 1000),
    elapsedMs,
    ...cpu(values.length),
  };
}

async function consume(peer: RunningPeer, topic: string, checker: ValueChecker, opts: WorkloadOptions): Promise<ThroughputResult> {
  const signal = AbortSignal.timeout(opts.phaseTimeLimitMs);
  const cpu = cpuMeter(peer);
  const t0 = performance.now();
  await peer.consume(topic, checker.expected, (v) => checker.check(v), signal);
  const elapsedMs = performance.now() - t0;
  if (!checker.complete()) throw new Error(`consume: ${checker.summary()}`);
  return {
    messages: checker.received,
    msgsPerSec: checker.expected / (elapsedMs / 1000),
    elapsedMs,
    ...cpu(checker.expected),
  };
}

async function latency(peer: RunningPeer, topic: string, runId: number, opts: WorkloadOptions): Promise<LatencyResult> {
  const total = Math.max(1, Math.round(opts.rate * opts.latencySeconds));
  const checker = new ValueChecker(runId, total);
  const samples = new Float64Array(total);
  let received = 0;
  let allReceived: (() => void) | null = null;
  let primed = 0;
  const tail = await peer.tail(topic, (v) => {
    const now = performance.now();
    if (runIdOf(v) === PRIME_RUN_ID) {
      primed++;
      return;
    }
    if (checker.check(v) < 0) return;
    samples[received++] = now - sendTimeOf(v);
    if (received === total) allReceived?.();
  });
  const values = Array.from({ length: total }, () => Buffer.alloc(VALUE_BYTES));
  let outstanding = 0;
  let failure: unknown = null;
  const acked = (): void => {
    outstanding--;
  };
  const failed = (err: unknown): void => {
    outstanding--;
    failure ??= err;
  };
  try {
    // Priming: one message per partition sent and read before the clock starts, so that the
    // first measured messages do not pay for a new topic's metadata lookups, producer set-up or
    // the reader's first fetch (the same for every system).
    const primeValues = makeValues(PRIME_RUN_ID, PARTITIONS);
    for (let i = 0; i < PARTITIONS; i++) await peer.sendOne(topic, primeValues[i]!, i);
    const primeDeadline = performance.now() + PRIME_TIMEOUT_MS;
    while (primed < PARTITIONS && performance.now() < primeDeadline) await sleep(1);
    if (primed < PARTITIONS) throw new Error(`latency: ${primed}/${PARTITIONS} priming messages read within ${PRIME_TIMEOUT_MS} ms`);
    const cpu = cpuMeter(peer);
    const t0 = performance.now();
    const sendDeadline = t0 + opts.latencySeconds * 1000 + opts.phaseTimeLimitMs;
    let sent = 0;
    while (sent < total && failure === null && performance.now() < sendDeadline) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * opts.rate));
      while (sent < due && outstanding < MAX_OUTSTANDING) {
        const v = values[sent]!;
        writeValue(v, runId, sent, performance.now());
        outstanding++;
        peer.sendOne(topic, v, sent).then(acked, failed);
        sent++;
      }
      await sleep(1);
    }
    const sendMs = performance.now() - t0;
    const drained = new Promise<void>((resolve) => {
      allReceived = resolve;
      if (received === total) resolve();
    });
    await Promise.race([drained, sleep(LATENCY_DRAIN_MS)]);
    if (failure !== null) throw failure;
    if (!checker.complete()) throw new Error(`latency: ${checker.summary()} (${sent} sent, ${outstanding} unacknowledged)`);
    return {
      ...percentiles(samples, received),
      sent,
      achievedRate: sent / (sendMs / 1000),
      ...cpu(total),
    };
  } finally {
    await tail.stop();
  }
}

/**
 * Runs the three phases on fresh topics named after `tag` and deletes them after. `runId`
 * (and runId + 1 for the latency phase) marks this round's values.
 */
export async function runRound(peer: RunningPeer, tag: string, runId: number, opts: WorkloadOptions): Promise<RoundResult> {
  const topic = `tp-${tag}`;
  await peer.createTopic(topic);
  const values = makeValues(runId, opts.messages);
  const producePhase = await produce(peer, topic, values, opts);
  const consumePhase = await consume(peer, topic, new ValueChecker(runId, opts.messages), opts);
  await peer.deleteTopic(topic);
  const latencyTopic = `lat-${tag}`;
  await peer.createTopic(latencyTopic);
  const latencyPhase = await latency(peer, latencyTopic, runId + 1, opts);
  await peer.deleteTopic(latencyTopic);
  return { produce: producePhase, consume: consumePhase, latency: latencyPhase };
}
