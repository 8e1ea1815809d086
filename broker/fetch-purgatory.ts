/**
 * Parked fetches (Kafka's "fetch purgatory"): a fetch that found fewer than `minBytes` waits
 * here until the partitions it reads have grown by enough bytes, or its `maxWaitMs` passes,
 * whichever comes first; then it is re-read and answered.
 *
 * No polling. Waking is driven by `PartitionLog.onAppend`, which this class owns: it is set
 * on a log while some fetch waits on it and cleared when none does, so an append on a
 * partition nobody waits for costs one null check. Each parked fetch has exactly one timer
 * (its maxWaitMs). Wakes are coalesced per microtask: a burst of appends re-checks each
 * waiting fetch once.
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
 */
import type { PartitionLog } from '../storage/partition-log.js';
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

interface Entry {
  readonly watched: Array<{ log: PartitionLog; sizeAtPark: number; highWatermarkAtPark: number }>;
  readonly waitForHighWatermark: boolean;
  readonly missingBytes: number;
  readonly signal: AbortSignal;
  timer: NodeJS.Timeout | null;
  done: boolean;
  finish: () => void;
  drop: () => void;
}

export class FetchPurgatory {
  private readonly byLog = new Map<PartitionLog, Set<Entry>>();
  private readonly entries = new Set<Entry>();
  private readonly pendingWakes = new Set<PartitionLog>();
  private wakeScheduled = false;
  private closed = false;
  private readonly onAppend = (log: PartitionLog): void => {
    this.pendingWakes.add(log);
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
    return this.entries.size;
  }

  /** Waits per the class comment; resolves with `complete()`'s answer (or `current`). */
  park<T>(req: ParkRequest<T>): Promise<T> {
    if (this.closed || this.entries.size >= this.maxParked || req.signal.aborted || req.logs.length === 0 || req.maxWaitMs <= 0) {
      return Promise.resolve(req.current);
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        watched: req.logs.map((log) => ({ log, sizeAtPark: log.sizeBytes, highWatermarkAtPark: log.highWatermark })),
        waitForHighWatermark: req.waitFor === 'highWatermark',
        missingBytes: req.missingBytes,
        signal: req.signal,
        timer: null,
        done: false,
        finish: () => {
          if (!this.release(entry)) return;
          req.complete().then(resolve, reject);
        },
        drop: () => {
          if (!this.release(entry)) return;
          resolve(req.current);
        },
      };
      this.entries.add(entry);
      for (const w of entry.watched) {
        let set = this.byLog.get(w.log);
        if (set === undefined) {
          set = new Set();
          this.byLog.set(w.log, set);
          w.log.onAppend = this.onAppend;
        }
        set.add(entry);
      }
      entry.timer = setTimeout(entry.finish, req.maxWaitMs);
      req.signal.addEventListener('abort', entry.drop, { once: true });
      this.metrics.parkedFetches.set(this.entries.size);
    });
  }

  /** Answers every fetch waiting on `log` now (its topic was deleted, say). */
  wakeAll(log: PartitionLog): void {
    const set = this.byLog.get(log);
    if (set === undefined) return;
    for (const entry of [...set]) entry.finish();
  }

  /** Answers every parked fetch now and parks no more. */
  close(): void {
    this.closed = true;
    for (const entry of [...this.entries]) entry.finish();
  }

  private readonly processWakes = (): void => {
    this.wakeScheduled = false;
    const logs = [...this.pendingWakes];
    this.pendingWakes.clear();
    for (const log of logs) {
      const set = this.byLog.get(log);
      if (set === undefined) continue;
      for (const entry of [...set]) {
        if (!entry.done && arrivedBytes(entry) >= entry.missingBytes) entry.finish();
      }
    }
  };

  /** Unregisters an entry; false if it was already done. */
  private release(entry: Entry): boolean {
    if (entry.done) return false;
    entry.done = true;
    if (entry.timer !== null) clearTimeout(entry.timer);
    // Connections live long and park many fetches: never leave a listener behind.
    entry.signal.removeEventListener('abort', entry.drop);
    this.entries.delete(entry);
    for (const w of entry.watched) {
      const set = this.byLog.get(w.log);
      if (set === undefined) continue;
      set.delete(entry);
      if (set.size === 0) {
        this.byLog.delete(w.log);
        if (w.log.onAppend === this.onAppend) w.log.onAppend = null;
      }
    }
    this.metrics.parkedFetches.set(this.entries.size);
    return true;
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
