/**
 * Child processes of the process-level benchmarks (bench/e2e, bench/groups): a ProcessGroup that
 * ends everything it started (graceful first, SIGKILL after a bound, and SIGKILL from an exit
 * hook if the parent dies or is interrupted), and the broker process (`dist/broker/main.js`,
 * port 0, its JSON "listening" line read from stdout).
 */
import { spawn, type ChildProcess } from 'node:child_process';

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
    const timer = setTimeout(() => fail(`no listening line within ${BROKER_START_TIMEOUT_MS} ms (stdout: ${out})`), BROKER_START_TIMEOUT_MS);
    const onError = (err: Error): void => fail(err.message);
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited with ${code ?? signal} (stdout: ${out})`);
    proc.once('error', onError);
    proc.once('exit', onEarlyExit);
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      let line: { event?: string; port?: number; metricsPort?: number | null };
      try {
        line = JSON.parse(out.slice(0, nl)) as typeof line;
      } catch {
        fail(`unexpected stdout: ${out}`);
        return;
      }
      if (line.event !== 'listening' || typeof line.port !== 'number') {
        fail(`unexpected stdout: ${out}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      proc.off('exit', onEarlyExit);
      proc.stdout!.removeAllListeners('data');
      // Keep draining stdout so the broker can never block on a full pipe.
      proc.stdout!.resume();
      resolve({ proc, pid: proc.pid!, port: line.port, metricsPort: typeof line.metricsPort === 'number' ? line.metricsPort : null });
    });
  });
}

