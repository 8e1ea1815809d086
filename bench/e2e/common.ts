/**
 * What the end-to-end benchmark's processes share: the clock, the IPC messages between the
 * parent (bench/e2e.bench.ts) and its producer and consumer processes, the stamped value
 * layout, and the small request/reply loop every child runs.
 *
 * Clock: `nowMs()` is `performance.timeOrigin + performance.now()`, milliseconds since the
 * epoch with sub-microsecond resolution, monotonic within a process. Each process derives its
 * timeOrigin from the wall clock when it starts, so two processes can disagree by a constant;
 * the parent measures that constant over IPC (clock.ts) and subtracts it from latencies.
 *
 * Stamped value (latency phase), little-endian:
 *   sendTimeMs:f64 (nowMs() just before send())  seq:u32  run:u32  filler up to valueBytes
 * `run` tells a measured run's messages (run >= 1) from a warm-up's (run 0) on the same topic.
 */
import { performance } from 'node:perf_hooks';
import type { PauseStats } from './pauses.js';

/** Constant for the process; its getter boxes a new number on each read (garbage per message). */
const TIME_ORIGIN_MS = performance.timeOrigin;

/** Wall-clock milliseconds with the monotonic clock's resolution (see the header). */
export function nowMs(): number {
  return TIME_ORIGIN_MS + performance.now();
}

export const STAMP_SEND_TIME_POS = 0;
export const STAMP_SEQ_POS = 8;
export const STAMP_RUN_POS = 12;
/** The smallest value a stamped message can have. */
export const STAMP_BYTES = 16;
/** The run id of warm-up messages, which no latency measurement counts. */
export const WARMUP_RUN = 0;

export const THROUGHPUT_TOPIC = 'e2e-throughput';
export const LATENCY_TOPIC = 'e2e-latency';

/** CPU seconds (user + system) a process used, from process.cpuUsage(). */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// ---- parent -> child --------------------------------------------------------------------

export interface ClockRequest {
  type: 'clock';
}

/** Produce `messages` as fast as the SDK takes them; stop issuing sends after `timeLimitMs`. */
export interface ProduceRequest {
  type: 'produce';
  topic: string;
  messages: number;
  valueBytes: number;
  messagesPerSend: number;
  /** Sends issued and not yet acked, at most (the app's own bound, on top of the SDK's buffer). */
  maxOutstandingSends: number;
  lingerMs: number;
  timeLimitMs: number;
}

/** Produce `messages` stamped values at `ratePerSec`, one send() per message. */
export interface PacedProduceRequest {
  type: 'paced';
  topic: string;
  run: number;
  messages: number;
  ratePerSec: number;
  valueBytes: number;
  lingerMs: number;
  timeLimitMs: number;
}

export type ConsumeMode = 'batch' | 'message';

/** Read `partitions` of `topic` from the earliest offset until `messages` have arrived. */
export interface ConsumeRequest {
  type: 'consume';
  topic: string;
  partitions: number;
  messages: number;
  mode: ConsumeMode;
  timeLimitMs: number;
}

/**
 * Assign every partition of `topic` at its current end offset and start recording the
 * latency of the stamped values of run `run`; answers `ready` once consuming.
 */
export interface LatencyStartRequest {
  type: 'latency-start';
  topic: string;
  run: number;
  messages: number;
}

/** Wait until the run's `messages` have arrived (or `timeLimitMs`); answer with the distribution. */
export interface LatencyResultRequest {
  type: 'latency-result';
  timeLimitMs: number;
}

export interface ExitRequest {
  type: 'exit';
}

export type ChildRequest = ClockRequest | ProduceRequest | PacedProduceRequest | ConsumeRequest | LatencyStartRequest | LatencyResultRequest | ExitRequest;

// ---- child -> parent --------------------------------------------------------------------

export interface ClockReply {
  type: 'clock';
  nowMs: number;
}

export interface ProduceReply {
  type: 'produce';
  /** Messages acked. */
  messages: number;
  valueBytes: number;
  elapsedMs: number;
  cpuSeconds: number;
  /** True when the time limit stopped the run before `messages` were sent. */
  timedOut: boolean;
}

