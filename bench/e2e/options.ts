/**
 * The end-to-end benchmark's options (`--name=value`, see bench/e2e.bench.ts) and their defaults.
 */
import { parseArgs } from 'node:util';
import type { ConsumeMode } from './common.js';

export interface E2eOptions {
  /** --messages: produced in the produce phase (2,000,000). */
  messages: number;
  /** --value-bytes: every value's size (100; at least 16, the latency stamp). */
  valueBytes: number;
  /** --partitions: of every benchmark topic (3, the broker's num.partitions default). */
  partitions: number;
  /** --messages-per-send: messages per send() in the produce phase (100). */
  messagesPerSend: number;
  /** --max-outstanding-sends: unacked sends the producing app allows (0: ~64k messages' worth). */
  maxOutstandingSends: number;
  /** --linger-ms: the producer's lingerMs in the produce phase (5, the SDK default). */
  lingerMs: number;
  /** --produce-time-limit-s: bound of the produce phase and of each consume pass (20). */
  produceTimeLimitS: number;
  /** --consume-modes: batch (eachBatch) and/or message (eachMessage) (both). */
  consumeModes: ConsumeMode[];
  /** --rate: messages per second in the latency phase (20,000). */
  ratePerSec: number;
  /** --duration-s: of each latency run (10). */
  durationS: number;
  /** --latency-linger-ms: one latency run per value (5,0). */
  latencyLingerMs: number[];
  /**
   * --latency-warmup-s: before each latency run, this long at the measured rate on the latency
   * topic, not counted (0.5). The first run starts ~3 s after the broker: its JIT warm-up (code
   * and bytecode into old space, Mark-Compacts) lands in that run unless this is longer.
   */
  latencyWarmupS: number;
  /** --warmup-messages: produced and consumed on a topic of their own first (100,000). */
  warmupMessages: number;
  /** Which phases to run; consume needs produce (it reads what produce wrote). */
  phases: Phase[];
  /** --profile-dir: run all three processes with --cpu-prof into it. */
  profileDir: string | null;
  /** --node-flags: extra node options for all three processes, space-separated (e.g. '--trace-gc'). */
  nodeFlags: string[];
  /** --broker-node-flags: node options for the broker process only, after --node-flags (e.g. '--trace-gc-nvp'). */
  brokerNodeFlags: string[];
  /** --json: also write the results there. */
  jsonFile: string | null;
}

export type Phase = 'produce' | 'consume' | 'latency';
export const PHASES: readonly Phase[] = ['produce', 'consume', 'latency'];

function integerOption(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new RangeError(`--${name} must be an integer >= ${min}, got '${raw}'`);
  return v;
}

function positiveNumberOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} must be a positive number, got '${raw}'`);
  return v;
}

/** Node options for the child processes: each must start with '-' (a stray word would be taken as the script). */
function nodeFlagsOption(raw: string | undefined, name = 'node-flags'): string[] {
  if (raw === undefined) return [];
  const flags = raw.split(/\s+/).filter((f) => f.length > 0);
  for (const f of flags) if (!f.startsWith('-')) throw new RangeError(`--${name} takes node options such as '--trace-gc', got '${f}'`);
  return flags;
}

export function parseE2eOptions(argv: string[]): E2eOptions {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      messages: { type: 'string' },
      'value-bytes': { type: 'string' },
      partitions: { type: 'string' },
      'messages-per-send': { type: 'string' },
      'max-outstanding-sends': { type: 'string' },
      'linger-ms': { type: 'string' },
      'produce-time-limit-s': { type: 'string' },
      'consume-modes': { type: 'string' },
      rate: { type: 'string' },
      'duration-s': { type: 'string' },
      'latency-linger-ms': { type: 'string' },
      'latency-warmup-s': { type: 'string' },
      'warmup-messages': { type: 'string' },
      phases: { type: 'string' },
      'profile-dir': { type: 'string' },
      'node-flags': { type: 'string' },
      'broker-node-flags': { type: 'string' },
      json: { type: 'string' },
    },
  });
  const consumeModes = (values['consume-modes'] ?? 'batch,message').split(',').map((m) => m.trim());
  for (const m of consumeModes) if (m !== 'batch' && m !== 'message') throw new RangeError(`--consume-modes takes batch and/or message, got '${m}'`);
  const phases = (values.phases ?? PHASES.join(',')).split(',').map((x) => x.trim()) as Phase[];
  for (const ph of phases) if (!PHASES.includes(ph)) throw new RangeError(`--phases takes ${PHASES.join(', ')}, got '${ph}'`);
  if (phases.includes('consume') && !phases.includes('produce')) throw new RangeError('--phases: consume reads what produce wrote; add produce');
  const latencyLingerMs = (values['latency-linger-ms'] ?? '5,0').split(',').map((v) => integerOption('latency-linger-ms', v.trim(), 0, 0));
  const options: E2eOptions = {
    messages: integerOption('messages', values.messages, 2_000_000),
    valueBytes: integerOption('value-bytes', values['value-bytes'], 100, 16),
    partitions: integerOption('partitions', values.partitions, 3),
    messagesPerSend: integerOption('messages-per-send', values['messages-per-send'], 100),
    maxOutstandingSends: integerOption('max-outstanding-sends', values['max-outstanding-sends'], 0),
    lingerMs: integerOption('linger-ms', values['linger-ms'], 5, 0),
    produceTimeLimitS: positiveNumberOption('produce-time-limit-s', values['produce-time-limit-s'], 20),
    consumeModes: consumeModes as ConsumeMode[],
    ratePerSec: integerOption('rate', values.rate, 20_000),
    durationS: positiveNumberOption('duration-s', values['duration-s'], 10),
    latencyLingerMs,
    latencyWarmupS: positiveNumberOption('latency-warmup-s', values['latency-warmup-s'], 0.5),
    warmupMessages: integerOption('warmup-messages', values['warmup-messages'], 100_000, 0),
    phases,
    profileDir: values['profile-dir'] ?? null,
    nodeFlags: nodeFlagsOption(values['node-flags']),
    brokerNodeFlags: nodeFlagsOption(values['broker-node-flags'], 'broker-node-flags'),
    jsonFile: values.json ?? null,
  };
  // Default app-side bound: ~64k messages outstanding, whatever the send size.
  if (options.maxOutstandingSends === 0) options.maxOutstandingSends = Math.max(1, Math.ceil(65_536 / options.messagesPerSend));
  return options;
}
