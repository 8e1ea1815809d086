/**
 * The consumer's bounded waits: a promise raced against an AbortSignal or a deadline. They
 * watch the caller's signal through abort-watch.ts (one listener per signal, however many wait):
 * a commit({ signal }) loop with one signal adds nothing per call to the signal's listeners.
 */
import { raceAbort, startWatching, stopWatching, type AbortWatchList, type SignalWatcher } from '../abort-watch.js';

const reasonOf = (signal: AbortSignal): Error => signal.reason as Error;

export /** `promise`, or the signal's reason as soon as it aborts (the promise itself runs on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(promise, signal, reasonOf);
}

export /** True when `promise` settles within `timeoutMs`; false on the timeout or when `signal` aborts first. */
async function settlesWithin(promise: Promise<unknown>, timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted === true) return false;
  const bound = new Bound();
  const expired = new Promise<boolean>((resolve) => {
    bound.resolve = resolve;
    bound.timer = setTimeout(() => resolve(false), timeoutMs);
    if (signal !== undefined) startWatching(bound, signal);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(bound.timer);
    stopWatching(bound);
  }
}

/** settlesWithin's deadline: the timeout or the signal, whichever comes first, resolves false. */
class Bound implements SignalWatcher {
  abortList: AbortWatchList | null = null;
  abortSlot = -1;
  timer: NodeJS.Timeout | undefined = undefined;
  resolve: (settled: boolean) => void = () => undefined;

  onAbort(): void {
    this.abortList = null;
    this.resolve(false);
  }
}