export interface PacedProduceReply {
  type: 'paced';
  messages: number;
  elapsedMs: number;
  cpuSeconds: number;
  /** How far the sends fell behind the schedule, at worst (a stalled producer hides latency). */
  maxScheduleLagMs: number;
  /** send() to ack, per message. */
  ack: Percentiles;
  /** GC pauses and event-loop stalls of the producer during the run. */
  pauses: PauseStats;
  timedOut: boolean;
}

export interface ConsumeReply {
  type: 'consume';
  messages: number;
  valueBytes: number;
  elapsedMs: number;
  cpuSeconds: number;
  /** Offsets that did not follow their predecessor by exactly one (0 for a healthy log). */
  offsetGaps: number;
  timedOut: boolean;
}

export interface ReadyReply {
  type: 'ready';
}

export interface LatencyReply {
  type: 'latency';
  messages: number;
  /** send() in the producer to the consumer's eachMessage: consumer's clock minus producer's. */
  latency: Percentiles;
  /** Messages of the run that arrived more than once. */
  duplicates: number;
  /** From the run's first message to its last (or the time limit). */
  cpuSeconds: number;
  /** GC pauses and event-loop stalls of the consumer from the run's first message to its last (null: none came). */
  pauses: PauseStats | null;
  timedOut: boolean;
}

export interface ErrorReply {
  type: 'error';
  message: string;
}

export type ChildReply = ClockReply | ProduceReply | PacedProduceReply | ConsumeReply | ReadyReply | LatencyReply | ErrorReply;

/** Every child message carries the id of the request it answers. */
export type Envelope<T> = T & { id: number };

// ---- statistics ----------------------------------------------------------------------------

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Percentiles (nearest rank) of the first `n` samples; sorts them in place. */
export function percentiles(samples: Float64Array, n: number): Percentiles {
  if (n === 0) return { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  const s = samples.subarray(0, n).sort();
  const at = (q: number): number => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { count: n, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[n - 1]!, mean: sum / n };
}

// ---- the child side of the IPC loop ----------------------------------------------------------

export type Handler = (req: ChildRequest, reply: (msg: ChildReply) => void) => Promise<void>;

/**
 * Runs a child process's request loop: one request at a time, answered by id; an error in a
 * handler is sent back (the parent aborts the run), and a lost parent ends the process so that
 * no benchmark process outlives the run.
 */
export function serveParent(handle: Handler, onExit: () => Promise<void>): void {
  if (process.send === undefined) {
    process.stderr.write('this script is started by bench/e2e.bench.ts over IPC (child_process.fork)\n');
    process.exit(2);
  }
  const send = (msg: Envelope<ChildReply>): void => {
    process.send!(msg);
  };
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    // Bounded: a close that hangs must not keep the process alive.
    const hardStop = setTimeout(() => process.exit(code), 5_000);
    hardStop.unref();
    onExit().finally(() => process.exit(code));
  };
  process.on('disconnect', () => exit(1));
  // The parent's way to stop a run that failed: at once, without waiting for work in progress
  // (process.exit still writes a --cpu-prof profile).
  process.on('SIGTERM', () => process.exit(143));
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (raw: unknown) => {
    const req = raw as Envelope<ChildRequest>;
    if (req.type === 'clock') {
      // Answered at once, outside the queue: the parent times the round trip.
      send({ type: 'clock', nowMs: nowMs(), id: req.id });
      return;
    }
    if (req.type === 'exit') {
      queue.finally(() => exit(0));
      return;
    }
    queue = queue.then(() =>
      handle(req, (msg) => send({ ...msg, id: req.id })).catch((err: unknown) => {
        send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err), id: req.id });
      }),
    );
  });
}

/** The broker address a child was started with: `--brokers host:port`. */
export function brokersFromArgv(argv: string[]): string[] {
  const i = argv.indexOf('--brokers');
  const value = i >= 0 ? argv[i + 1] : undefined;
  if (value === undefined || value.length === 0) throw new Error('usage: node <script> --brokers host:port (started by bench/e2e.bench.ts)');
  return value.split(',');
}
