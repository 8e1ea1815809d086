/**
 * The end-to-end benchmark's phases, run by the parent (bench/e2e.bench.ts) against its broker,
 * producer and consumer processes: throughput warm-up, produce, consume (per mode) and latency
 * (per lingerMs). Each phase measures, around its own interval only, the broker's CPU (from
 * /proc), the machine's other CPU use (the noise it ran in) and, for latency, every process's
 * GC pauses and event-loop stalls.
 */
import { measureClockOffset, type ClockOffset } from './clock-offset.js';
import {
  LATENCY_TOPIC,
  THROUGHPUT_TOPIC,
  WARMUP_RUN,
  type ConsumeMode,
  type ConsumeRequest,
  type PacedProduceRequest,
  type Percentiles,
  type ProduceRequest,
} from './common.js';
import type { E2eOptions } from './options.js';
import { brokerPauses, scrapeBroker, type PauseStats } from './pauses.js';
import type { ChildClient, MachineCpu } from './processes.js';
import { schedCounters, schedDelta, type SchedCounters } from './sched.js';

export const WARMUP_TOPIC = 'e2e-warmup';
/** Slack on top of a phase's own time limit before the parent gives up on a child's answer. */
const REPLY_SLACK_MS = 30_000;
/** After the paced producer is done, the consumer has this long to receive the rest. */
const LATENCY_DRAIN_MS = 10_000;

export interface ThroughputResult {
  phase: string;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
  brokerCpuSeconds: number | null;
  brokerCpuSecondsPerMillion: number | null;
  clientCpuSeconds: number;
  /** CPU seconds used by other processes of the machine meanwhile, and stolen by the hypervisor. */
  noise: CpuNoise | null;
  timedOut: boolean;
  offsetGaps?: number;
}

/** What else the machine did during a phase: the benchmark shares 2 cores with it. */
export interface CpuNoise {
  otherCpuSeconds: number;
  stealSeconds: number;
}

export interface LatencyResult {
  lingerMs: number;
  ratePerSec: number;
  messagesSent: number;
  messagesReceived: number;
  duplicates: number;
  /** Consumer receive minus producer send(), clock offset removed. */
  latencyMs: Percentiles;
  /** send() to its ack, in the producer. */
  ackMs: Percentiles;
  maxScheduleLagMs: number;
  clockSkewMs: number;
  clockSkewUncertaintyMs: number;
  brokerCpuSeconds: number | null;
  brokerCpuSecondsPerMillion: number | null;
  producerCpuSeconds: number;
  consumerCpuSeconds: number;
  /** GC pauses and event-loop stalls during the run, per process (null where not measurable). */
  pauses: { producer: PauseStats; broker: PauseStats | null; consumer: PauseStats | null };
  /** Time each process spent runnable but waiting for a CPU during the run (sched.ts). */
  sched: { producer: SchedCounters | null; broker: SchedCounters | null; consumer: SchedCounters | null };
  noise: CpuNoise | null;
  timedOut: boolean;
}

export interface PhaseResults {
  produce: ThroughputResult | null;
  consume: ThroughputResult[];
  latency: LatencyResult[];
}

export interface E2eResults {
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverageStart: number[]; loadAverageEnd: number[] };
  options: E2eOptions;
  produce: ThroughputResult | null;
  consume: ThroughputResult[];
  latency: LatencyResult[];
  /** Process ids of the run (all ended when runE2e returns). */
  pids: { broker: number; producer: number; consumer: number };
  totalSeconds: number;
}

function cpuDelta(before: number | null, after: number | null): number | null {
  return before === null || after === null ? null : after - before;
}

function perMillion(cpu: number | null, messages: number): number | null {
  return cpu === null || messages === 0 ? null : cpu / (messages / 1e6);
}

/**
 * Latency first: it measures a steady service, and a producer that has just pushed a
 * 2,000,000-message burst carries a heap that triples its GC time at 20,000 msgs/s (measured:
 * 283 vs 83 ms of GC per 10 s run). Then produce, then consume (which reads what produce wrote).
 */
