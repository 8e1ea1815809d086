/**
 * The producer's record accumulator: per-partition queues of batches waiting to be sent.
 *
 * - A batch takes records until the next one would push it over `batchBytes` (a single record
 *   bigger than that gets a batch of its own; the broker's max.message.bytes has the last word).
 * - A queue's head batch is ready to send when it is full, when a younger batch queues behind
 *   it, when it is `lingerMs` old, or while a flush or close is in progress.
 * - Memory is bounded: records are counted against `bufferMemoryBytes` from append until their
 *   batch is acked or failed. `reserve` answers at once while there is room and otherwise
 *   returns a promise that resolves, in FIFO order, when earlier batches complete — send()
 *   waits instead of buffering without bound, and for at most `maxBlockMs` (Java's
 *   `max.block.ms`): then it fails with BufferExhaustedError.
 * - A record of an aborted send that is still in a batch not yet drained is dropped from it
 *   (`ProducerBatch.drop`); offsets of the other records are mapped past the hole.
 * - Records are encoded into their batch as they are appended (producer-batch.ts), into
 *   buffers from a bounded pool (buffer-pool.ts) that acked batches hand back.
 */
import { rillError } from '../../protocol/errors.js';
import type { BuilderHeaders } from '../../protocol/record-batch-builder.js';
import { startWatching, stopWatching, type AbortWatchList, type SignalWatcher } from '../abort-watch.js';
import { BufferExhaustedError, abortError } from '../errors.js';
import { partitionKey } from '../topic-partition.js';
import { BatchBufferPool } from './buffer-pool.js';
import { ProducerBatch, type AckMode, type PendingRecord } from './producer-batch.js';

export { partitionKey };
export { BATCH_OVERHEAD_BYTES, ProducerBatch, estimateRecordBytes } from './producer-batch.js';
export type { AckMode, PendingRecord, RecordHeader, SealOptions } from './producer-batch.js';

export interface AccumulatorOptions {
  batchBytes: number;
  lingerMs: number;
  bufferMemoryBytes: number;
  /** Called when a batch closes (full or drained): the sticky partitioner moves on. */
  onBatchClosed?: (batch: ProducerBatch) => void;

  /** Longest a send() waits for buffer memory before failing with BufferExhaustedError (60 s). */
  maxBlockMs?: number;
}

/** A send() waiting for buffer memory; watches its signal through abort-watch.ts (no listener of its own). */
class MemoryWaiter implements SignalWatcher {
  timer: NodeJS.Timeout | null = null;
  abortList: AbortWatchList | null = null;
  abortSlot = -1;

  constructor(
    readonly bytes: number,
    readonly resolve: () => void,
    readonly reject: (err: Error) => void,
    private readonly signal: AbortSignal | undefined,
    /** The accumulator's removeWaiter. */
    private readonly giveUp: (w: MemoryWaiter) => void,
  ) {}

  onAbort(): void {
    this.abortList = null;
    this.giveUp(this);
    this.reject(abortError(this.signal!));
  }
}

export const DEFAULT_MAX_BLOCK_MS = 60_000;

/**
 * performance.timeOrigin, read once: it is constant for the process, but its getter computes
 * and boxes a fresh number on every read, garbage on every send() and sender wake-up.
 */
const TIME_ORIGIN_MS = performance.timeOrigin;

/**
 * The producer's clock for batch ages, retry times and delivery timeouts: milliseconds since
 * the epoch with sub-millisecond resolution, monotonic within the process. Date.now() counts
 * whole milliseconds, which made a batch's age up to 1 ms wrong either way.
 */
export function producerClockMs(): number {
  return TIME_ORIGIN_MS + performance.now();
}

export class RecordAccumulator {
  readonly batchBytes: number;
  readonly lingerMs: number;
  readonly bufferMemoryBytes: number;
  readonly maxBlockMs: number;
  private readonly onBatchClosed: ((batch: ProducerBatch) => void) | undefined;
  /** partitionKey -> batches not yet drained, oldest first. */
  readonly queues = new Map<string, ProducerBatch[]>();
  /** The same queues by topic, then partition number (what append looks them up by). */
  private readonly byTopic = new Map<string, Array<ProducerBatch[] | undefined>>();
  /** The queue the last append went to (null once take() emptied and dropped it). */
  private lastQueue: ProducerBatch[] | null = null;
  private lastTopic = '';
  private lastPartition = -1;
  private usedBytes = 0;
  /** The index of the record the last append() added, in the batch it returned. */
  lastIndex = -1;
  /** Whether the last append() left a batch ready to send. */
  lastReady = false;
  private readonly waiters: MemoryWaiter[] = [];
  /** removeWaiter for an aborted waiter: one function per accumulator, not a closure per wait. */
  private readonly giveUp = (w: MemoryWaiter): void => this.removeWaiter(w);
  /** Batch buffers recycled from acked batches. */
  readonly pool: BatchBufferPool;
  /** > 0 while flush()/close() want every batch sent now. */
  private flushes = 0;

