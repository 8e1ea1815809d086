/**
 * Child processes of the process-level benchmarks (bench/e2e, bench/groups): a ProcessGroup that
 * ends everything it started (graceful first, SIGKILL after a bound, and SIGKILL from an exit
 * hook if the parent dies or is interrupted), and the broker process (`dist/broker/main.js`,
 * port 0, its JSON "listening" line read from stdout); for the cluster benchmarks, an etcd process
 * and N broker processes joined to it (ClusterProcesses).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export function isRunning(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

const BROKER_START_TIMEOUT_MS = 15_000;
export const GRACEFUL_STOP_MS = 5_000;

/** Tracks started processes and ends them all, also on the parent's exit or interruption. */
export class ProcessGroup {
  private readonly procs = new Set<ChildProcess>();
  private readonly onExit = (): void => {
    for (const p of this.procs) if (isRunning(p)) p.kill('SIGKILL');
  };
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  constructor() {
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  add(p: ChildProcess): void {
    this.procs.add(p);
    p.once('exit', () => this.procs.delete(p));
  }

  /** Sends `signal` (default SIGTERM) to every live process, waits up to 5 s, then SIGKILLs the rest. */
  async stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const live = [...this.procs].filter((p) => isRunning(p));
    await Promise.all(live.map((p) => stopProcess(p, signal)));
    this.procs.clear();
  }

  /** Unhooks the exit and signal handlers (after stopAll). */
  dispose(): void {
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/** Asks a process to end with `signal`; SIGKILL if it has not exited within 5 s. */
export function stopProcess(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isRunning(p)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), GRACEFUL_STOP_MS);
    p.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.kill(signal);
  });
}

export interface BrokerProcess {
  proc: ChildProcess;
  pid: number;
  port: number;
  /** Its /metrics port (ephemeral), or null if it did not report one. */
  metricsPort: number | null;
}

export interface BrokerProcessOptions {
  /** Node flags for the broker process (e.g. --cpu-prof). */
  execArgv?: string[];
  /** More broker flags (e.g. ['--metrics-port', '0'] or ['--config', file]). */
  args?: string[];
  /** How long to wait for the listening line; default 15 s. */
  startTimeoutMs?: number;
}

/** The broker's first stdout line (broker/main.ts). */
interface ListeningLine {
  event?: string;
  port?: number;
  metricsPort?: number | null;
}

/** Starts `node <brokerMain> --data-dir D --port 0 ...args` and waits for its listening line. */
export function startBrokerProcess(group: ProcessGroup, brokerMain: string, dataDir: string, opts: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const proc = spawn(process.execPath, [...(opts.execArgv ?? []), brokerMain, '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  group.add(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`broker did not start: ${why}`));
    };
    const startTimeoutMs = opts.startTimeoutMs ?? BROKER_START_TIMEOUT_MS;
    const timer = setTimeout(() => fail(`no listening line within ${startTimeoutMs} ms (stdout: ${out})`), startTimeoutMs);
    const onError = (err: Error): void => fail(err.message);
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited with ${code ?? signal} (stdout: ${out})`);
    proc.once('error', onError);
    proc.once('exit', onEarlyExit);
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      // Lines other than JSON ones are node's own (e.g. --trace-gc from --node-flags): skipped.
      let line: ListeningLine | null = null;
      for (let nl = out.indexOf('\n'); nl >= 0 && line === null; nl = out.indexOf('\n')) {
        const text = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        try {
          line = JSON.parse(text) as ListeningLine;
        } catch {
          fail(`unexpected stdout: ${text}`);
          return;
        }
      }
      if (line === null) return;
      if (line.event !== 'listening' || typeof line.port !== 'number') {
        fail(`unexpected stdout: ${JSON.stringify(line)}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      proc.off('exit', onEarlyExit);
      proc.stdout!.removeAllListeners('data');
      // Keep draining stdout so the broker can never block on a full pipe; whatever else it
      // prints (node's diagnostics) goes to our stderr.
      proc.stdout!.pipe(process.stderr);
      resolve({ proc, pid: proc.pid!, port: line.port, metricsPort: typeof line.metricsPort === 'number' ? line.metricsPort : null });
    });
  });
}


// ---- Cluster benchmarks (bench/cluster-*.bench.ts): an etcd process and broker processes ----

