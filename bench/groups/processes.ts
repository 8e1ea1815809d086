/**
 * The parent's side of the consumer-group benchmark's processes: the broker
 * (`dist/broker/main.js` with a config file, port 0, its JSON "listening" line read from
 * stdout) and the consumer members (forked bench/groups/consumer.js, events over IPC).
 *
 * Nothing outlives the run: every process is registered in a ProcessGroup whose `stopAll()`
 * ends them (SIGTERM, SIGKILL after 5 s), and whose exit hook SIGKILLs whatever is left if the
 * parent dies or is interrupted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { ProcessGroup, isRunning } from '../processes.js';
import type { AssignmentEvent, ChildEvent, FirstMessageEvent, StartCommand } from './common.js';

export { ProcessGroup, isRunning, startBrokerProcess, stopProcess } from '../processes.js';

/**
 * One consumer process, with what it reported so far: messages handled, next offset per
 * partition, its assignment, and each newly assigned partition's first message.
 */
export class Member {
  readonly proc: ChildProcess;
  readonly name: string;
  messages = 0;
  nextOffsets: Record<number, number> = {};
  eventLoopMaxMs = 0;
  partitions: number[] = [];
  readonly assignments: AssignmentEvent[] = [];
  readonly firstMessages: FirstMessageEvent[] = [];
  closedAtMs: number | null = null;
  failure: string | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(group: ProcessGroup, name: string, script: string, brokers: string) {
    this.name = name;
    this.proc = fork(script, ['--brokers', brokers], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    group.add(this.proc);
    this.proc.on('message', (raw: unknown) => this.onEvent(raw as ChildEvent));
    this.proc.once('exit', () => this.wake());
  }

  get running(): boolean {
    return isRunning(this.proc);
  }

  /** Joins the group and starts consuming; resolves once the child says it started. */
  async start(cmd: Omit<StartCommand, 'type'>, timeoutMs: number): Promise<void> {
    let started = false;
    const onStarted = (raw: unknown): void => {
      if ((raw as ChildEvent).type === 'started') started = true;
    };
    this.proc.on('message', onStarted);
    this.proc.send({ type: 'start', ...cmd });
    try {
      await this.until(() => started, timeoutMs, 'start');
    } finally {
      this.proc.off('message', onStarted);
    }
  }

  /** Asks for a clean leave (close()); resolves once the process exited. */
  async close(timeoutMs: number): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.proc.connected) this.proc.send({ type: 'close' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }

  /** Resolves when `check()` holds (checked on every event); rejects after `timeoutMs` or on the child's failure. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitUntil([this], check, timeoutMs, `${this.name}: ${what}`);
  }

  /** @internal used by waitUntil */
  onWake(fn: () => void): () => void {
    this.waiters.add(fn);
    return () => this.waiters.delete(fn);
  }

  private onEvent(e: ChildEvent): void {
    switch (e.type) {
      case 'progress':
        this.messages = e.messages;
        this.nextOffsets = e.nextOffsets;
        this.eventLoopMaxMs = e.eventLoopMaxMs;
        break;
      case 'assignment':
        this.partitions = e.partitions;
        this.assignments.push(e);
        break;
      case 'first-message':
        this.firstMessages.push(e);
        break;
      case 'closed':
        this.closedAtMs = e.atMs;
        break;
      case 'failed':
        this.failure = e.message;
        break;
      case 'started':
        break;
    }
    this.wake();
  }

  private wake(): void {
    for (const fn of [...this.waiters]) fn();
  }
}

/**
 * Resolves when `check()` holds, re-checked whenever any of `members` reports something (and
 * every 100 ms); rejects after `timeoutMs`, or when a member failed.
 */
export function waitUntil(members: Member[], check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const unsubscribe: Array<() => void> = [];
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      clearInterval(poll);
      for (const u of unsubscribe) u();
      if (err === null) resolve();
      else reject(err);
    };
    const test = (): void => {
      const failed = members.find((m) => m.failure !== null);
      if (failed !== undefined) done(new Error(`${failed.name} failed: ${failed.failure}`));
      else if (check()) done(null);
    };
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const poll = setInterval(test, 100);
    for (const m of members) unsubscribe.push(m.onWake(test));
    test();
  });
}
