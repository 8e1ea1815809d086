/**
 * Parked fetches (Kafka's "fetch purgatory"): a fetch that found fewer than `minBytes` waits
 * here until the partitions it reads have grown by enough bytes, or its `maxWaitMs` passes,
 * whichever comes first; then it is re-read and answered.
 *
 * No polling. Waking is driven by `PartitionLog.onAppend`, which this class owns: it is set
 * on a log while some fetch waits on it and cleared when none does, so an append on a
 * partition nobody waits for costs one null check. Wakes are coalesced per microtask: a burst
 * of appends re-checks each waiting fetch once.
 *
 * A consumer of a replicated partition (`waitFor: 'highWatermark'`) is woken by the high
 * watermark moving instead (PartitionLog.updateHighWatermark calls onAppend too).
 *
 * How much arrived is estimated without reading: the growth of each watched log's `sizeBytes`
 * since the fetch parked. Only when the estimate reaches the missing bytes is the fetch re-read
 * (the re-read is what is answered, so an over-estimate costs an early answer, nothing more).
 *
 * Bounded: at most `fetch.purgatory.max.requests` parked at once; beyond that, or once close()
 * has begun, a fetch is answered at once with what it already has.
 *
 * Garbage. A tailing consumer parks a fetch per message burst (hundreds a second). Everything
 * that lives as long as the broker is an old-space object, and V8 allocates a rehashed Map or
 * Set table (or an EventTarget's listener map) of an old-space collection in old space too, so
 * adding to and deleting from long-lived collections on every park filled the old generation
 * (~100 bytes per add/delete pair) and brought a Mark-Compact every few seconds
 * (docs/BENCHMARKS.md, issue 8 session 15). Hence no Map/Set changes per park:
 *   - maxWaitMs: one timer for the whole purgatory over a deadline heap of the parked fetches
 *     (deadline-queue.ts; the heap is also the list of all of them);
 *   - per log, an array of watches, swap-removed by index; a log's array stays in `byLog` when
 *     it empties (swept out only when empty arrays pile up);
 *   - abort: one 'abort' listener per connection signal, registered on its first park, and a
 *     per-signal array of its parked fetches;
 *   - wakes: a reused array, not a Set cleared per microtask.
 */
import { performance } from 'node:perf_hooks';
import type { PartitionLog } from '../storage/partition-log.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { BrokerMetrics } from './metrics.js';

export interface ParkRequest<T> {
  /** The partitions whose appends may satisfy the fetch. */
  logs: readonly PartitionLog[];
  /** Bytes still missing to reach the fetch's minBytes. */
  missingBytes: number;
  maxWaitMs: number;
  /** Aborted when the client went away: stop waiting, nobody will read the answer. */
  signal: AbortSignal;
  /** What to answer if the fetch cannot park or its client is gone. */
  current: T;
  /** Re-reads and builds the answer. */
  complete: () => Promise<T>;
  /**
   * 'append' (default): bytes appended count. 'highWatermark': a consumer of a replicated log,
   * which can read only below the high watermark: any move of it completes the fetch.
   */
  waitFor?: 'append' | 'highWatermark';
}

/** One parked fetch's interest in one log; `index` is its place in that log's array. */
interface Watch {
  readonly entry: Entry;
  readonly log: PartitionLog;
  readonly sizeAtPark: number;
  readonly highWatermarkAtPark: number;
  index: number;
}

/** The parked fetches of one connection (one abort signal). */
interface SignalWaiters {
  readonly entries: Entry[];
}

interface Entry {
  readonly watched: Watch[];
  readonly waitForHighWatermark: boolean;
  readonly missingBytes: number;
  /** performance.now() at which maxWaitMs has passed. */
  readonly deadline: number;
  readonly waiters: SignalWaiters;
  /** Place in the deadline queue; -1 once released. */
  heapIndex: number;
  /** Place in `waiters.entries`. */
  signalIndex: number;
  readonly current: unknown;
  readonly complete: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Empty per-log arrays tolerated in `byLog` before a sweep (beyond half of its keys). */
const EMPTY_LOGS_BEFORE_SWEEP = 64;

export class FetchPurgatory {
  /** Every parked fetch; hands those whose maxWaitMs passed to finish(). */
  private readonly deadlines = new DeadlineQueue<Entry>((entry) => this.finish(entry));
  private readonly byLog = new Map<PartitionLog, Watch[]>();
  private emptyLogs = 0;
  private readonly bySignal = new WeakMap<AbortSignal, SignalWaiters>();
  private readonly wakes: Array<PartitionLog | undefined> = [];
  private wakeCount = 0;
  private wakeScheduled = false;
  private closed = false;
  private readonly onAppend = (log: PartitionLog): void => {
    for (let i = 0; i < this.wakeCount; i++) if (this.wakes[i] === log) return;
    this.wakes[this.wakeCount++] = log;
    if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      queueMicrotask(this.processWakes);
    }
  };

  constructor(
    private readonly maxParked: number,
    private readonly metrics: BrokerMetrics,
  ) {}

  get size(): number {
    return this.deadlines.size;
  }