export async function runPhases(ctx: PhaseContext): Promise<PhaseResults> {
  const o = ctx.options;
  const phase = ctx.onPhase ?? ((): void => undefined);
  const rate = (r: { msgsPerSec: number }): string => `${Math.round(r.msgsPerSec).toLocaleString('en-US')} msg/s`;
  let last: string | null = null;
  const latency: LatencyResult[] = [];
  if (o.phases.includes('latency')) {
    for (let i = 0; i < o.latencyLingerMs.length; i++) {
      const lingerMs = o.latencyLingerMs[i]!;
      phase(`latency (lingerMs ${lingerMs}, ${o.ratePerSec.toLocaleString('en-US')} msg/s for ${o.durationS} s)`, last);
      const r = await latencyPhase(ctx, lingerMs, WARMUP_RUN + 1 + i);
      latency.push(r);
      last = `latency lingerMs ${lingerMs}: p99 ${r.latencyMs.p99.toFixed(2)} ms`;
    }
  }
  if (o.warmupMessages > 0 && o.phases.includes('produce')) {
    phase(`warm-up (${o.warmupMessages.toLocaleString('en-US')} messages)`, last);
    await warmUpThroughput(ctx);
  }
  let produce: ThroughputResult | null = null;
  if (o.phases.includes('produce')) {
    phase(`produce (${o.messages.toLocaleString('en-US')} messages)`, last);
    produce = await producePhase(ctx);
    last = `produce: ${rate(produce)}`;
  }
  const consume: ThroughputResult[] = [];
  if (produce !== null && o.phases.includes('consume')) {
    for (const mode of o.consumeModes) {
      phase(`consume (${mode === 'batch' ? 'eachBatch' : 'eachMessage'}, ${produce.messages.toLocaleString('en-US')} messages)`, last);
      const r = await consumePhase(ctx, mode, produce.messages);
      consume.push(r);
      last = `${r.phase}: ${rate(r)}`;
    }
  }
  return { produce, consume, latency };
}

export interface PhaseContext {
  options: E2eOptions;
  producer: ChildClient;
  consumer: ChildClient;
  brokerCpu: () => number | null;
  brokerPid: number;
  cpuSnapshot: () => CpuSnapshot | null;
  brokerMetricsPort: number | null;
  /** Told when a phase starts, with the previous phase's headline figure: `rill bench`'s progress line. */
  onPhase?: (phase: string, lastResult: string | null) => void;
}

export interface CpuSnapshot {
  machine: MachineCpu;
  /** CPU seconds of the broker, producer and consumer processes together. */
  ours: number;
}

function noiseBetween(a: CpuSnapshot | null, b: CpuSnapshot | null): CpuNoise | null {
  if (a === null || b === null) return null;
  const other = b.machine.busySeconds - a.machine.busySeconds - (b.ours - a.ours);
  // /proc ticks are 10 ms, per process and per machine: a few ticks of rounding either way.
  return { otherCpuSeconds: Math.max(0, other), stealSeconds: b.machine.stealSeconds - a.machine.stealSeconds };
}

function produceRequest(o: E2eOptions, topic: string, messages: number): ProduceRequest {
  return {
    type: 'produce',
    topic,
    messages,
    valueBytes: o.valueBytes,
    messagesPerSend: o.messagesPerSend,
    maxOutstandingSends: o.maxOutstandingSends,
    lingerMs: o.lingerMs,
    timeLimitMs: o.produceTimeLimitS * 1000,
  };
}

function consumeRequest(o: E2eOptions, topic: string, messages: number, mode: ConsumeMode): ConsumeRequest {
  return { type: 'consume', topic, partitions: o.partitions, messages, mode, timeLimitMs: o.produceTimeLimitS * 1000 };
}

function throughputTimeoutMs(o: E2eOptions): number {
  return o.produceTimeLimitS * 1000 + REPLY_SLACK_MS;
}

/** JIT, connections and metadata of all three processes, on a topic of its own. */
async function warmUpThroughput(ctx: PhaseContext): Promise<void> {
  const o = ctx.options;
  const w = await ctx.producer.request(produceRequest(o, WARMUP_TOPIC, o.warmupMessages), 'produce', throughputTimeoutMs(o));
  if (!o.phases.includes('consume')) return;
  for (const mode of o.consumeModes) await ctx.consumer.request(consumeRequest(o, WARMUP_TOPIC, w.messages, mode), 'consume', throughputTimeoutMs(o));
}

async function producePhase(ctx: PhaseContext): Promise<ThroughputResult> {
  const o = ctx.options;
  const n0 = ctx.cpuSnapshot();
  const b0 = ctx.brokerCpu();
  const p = await ctx.producer.request(produceRequest(o, THROUGHPUT_TOPIC, o.messages), 'produce', throughputTimeoutMs(o));
  const brokerCpu = cpuDelta(b0, ctx.brokerCpu());
  const noise = noiseBetween(n0, ctx.cpuSnapshot());
  return {
    phase: 'produce',
    messages: p.messages,
    seconds: p.elapsedMs / 1000,
    msgsPerSec: p.messages / (p.elapsedMs / 1000),
    mbPerSec: p.valueBytes / 1e6 / (p.elapsedMs / 1000),
    brokerCpuSeconds: brokerCpu,
    brokerCpuSecondsPerMillion: perMillion(brokerCpu, p.messages),
    clientCpuSeconds: p.cpuSeconds,
    noise,
    timedOut: p.timedOut,
  };
}

