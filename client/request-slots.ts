/**
 * A connection's in-flight slots: at most `max` requests written and unanswered at once; later
 * callers wait FIFO for a slot (so nobody overtakes an earlier caller's write), each for at most
 * its timeout or until its AbortSignal fires. A released slot goes straight to the oldest waiter.
 */
import { TimeoutError } from '../protocol/errors.js';
import { abortError } from './errors.js';

interface SlotWaiter {
  grant: () => void;
  fail: (err: Error) => void;
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
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: SlotWaiter = {
        grant: () => {
          settle();
          resolve();
        },
        fail: (err: Error) => {
          settle();
          reject(err);
        },
      };
      const giveUp = (err: Error): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        waiter.fail(err);
      };
      const onAbort = (): void => giveUp(abortError(signal!));
      const timer = setTimeout(() => giveUp(new TimeoutError(`${what} timed out after waiting ${timeoutMs} ms for one of ${this.max} in-flight slots`)), Math.max(1, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
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