/** A port that was free a moment ago on 127.0.0.1 (the caller retries if someone takes it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const ETCD_START_TIMEOUT_MS = 20_000;
/** A restarted cluster broker recovers its logs (no clean-shutdown marker) and re-registers: slower on a loaded machine. */
const CLUSTER_BROKER_START_TIMEOUT_MS = 60_000;

/** Starts `etcd` (from PATH) on free loopback ports with its data under `dataDir`; resolves with its client URL once healthy. */
export async function startEtcdProcess(group: ProcessGroup, dataDir: string): Promise<{ proc: ChildProcess; endpoint: string }> {
  const endpoint = `http://127.0.0.1:${await freeLoopbackPort()}`;
  const peer = `http://127.0.0.1:${await freeLoopbackPort()}`;
  const proc = spawn('etcd', [
    '--name', 'bench', '--data-dir', join(dataDir, 'etcd'),
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `bench=${peer}`,
    '--logger', 'zap', '--log-level', 'error',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  group.add(proc);
  const spawnFailed = new Promise<never>((_, reject) => proc.once('error', (err) => reject(new Error(`etcd could not start (is it on PATH? Debian: apt-get install etcd-server): ${err.message}`))));
  spawnFailed.catch(() => undefined);
  const deadline = Date.now() + ETCD_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isRunning(proc)) throw new Error(`etcd exited with ${proc.exitCode ?? proc.signalCode}`);
    const healthy = await Promise.race([
      fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) })
        .then(async (res) => res.ok && ((await res.json()) as { health?: string }).health === 'true')
        .catch(() => false),
      spawnFailed,
    ]);
    if (healthy) return { proc, endpoint };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`etcd did not become healthy on ${endpoint} within ${ETCD_START_TIMEOUT_MS} ms`);
}

export interface ClusterBrokerProcess extends BrokerProcess {
  nodeId: number;
  dataDir: string;
}

/**
 * N broker processes (node ids 1..N) on one etcd, each with its own data dir under `baseDir`
 * and the broker config keys `configs` (written to a --config file). `start(id)` starts or
 * restarts broker `id` on its own data dir (on a new ephemeral port: it registers that in etcd).
 */
export class ClusterProcesses {
  readonly brokers = new Map<number, ClusterBrokerProcess>();
  private constructor(
    private readonly group: ProcessGroup,
    private readonly brokerMain: string,
    private readonly baseDir: string,
    private readonly configFile: string,
    readonly etcd: ChildProcess,
    readonly etcdEndpoint: string,
  ) {}

  static async start(group: ProcessGroup, brokerMain: string, baseDir: string, count: number, configs: Record<string, string | number | boolean>): Promise<ClusterProcesses> {
    const etcd = await startEtcdProcess(group, baseDir);
    const configFile = join(baseDir, 'broker-config.json');
    await writeFile(configFile, JSON.stringify({ 'etcd.endpoints': etcd.endpoint, 'cluster.id': 'bench', ...configs }));
    const cluster = new ClusterProcesses(group, brokerMain, baseDir, configFile, etcd.proc, etcd.endpoint);
    for (let id = 1; id <= count; id++) await cluster.start(id);
    return cluster;
  }

  async start(nodeId: number): Promise<ClusterBrokerProcess> {
    const dataDir = join(this.baseDir, `broker-${nodeId}`);
    await mkdir(dataDir, { recursive: true });
    const b = await startBrokerProcess(this.group, this.brokerMain, dataDir, { args: ['--config', this.configFile, '--node-id', String(nodeId), '--log-level', 'error'], startTimeoutMs: CLUSTER_BROKER_START_TIMEOUT_MS });
    const broker = { ...b, nodeId, dataDir };
    this.brokers.set(nodeId, broker);
    return broker;
  }

  /** SIGKILLs broker `nodeId` and waits for it to be gone. */
  async kill(nodeId: number): Promise<void> {
    const b = this.brokers.get(nodeId);
    if (b === undefined) return;
    this.brokers.delete(nodeId);
    await stopProcess(b.proc, 'SIGKILL');
  }

  /** Stops the brokers (SIGTERM: they leave the cluster while etcd is still there), then etcd. */
  async stop(): Promise<void> {
    await Promise.all([...this.brokers.values()].map((b) => stopProcess(b.proc)));
    this.brokers.clear();
    await stopProcess(this.etcd);
  }

  /** `127.0.0.1:port` of every running broker. */
  bootstrap(): string[] {
    return [...this.brokers.values()].map((b) => `127.0.0.1:${b.port}`);
  }
}