/** Reads everything the produce phase wrote, with a fresh consumer. */
async function consumePhase(ctx: PhaseContext, mode: ConsumeMode, messages: number): Promise<ThroughputResult> {
  const o = ctx.options;
  const n0 = ctx.cpuSnapshot();
  const b0 = ctx.brokerCpu();
  const c = await ctx.consumer.request(consumeRequest(o, THROUGHPUT_TOPIC, messages, mode), 'consume', throughputTimeoutMs(o));
  const brokerCpu = cpuDelta(b0, ctx.brokerCpu());
  const noise = noiseBetween(n0, ctx.cpuSnapshot());
  return {
    phase: `consume (${mode === 'batch' ? 'eachBatch' : 'eachMessage'})`,
    messages: c.messages,
    seconds: c.elapsedMs / 1000,
    msgsPerSec: c.messages / (c.elapsedMs / 1000),
    mbPerSec: c.valueBytes / 1e6 / (c.elapsedMs / 1000),
    brokerCpuSeconds: brokerCpu,
    brokerCpuSecondsPerMillion: perMillion(brokerCpu, c.messages),
    clientCpuSeconds: c.cpuSeconds,
    noise,
    timedOut: c.timedOut,
    offsetGaps: c.offsetGaps,
  };
}

/**
 * The consumer starts at the end of the latency topic, a half-second warm-up at the same rate
 * (run 0, not counted) brings up the producer's connection for this lingerMs, the clocks are
 * compared, then the measured run goes out.
 */
async function latencyPhase(ctx: PhaseContext, lingerMs: number, run: number): Promise<LatencyResult> {
  const o = ctx.options;
  const messages = Math.max(1, Math.round(o.ratePerSec * o.durationS));
  const timeLimitMs = o.durationS * 1000 * 2 + 5_000;
  const paced = (runId: number, count: number): PacedProduceRequest => ({
    type: 'paced',
    topic: LATENCY_TOPIC,
    run: runId,
    messages: count,
    ratePerSec: o.ratePerSec,
    valueBytes: o.valueBytes,
    lingerMs,
    timeLimitMs,
  });
  await ctx.consumer.request({ type: 'latency-start', topic: LATENCY_TOPIC, run, messages }, 'ready', REPLY_SLACK_MS);
  await ctx.producer.request(paced(WARMUP_RUN, Math.max(1, Math.round(o.ratePerSec * o.latencyWarmupS))), 'paced', timeLimitMs + REPLY_SLACK_MS);
  const skew = await clockSkew(ctx.producer, ctx.consumer);
  const scrape = () => (ctx.brokerMetricsPort === null ? Promise.resolve(null) : scrapeBroker(ctx.brokerMetricsPort));
  const m0 = await scrape();
  const n0 = ctx.cpuSnapshot();
  const b0 = ctx.brokerCpu();
  const pids = [ctx.producer.proc.pid ?? -1, ctx.brokerPid, ctx.consumer.proc.pid ?? -1];
  const s0 = pids.map(schedCounters);
  const sent = await ctx.producer.request(paced(run, messages), 'paced', timeLimitMs + REPLY_SLACK_MS);
  // Read at the producer's end of the run, before the consumer's drain wait and the reply.
  const s1 = pids.map(schedCounters);
  const got = await ctx.consumer.request({ type: 'latency-result', timeLimitMs: LATENCY_DRAIN_MS }, 'latency', LATENCY_DRAIN_MS + REPLY_SLACK_MS);
  const brokerCpu = cpuDelta(b0, ctx.brokerCpu());
  const noise = noiseBetween(n0, ctx.cpuSnapshot());
  const m1 = await scrape();
  const shift = (x: number): number => x - skew.offsetMs;
  const l = got.latency;
  return {
    lingerMs,
    ratePerSec: o.ratePerSec,
    messagesSent: sent.messages,
    messagesReceived: got.messages,
    duplicates: got.duplicates,
    latencyMs: { count: l.count, p50: shift(l.p50), p99: shift(l.p99), p999: shift(l.p999), max: shift(l.max), mean: shift(l.mean) },
    ackMs: sent.ack,
    maxScheduleLagMs: sent.maxScheduleLagMs,
    clockSkewMs: skew.offsetMs,
    clockSkewUncertaintyMs: skew.uncertaintyMs,
    brokerCpuSeconds: brokerCpu,
    brokerCpuSecondsPerMillion: perMillion(brokerCpu, sent.messages),
    producerCpuSeconds: sent.cpuSeconds,
    consumerCpuSeconds: got.cpuSeconds,
    pauses: { producer: sent.pauses, broker: brokerPauses(m0, m1), consumer: got.pauses },
    sched: { producer: schedDelta(s0[0]!, s1[0]!), broker: schedDelta(s0[1]!, s1[1]!), consumer: schedDelta(s0[2]!, s1[2]!) },
    noise,
    timedOut: sent.timedOut || got.timedOut,
  };
}

/** Consumer clock minus producer clock, each measured against the parent's. */
async function clockSkew(producer: ChildClient, consumer: ChildClient): Promise<ClockOffset> {
  const p = await measureClockOffset(producer);
  const c = await measureClockOffset(consumer);
  return { offsetMs: c.offsetMs - p.offsetMs, uncertaintyMs: c.uncertaintyMs + p.uncertaintyMs };
}