  constructor(opts: AccumulatorOptions) {
    if (!(opts.batchBytes >= 1)) throw new RangeError(`batchBytes must be >= 1, got ${opts.batchBytes}`);
    if (!(opts.lingerMs >= 0)) throw new RangeError(`lingerMs must be >= 0, got ${opts.lingerMs}`);
    if (!(opts.bufferMemoryBytes >= opts.batchBytes)) {
      throw new RangeError(`bufferMemoryBytes (${opts.bufferMemoryBytes}) must be >= batchBytes (${opts.batchBytes})`);
    }
    this.batchBytes = opts.batchBytes;
    this.lingerMs = opts.lingerMs;
    this.bufferMemoryBytes = opts.bufferMemoryBytes;
    this.maxBlockMs = opts.maxBlockMs ?? DEFAULT_MAX_BLOCK_MS;
    if (!(this.maxBlockMs >= 0)) throw new RangeError(`maxBlockMs must be >= 0, got ${this.maxBlockMs}`);
    this.onBatchClosed = opts.onBatchClosed;
    this.pool = new BatchBufferPool(this.batchBytes, this.bufferMemoryBytes);
  }

  /** Bytes of records buffered or in flight. */
  get bufferedBytes(): number {
    return this.usedBytes;
  }

  /** Callers waiting for buffer memory. */
  get waitingForMemory(): number {
    return this.waiters.length;
  }

  /**
   * Takes `bytes` of buffer memory: returns undefined at once when there is room (and nobody
   * is queued ahead), else a promise that resolves when it has been granted — or rejects with
   * BufferExhaustedError after `maxBlockMs`, or with the signal's AbortError.
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    if (bytes > this.bufferMemoryBytes) {
      throw rillError('MESSAGE_TOO_LARGE', `a record of ~${bytes} bytes can never fit in bufferMemoryBytes (${this.bufferMemoryBytes})`);
    }
    if (this.waiters.length === 0 && this.usedBytes + bytes <= this.bufferMemoryBytes) {
      this.usedBytes += bytes;
      return undefined;
    }
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const w = new MemoryWaiter(bytes, resolve, reject, signal, this.giveUp);
      w.timer = setTimeout(() => {
        this.removeWaiter(w);
        reject(new BufferExhaustedError(`no room for ~${bytes} bytes in bufferMemoryBytes (${this.bufferMemoryBytes}) within maxBlockMs (${this.maxBlockMs} ms)`));
      }, this.maxBlockMs);
      // One listener per signal, however many sends wait with it (abort-watch.ts).
      if (signal !== undefined) startWatching(w, signal);
      this.waiters.push(w);
    });
  }

  /** Returns memory (a batch completed); wakes waiters in order while they fit. */
  release(bytes: number): void {
    this.usedBytes -= bytes;
    while (this.waiters.length > 0 && this.usedBytes + this.waiters[0]!.bytes <= this.bufferMemoryBytes) {
      const w = this.waiters.shift()!;
      this.usedBytes += w.bytes;
      this.unwatch(w);
      w.resolve();
    }
  }

  /** A waiter gave up (timed out or aborted): later ones may fit now. */
  private removeWaiter(w: MemoryWaiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    this.unwatch(w);
    if (i === 0) this.release(0);
  }

  private unwatch(w: MemoryWaiter): void {
    if (w.timer !== null) clearTimeout(w.timer);
    w.timer = null;
    stopWatching(w);
  }

  /** append() with the record given as one object (tests and tools; send() uses appendRecord). */
  append(topic: string, partition: number, record: PendingRecord, recordBytes: number, acks: AckMode, nowMs: number): ProducerBatch {
    return this.appendRecord(topic, partition, record.timestamp, record.key, record.value, record.headers, recordBytes, acks, nowMs);
  }

