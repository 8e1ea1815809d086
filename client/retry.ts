/**
 * Retry policy shared by every client component: exponential backoff with "full jitter"
 * between `initialBackoffMs` and the capped exponential, so many clients that failed together
 * do not retry in lockstep. Only errors the shared table marks `retriable` are retried.
 */
import { isRetriable } from '../protocol/errors.js';
import { startWatching, stopWatching, type AbortWatchList, type SignalWatcher } from './abort-watch.js';
import { abortError } from './errors.js';
import type { RetryOptions } from './types.js';

/** About 5-10 s of retrying in all: enough to ride out a broker restart. */
export const DEFAULT_RETRY: RetryOptions = { retries: 8, initialBackoffMs: 100, maxBackoffMs: 2000 };

export function retryOptions(...layers: Array<Partial<RetryOptions> | undefined>): RetryOptions {
  const out = { ...DEFAULT_RETRY };
  for (const l of layers) {
    if (l === undefined) continue;
    if (l.retries !== undefined) out.retries = l.retries;
    if (l.initialBackoffMs !== undefined) out.initialBackoffMs = l.initialBackoffMs;
    if (l.maxBackoffMs !== undefined) out.maxBackoffMs = l.maxBackoffMs;
  }
  if (!Number.isInteger(out.retries) || out.retries < 0) throw new RangeError(`retry.retries must be an integer >= 0, got ${out.retries}`);
  if (!(out.initialBackoffMs >= 0)) throw new RangeError(`retry.initialBackoffMs must be >= 0, got ${out.initialBackoffMs}`);
  if (!(out.maxBackoffMs >= out.initialBackoffMs)) {
    throw new RangeError(`retry.maxBackoffMs (${out.maxBackoffMs}) must be >= initialBackoffMs (${out.initialBackoffMs})`);
  }
  return out;
}

/** Delay before attempt number `attempt` (1 = the first retry): jittered in [initial/2, cap]. */
export function backoffMs(opts: RetryOptions, attempt: number): number {
  const exp = Math.min(opts.maxBackoffMs, opts.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
  const floor = Math.min(exp, opts.initialBackoffMs / 2);
  return floor + Math.random() * (exp - floor);
}

/** Resolves after `ms`, or rejects with the abort reason when `signal` fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    new AbortableSleep(signal, resolve, reject).start(ms);
  });
}

/** A backoff that ends early on abort; watches the signal without a listener of its own (abort-watch.ts). */
class AbortableSleep implements SignalWatcher {
  abortList: AbortWatchList | null = null;
  abortSlot = -1;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly signal: AbortSignal,
    private readonly resolve: () => void,
    private readonly reject: (err: Error) => void,
  ) {}

  start(ms: number): void {
    this.timer = setTimeout(() => {
      stopWatching(this);
      this.resolve();
    }, ms);
    startWatching(this, this.signal);
  }

  onAbort(): void {
    this.abortList = null;
    clearTimeout(this.timer!);
    this.reject(abortError(this.signal));
  }
}

export interface RetryHooks {
  signal?: AbortSignal | undefined;
  /** Called before each retry's backoff, e.g. to refresh metadata. */
  onRetry?: (err: unknown, attempt: number) => void | Promise<void>;
  /** Overrides the table's `retriable` flag for this call. */
  shouldRetry?: (err: unknown) => boolean;
}

/** Runs `fn` until it succeeds, throws a non-retriable error, or retries run out. */
export async function withRetry<T>(opts: RetryOptions, fn: (attempt: number) => Promise<T>, hooks: RetryHooks = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(hooks.shouldRetry ?? isRetriable)(err) || attempt >= opts.retries || hooks.signal?.aborted) throw err;
      await hooks.onRetry?.(err, attempt + 1);
      await sleep(backoffMs(opts, attempt + 1), hooks.signal);
    }
  }
}
