/**
 * A connection's in-flight slots: at most `max` requests written and unanswered at once; later
 * callers wait FIFO for a slot (so nobody overtakes an earlier caller's write), each for at most
 * its timeout or until its AbortSignal fires. A released slot goes straight to the oldest waiter.
 */
import { TimeoutError } from '../protocol/errors.js';
import { startWatching, stopWatching, type AbortWatchList, type SignalWatcher } from './abort-watch.js';
import { abortError } from './errors.js';

/** A caller waiting for a slot: granted, timed out, aborted or failed, whichever comes first. */
class SlotWaiter implements SignalWatcher {
  timer: NodeJS.Timeout | null = null;
  abortList: AbortWatchList | null = null;
  abortSlot = -1;

  constructor(
    private readonly slots: RequestSlots,
    readonly signal: AbortSignal | undefined,
    private readonly resolve: () => void,
    private readonly reject: (err: Error) => void,
  ) {}

  grant(): void {
    this.settle();
    this.resolve();
  }

  fail(err: Error): void {
    this.settle();
    this.reject(err);
  }

  /** Out of the queue, then failed (timed out or aborted). */
  giveUp(err: Error): void {
    this.slots.drop(this);
    this.fail(err);
  }

  onAbort(): void {
    this.abortList = null;
    this.giveUp(abortError(this.signal!));
  }

  private settle(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // One listener per signal stays on it; only our entry goes (abort-watch.ts).
    stopWatching(this);
  }
}

export class RequestSlots {
  /** Slots taken: requests written and awaiting a response (or a write, for acks=0). */
  private taken = 0;
  private readonly waiters: SlotWaiter[] = [];

  constructor(readonly max: number) {}

  get inUse(): number {
    return this.taken;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes a slot at once if one is free and nobody waits; false otherwise. */
  tryTake(): boolean {
    if (this.taken < this.max && this.waiters.length === 0) {
      this.taken++;
      return true;
    }
    return false;
  }

  /** Takes a slot: at once, or after the callers ahead; rejects after `timeoutMs` or on abort. */
  take(what: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<void> | void {
    if (this.tryTake()) return;
    return new Promise((resolve, reject) => {
      const waiter = new SlotWaiter(this, signal, resolve, reject);
      waiter.timer = setTimeout(() => waiter.giveUp(new TimeoutError(`${what} timed out after waiting ${timeoutMs} ms for one of ${this.max} in-flight slots`)), Math.max(1, timeoutMs));
      if (signal !== undefined) startWatching(waiter, signal);
      this.waiters.push(waiter);
    });
  }

  /** A waiter gave up: it leaves the queue. */
  drop(waiter: SlotWaiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Takes a slot unconditionally (the handshake, which nothing else may precede). */
  force(): void {
    this.taken++;
  }

  /** Frees a slot, handing it straight to the oldest waiter so nobody can overtake it. */
  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next.grant();
    else this.taken--;
  }

  /** Fails every waiter (the connection is closed for good). */
  failWaiters(err: Error): void {
    for (const w of this.waiters.splice(0)) w.fail(err);
  }
}
