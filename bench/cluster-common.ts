/**
 * Shared by the cluster benchmarks (bench/cluster-failover, bench/cluster-throughput): their
 * `--name=value` integer options, a three-broker cluster of processes on its own etcd with an
 * SDK client on it, and medians. Everything started is ended by `close()`, also on error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Rill } from '../client/index.js';
import { ClusterProcesses, ProcessGroup } from './processes.js';

const BROKER_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'broker', 'main.js');

/** Reads the integer options `spec` (name -> [default, min, max]) from `--name=value` arguments. */
export function intOptions<K extends string>(argv: string[], spec: Record<K, [number, number, number]>): Record<K, number> {
  const names = Object.keys(spec) as K[];
  const { values } = parseArgs({ args: argv, strict: false, allowPositionals: true, options: Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])) });
  const out = {} as Record<K, number>;
  for (const name of names) {
    const [def, min, max] = spec[name];
    const raw = values[name];
    const n = Number(raw);
    if (raw !== undefined && (typeof raw !== 'string' || !Number.isInteger(n) || n < min || n > max)) {
      throw new RangeError(`--${name} must be an integer in [${min}, ${max}], got ${String(raw)}`);
    }
    out[name] = raw === undefined ? def : n;
  }
  return out;
}

export interface BenchCluster {
  processes: ClusterProcesses;
  rill: Rill;
  close(): Promise<void>;
}

/** etcd + `brokers` broker processes (temp dirs) with `configs`, and a client bootstrapped from all of them. */
export async function startBenchCluster(brokers: number, configs: Record<string, string | number | boolean>, clientId: string): Promise<BenchCluster> {
  const group = new ProcessGroup();
  const dir = await mkdtemp(join(tmpdir(), 'rill-cluster-bench-'));
  let rill: Rill | null = null;
  let processes: ClusterProcesses | null = null;
  const close = async (): Promise<void> => {
    await rill?.close().catch(() => undefined);
    await processes?.stop();
    await group.stopAll();
    group.dispose();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    processes = await ClusterProcesses.start(group, BROKER_MAIN, dir, brokers, configs);
    rill = new Rill({
      brokers: processes.bootstrap(),
      clientId,
      requestTimeoutMs: 10_000,
      // Short backoffs: a failover is measured as a client sees it, so the client must not sleep through it.
      retry: { retries: 100, initialBackoffMs: 50, maxBackoffMs: 250 },
      logger: pino({ level: 'error' }, pino.destination(2)),
    });
    return { processes, rill, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export function machineLine(): string {
  return `machine: ${cpus().length} vCPU (${cpus()[0]?.model ?? '?'}), node ${process.version}`;
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
