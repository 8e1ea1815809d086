/**
 * The parent's side of the end-to-end benchmark's processes: the broker (`dist/broker/main.js`,
 * port 0, its JSON "listening" line read from stdout) and the producer and consumer children
 * (forked, request/reply over IPC with a timeout per request).
 *
 * Nothing outlives the run: every process started here is registered in a ProcessGroup whose
 * `stopAll()` ends them (graceful first, SIGKILL after a bound), and whose exit hook SIGKILLs
 * whatever is left if the parent dies or is interrupted.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { GRACEFUL_STOP_MS, ProcessGroup } from '../processes.js';
import type { ChildReply, ChildRequest, Envelope } from './common.js';

export { ProcessGroup, startBrokerProcess, stopProcess, type BrokerProcess } from '../processes.js';

/** A forked benchmark child answering requests by id over IPC. */
export class ChildClient {
  readonly proc: ChildProcess;
  readonly name: string;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: ChildReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(group: ProcessGroup, name: string, script: string, args: string[], execArgv: string[]) {
    this.name = name;
    this.proc = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    group.add(this.proc);
    this.proc.on('message', (raw: unknown) => {
      const msg = raw as Envelope<ChildReply>;
      const w = this.waiting.get(msg.id);
      if (w === undefined) return;
      this.waiting.delete(msg.id);
      clearTimeout(w.timer);
      if (msg.type === 'error') w.reject(new Error(`${this.name}: ${msg.message}`));
      else w.resolve(msg);
    });
    this.proc.once('exit', (code, signal) => {
      for (const [id, w] of this.waiting) {
        clearTimeout(w.timer);
        w.reject(new Error(`${this.name} process exited (${code ?? signal}) while request ${id} was pending`));
      }
      this.waiting.clear();
    });
  }

  /** Sends a request; rejects if no reply of type `expect` comes within `timeoutMs`. */
  request<T extends ChildReply['type']>(req: ChildRequest, expect: T, timeoutMs: number): Promise<Extract<ChildReply, { type: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null || !this.proc.connected) {
        reject(new Error(`${this.name} process is not running`));
        return;
      }
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: no answer to '${req.type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => {
          if (r.type === expect) resolve(r as Extract<ChildReply, { type: T }>);
          else reject(new Error(`${this.name}: answered '${r.type}' to '${req.type}'`));
        },
        reject,
        timer,
      });
      this.proc.send({ ...req, id });
    });
  }

  /** Asks the child to close its clients and exit; SIGKILL if it does not within 5 s. */
  async exit(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), GRACEFUL_STOP_MS);
    if (this.proc.connected) this.proc.send({ type: 'exit', id: this.nextId++ });
    else this.proc.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  }
}

let clockTicksPerSecond = 0;

/** Kernel clock ticks per second (USER_HZ) for /proc/<pid>/stat, from getconf; 100 if unknown. */
function ticksPerSecond(): number {
  if (clockTicksPerSecond === 0) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat
 * (fields 14 and 15, counted after the parenthesised command name, which may hold spaces).
 * Resolution: one clock tick (10 ms). null where /proc is not there.
 */
export function procCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) / ticksPerSecond();
}

export interface MachineCpu {
  /** CPU seconds the whole machine spent busy (all but idle and iowait), over every core. */
  busySeconds: number;
  /** CPU seconds the hypervisor gave to someone else while this VM wanted to run. */
  stealSeconds: number;
}

/** Machine-wide CPU counters from the `cpu` line of /proc/stat; null where it is not there. */
export function machineCpu(): MachineCpu | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const line = stat.slice(0, stat.indexOf('\n')).split(/\s+/);
  if (line[0] !== 'cpu') return null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user, nice, system, , , irq, softirq, steal] = line.slice(1, 9).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  if (!Number.isFinite(busy)) return null;
  return { busySeconds: busy / ticksPerSecond(), stealSeconds: steal! / ticksPerSecond() };
}