  /** Waits per the class comment; resolves with `complete()`'s answer (or `current`). */
  park<T>(req: ParkRequest<T>): Promise<T> {
    if (this.closed || this.deadlines.size >= this.maxParked || req.signal.aborted || req.logs.length === 0 || req.maxWaitMs <= 0) {
      return Promise.resolve(req.current);
    }
    return new Promise<T>((resolve, reject) => {
      const waiters = this.waitersOf(req.signal);
      const watched: Watch[] = [];
      const entry: Entry = {
        watched,
        waitForHighWatermark: req.waitFor === 'highWatermark',
        missingBytes: req.missingBytes,
        deadline: performance.now() + req.maxWaitMs,
        waiters,
        heapIndex: -1,
        signalIndex: waiters.entries.length,
        current: req.current,
        complete: req.complete,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      waiters.entries.push(entry);
      for (const log of req.logs) {
        let list = this.byLog.get(log);
        if (list === undefined) {
          list = [];
          this.byLog.set(log, list);
        } else if (list.length === 0) this.emptyLogs--;
        if (list.length === 0) log.onAppend = this.onAppend;
        const watch: Watch = { entry, log, sizeAtPark: log.sizeBytes, highWatermarkAtPark: log.highWatermark, index: list.length };
        list.push(watch);
        watched.push(watch);
      }
      this.deadlines.push(entry);
      this.metrics.parkedFetches.set(this.deadlines.size);
    });
  }

  /** Answers every fetch waiting on `log` now (its topic was deleted, say). */
  wakeAll(log: PartitionLog): void {
    const list = this.byLog.get(log);
    if (list === undefined) return;
    for (let i = list.length - 1; i >= 0; i--) if (i < list.length) this.finish(list[i]!.entry);
    this.byLog.delete(log);
    if (list.length === 0) this.emptyLogs--;
  }

  /** Answers every parked fetch now and parks no more. */
  close(): void {
    this.closed = true;
    for (const entry of this.deadlines.snapshot()) this.finish(entry);
    this.deadlines.stop();
  }

  private readonly processWakes = (): void => {
    this.wakeScheduled = false;
    // Finishing a fetch runs its re-read up to its first await, which never appends; were a
    // log added meanwhile anyway, the walk reaches it too.
    for (let w = 0; w < this.wakeCount; w++) {
      const log = this.wakes[w]!;
      this.wakes[w] = undefined;
      const list = this.byLog.get(log);
      if (list === undefined) continue;
      // Backwards: finishing swap-removes the entry's watch at i, moving one already seen there.
      for (let i = list.length - 1; i >= 0; i--) {
        if (i >= list.length) continue;
        const entry = list[i]!.entry;
        if (arrivedBytes(entry) >= entry.missingBytes) this.finish(entry);
      }
    }
    this.wakeCount = 0;
  };

  /** The re-read and its answer. */
  private finish(entry: Entry): void {
    if (!this.release(entry)) return;
    entry.complete().then(entry.resolve, entry.reject);
  }

  /** The client went away: answer with what there was (nobody reads it). */
  private drop(entry: Entry): void {
    if (!this.release(entry)) return;
    entry.resolve(entry.current);
  }

  /** The signal's array of parked fetches, with its one 'abort' listener added on first use. */
  private waitersOf(signal: AbortSignal): SignalWaiters {
    let waiters = this.bySignal.get(signal);
    if (waiters === undefined) {
      const created: SignalWaiters = { entries: [] };
      waiters = created;
      this.bySignal.set(signal, created);
      // Lives as long as the signal (a connection's): added once, not per park.
      signal.addEventListener(
        'abort',
        () => {
          for (let i = created.entries.length - 1; i >= 0; i--) if (i < created.entries.length) this.drop(created.entries[i]!);
        },
        { once: true },
      );
    }
    return waiters;
  }

  /** Unregisters an entry; false if it was already released. */
  private release(entry: Entry): boolean {
    if (!this.deadlines.remove(entry)) return false;
    // Swap-removes, by the index each kept of its place.
    const mine = entry.waiters.entries;
    const lastEntry = mine.pop()!;
    if (entry.signalIndex < mine.length) {
      mine[entry.signalIndex] = lastEntry;
      lastEntry.signalIndex = entry.signalIndex;
    }
    for (const watch of entry.watched) {
      const list = this.byLog.get(watch.log);
      if (list === undefined || list[watch.index] !== watch) continue;
      const lastWatch = list.pop()!;
      if (watch.index < list.length) {
        list[watch.index] = lastWatch;
        lastWatch.index = watch.index;
      }
      if (list.length === 0) {
        if (watch.log.onAppend === this.onAppend) watch.log.onAppend = null;
        this.emptyLogs++;
      }
    }
    if (this.emptyLogs > EMPTY_LOGS_BEFORE_SWEEP && this.emptyLogs * 2 > this.byLog.size) this.sweepEmptyLogs();
    this.metrics.parkedFetches.set(this.deadlines.size);
    return true;
  }

  /** Forgets logs nobody waits on (a log closed since may never be parked on again). */
  private sweepEmptyLogs(): void {
    for (const [log, list] of this.byLog) if (list.length === 0) this.byLog.delete(log);
    this.emptyLogs = 0;
  }
}

function arrivedBytes(entry: Entry): number {
  let total = 0;
  for (const w of entry.watched) {
    if (entry.waitForHighWatermark) {
      if (w.log.highWatermark > w.highWatermarkAtPark) return Number.POSITIVE_INFINITY;
      continue;
    }
    const grown = w.log.sizeBytes - w.sizeAtPark;
    if (grown > 0) total += grown;
  }
  return total;
}