  /**
   * Encodes a record (its memory already reserved) into the partition's open batch, opening a
   * new one when there is none, the open one is full, or it has a different acks mode.
   * Returns the batch; the record's index in it is `lastIndex`, and `lastReady` says whether
   * that batch is ready to go (full, or with a younger batch queued behind it) — fields rather
   * than a result object, which would be one more allocation per record. A record the encoder
   * refuses throws and is not appended (the caller gives its memory back).
   */
  appendRecord(
    topic: string,
    partition: number,
    timestamp: number,
    key: Buffer | null,
    value: Uint8Array | string | null | undefined,
    headers: BuilderHeaders,
    recordBytes: number,
    acks: AckMode,
    nowMs: number,
  ): ProducerBatch {
    // Consecutive records usually go to the same partition: skip building the key string and
    // the map lookup while the previous queue is still the live one.
    let queue: ProducerBatch[] | undefined;
    if (this.lastQueue !== null && this.lastTopic === topic && this.lastPartition === partition) {
      queue = this.lastQueue;
    } else {
      // Keyed records hop between partitions: index the queues by topic, then partition
      // number, so no key string is built (and hashed) per record.
      let perPartition = this.byTopic.get(topic);
      if (perPartition === undefined) {
        perPartition = [];
        this.byTopic.set(topic, perPartition);
      }
      queue = perPartition[partition];
      if (queue === undefined) {
        queue = [];
        this.queues.set(partitionKey(topic, partition), queue);
        perPartition[partition] = queue;
      }
      this.lastTopic = topic;
      this.lastPartition = partition;
      this.lastQueue = queue;
    }
    let batch = queue.length > 0 ? queue[queue.length - 1]! : undefined;
    if (batch !== undefined && !batch.closed && (batch.acks !== acks || batch.sizeBytes + recordBytes > this.batchBytes) && batch.appendedCount > 0) {
      this.close(batch);
    }
    if (batch === undefined || batch.closed) {
      const fresh = new ProducerBatch(topic, partition, acks, nowMs, this.pool);
      try {
        this.lastIndex = fresh.appendRecord(timestamp, key, value, headers, recordBytes);
      } catch (err) {
        // Refused: no empty batch (or queue) is left behind.
        if (queue.length === 0) this.dropQueue(topic, partition, queue);
        throw err;
      }
      batch = fresh;
      queue.push(batch);
    } else {
      this.lastIndex = batch.appendRecord(timestamp, key, value, headers, recordBytes);
    }
    const full = batch.sizeBytes >= this.batchBytes;
    if (full) this.close(batch);
    this.lastReady = full || queue.length > 1;
    return batch;
  }

  /**
   * Whether the head batch of a queue should be sent now: full, a younger batch behind it, a
   * flush, or lingerMs old. The linger is counted as the Java client counts it, in whole
   * milliseconds of the clock: ready once `floor(now) - floor(created) >= lingerMs`, so a batch
   * leaves at a real age in (lingerMs - 1, lingerMs] when something drains at that moment.
   * Demanding the full sub-millisecond wait instead sent most batches at the first drain after
   * it: up to a timer tick (and the event loop's wake-up) late, ages 5-7 ms with lingerMs 5.
   */
  isReady(queue: ProducerBatch[], nowMs: number): boolean {
    if (queue.length === 0) return false;
    if (queue.length > 1 || this.flushes > 0) return true;
    const head = queue[0]!;
    return head.closed || Math.floor(nowMs) - Math.floor(head.createdAtMs) >= this.lingerMs;
  }

  private dropQueue(topic: string, partition: number, queue: ProducerBatch[]): void {
    this.queues.delete(partitionKey(topic, partition));
    const perPartition = this.byTopic.get(topic);
    if (perPartition !== undefined) perPartition[partition] = undefined;
    if (this.lastQueue === queue) this.lastQueue = null;
  }

  /** Removes and closes the head batch of the partition's queue. */
  take(key: string): ProducerBatch | undefined {
    const queue = this.queues.get(key);
    if (queue === undefined || queue.length === 0) return undefined;
    const batch = queue.shift()!;
    if (queue.length === 0) this.dropQueue(batch.topic, batch.partition, queue);
    this.close(batch);
    return batch;
  }

  /** Milliseconds until the youngest-lingering head becomes ready, or -1 when none waits. */
  nextReadyInMs(nowMs: number): number {
    let best = -1;
    for (const queue of this.queues.values()) {
      if (queue.length === 0) continue;
      if (this.isReady(queue, nowMs)) return 0;
      // Until the millisecond at which isReady turns true (> 0: it is not true yet).
      const wait = Math.floor(queue[0]!.createdAtMs) + this.lingerMs - nowMs;
      if (best < 0 || wait < best) best = wait;
    }
    return best;
  }

  /** Every batch not yet drained. */
  *pendingBatches(): Iterable<ProducerBatch> {
    for (const queue of this.queues.values()) yield* queue;
  }

  beginFlush(): void {
    this.flushes++;
  }

  endFlush(): void {
    this.flushes--;
  }

  private close(batch: ProducerBatch): void {
    if (batch.closed) return;
    batch.closed = true;
    this.onBatchClosed?.(batch);
  }
}
