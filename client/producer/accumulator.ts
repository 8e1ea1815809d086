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
 */
import { rillError } from '../../protocol/errors.js';
import { BATCH_HEADER_BYTES } from '../../protocol/record-batch.js';
import { BufferExhaustedError, abortError } from '../errors.js';
import { partitionKey } from '../topic-partition.js';

export { partitionKey };

/** RecordBatch v2 header bytes (baseOffset .. recordCount), counted once per batch. */
export const BATCH_OVERHEAD_BYTES = BATCH_HEADER_BYTES;
/** Worst-case per-record framing: length, attributes, timestamp/offset deltas, key/value lengths, header count. */
const RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
const HEADER_OVERHEAD_BYTES = 10;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface PendingRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  timestamp: number;
}

/** An upper bound of a record's encoded size, cheap enough to compute per record. */
export function estimateRecordBytes(r: PendingRecord): number {
  let n = RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (let i = 0; i < r.headers.length; i++) {
    const h = r.headers[i]!;
    n += HEADER_OVERHEAD_BYTES + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  }
  return n;
}

export type AckMode = -1 | 0 | 1;

/** One batch: its records, then (once drained by the sender) its encoded bytes and fate. */
export class ProducerBatch {
  readonly topic: string;
  readonly partition: number;
  readonly acks: AckMode;
  readonly createdAtMs: number;
  readonly records: PendingRecord[] = [];
  sizeBytes = BATCH_OVERHEAD_BYTES;
  /** No more records go in (full or drained). */
  closed = false;
  /** Encoded once, when first drained; restamped only if the producer epoch is bumped. */
  encoded: Buffer | null = null;
  baseSequence = -1;
  producerEpoch = -1;
  /** Sends so far; the sender gives up after retries + 1. */
  attempts = 0;
  retryAtMs = 0;
  lastError: Error | null = null;
  baseOffset = -1;
  settled = false;
  /** Resolves when acked, rejects when it failed for good. Exactly one promise per batch. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;

  constructor(topic: string, partition: number, acks: AckMode, nowMs: number) {
    this.topic = topic;
    this.partition = partition;
    this.acks = acks;
    this.createdAtMs = nowMs;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Awaited by send() and flush(); this keeps a failure nobody awaits from crashing the process.
    this.done.catch(() => undefined);
  }

  private encodedCount = -1;
  /** Records dropped by aborted sends (null slots in `records`) before the batch was drained. */
  private droppedCount = 0;
  /** index appended at -> index in the encoded batch, once records were dropped. */
  private finalIndexes: Int32Array | null = null;

  get recordCount(): number {
    return this.encodedCount >= 0 ? this.encodedCount : this.records.length - this.droppedCount;
  }

  /**
   * Drops records [from, to) — an aborted send's — from a batch that was not drained yet.
   * Returns the estimated bytes freed. The slots stay (as null) so indexes handed out remain valid.
   */
  drop(from: number, to: number): number {
    if (this.encoded !== null) throw new Error('a drained batch cannot drop records');
    let freed = 0;
    const records = this.records as Array<PendingRecord | null>;
    for (let i = from; i < to; i++) {
      const r = records[i];
      if (r === null || r === undefined) continue;
      freed += estimateRecordBytes(r);
      records[i] = null;
      this.droppedCount++;
    }
    this.sizeBytes -= freed;
    return freed;
  }

  /** True once an aborted send dropped records from this batch (offsets are then remapped). */
  get droppedRecords(): boolean {
    return this.droppedCount > 0;
  }

  /** The records to encode (dropped ones left out). */
  liveRecords(): PendingRecord[] {
    if (this.droppedCount === 0) return this.records;
    const live: PendingRecord[] = [];
    const map = new Int32Array(this.records.length);
    const records = this.records as Array<PendingRecord | null>;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      map[i] = r === null ? -1 : live.length;
      if (r !== null && r !== undefined) live.push(r);
    }
    this.finalIndexes = map;
    return live;
  }

  /** The offset of the record appended at `index`, once acked (-1 for acks 0 or unknown). */
  offsetOf(index: number): number {
    if (this.baseOffset < 0) return -1;
    return this.baseOffset + (this.finalIndexes === null ? index : this.finalIndexes[index]!);
  }

  /** Keeps the encoded bytes and lets the record objects go: resends use the bytes only. */
  setEncoded(bytes: Buffer, count = this.records.length - this.droppedCount): void {
    this.encodedCount = count;
    this.encoded = bytes;
    this.records.length = 0;
  }

  complete(baseOffset: number): void {
    if (this.settled) return;
    this.settled = true;
    this.baseOffset = baseOffset;
    this.resolveDone();
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.lastError = err;
    this.rejectDone(err);
  }
}

export interface AccumulatorOptions {
  batchBytes: number;
  lingerMs: number;
  bufferMemoryBytes: number;
  /** Called when a batch closes (full or drained): the sticky partitioner moves on. */
  onBatchClosed?: (batch: ProducerBatch) => void;

  /** Longest a send() waits for buffer memory before failing with BufferExhaustedError (60 s). */
  maxBlockMs?: number;
}

interface MemoryWaiter {
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

export const DEFAULT_MAX_BLOCK_MS = 60_000;

export class RecordAccumulator {
  readonly batchBytes: number;
  readonly lingerMs: number;
  readonly bufferMemoryBytes: number;
  readonly maxBlockMs: number;
  private readonly onBatchClosed: ((batch: ProducerBatch) => void) | undefined;
  /** partitionKey -> batches not yet drained, oldest first. */
  readonly queues = new Map<string, ProducerBatch[]>();
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
      const w: MemoryWaiter = { bytes, resolve, reject, timer: null, signal, onAbort: null };
      w.timer = setTimeout(() => {
        this.removeWaiter(w);
        reject(new BufferExhaustedError(`no room for ~${bytes} bytes in bufferMemoryBytes (${this.bufferMemoryBytes}) within maxBlockMs (${this.maxBlockMs} ms)`));
      }, this.maxBlockMs);
      if (signal !== undefined) {
        w.onAbort = () => {
          this.removeWaiter(w);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
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
    if (w.onAbort !== null) w.signal!.removeEventListener('abort', w.onAbort);
    w.onAbort = null;
  }

  /**
   * Appends a record (its memory already reserved) to the partition's open batch, opening a
   * new one when there is none, the open one is full, or it has a different acks mode.
   * Returns the batch; the record's index in it is `lastIndex`, and `lastReady` says whether
   * that batch is ready to go (full, or with a younger batch queued behind it) — fields rather
   * than a result object, which would be one more allocation per record.
   */
  append(topic: string, partition: number, record: PendingRecord, recordBytes: number, acks: AckMode, nowMs: number): ProducerBatch {
    // Consecutive records usually go to the same partition: skip building the key string and
    // the map lookup while the previous queue is still the live one.
    let queue: ProducerBatch[] | undefined;
    if (this.lastQueue !== null && this.lastTopic === topic && this.lastPartition === partition) {
      queue = this.lastQueue;
    } else {
      const key = partitionKey(topic, partition);
      queue = this.queues.get(key);
      if (queue === undefined) {
        queue = [];
        this.queues.set(key, queue);
      }
      this.lastTopic = topic;
      this.lastPartition = partition;
      this.lastQueue = queue;
    }
    let batch = queue.length > 0 ? queue[queue.length - 1]! : undefined;
    if (batch !== undefined && !batch.closed && (batch.acks !== acks || batch.sizeBytes + recordBytes > this.batchBytes) && batch.records.length > 0) {
      this.close(batch);
    }
    if (batch === undefined || batch.closed) {
      batch = new ProducerBatch(topic, partition, acks, nowMs);
      queue.push(batch);
    }
    batch.records.push(record);
    batch.sizeBytes += recordBytes;
    const full = batch.sizeBytes >= this.batchBytes;
    if (full) this.close(batch);
    this.lastIndex = batch.records.length - 1;
    this.lastReady = full || queue.length > 1;
    return batch;
  }

  /** Whether the head batch of a queue should be sent now. */
  isReady(queue: ProducerBatch[], nowMs: number): boolean {
    if (queue.length === 0) return false;
    if (queue.length > 1 || this.flushes > 0) return true;
    const head = queue[0]!;
    return head.closed || nowMs - head.createdAtMs >= this.lingerMs;
  }

  /** Removes and closes the head batch of the partition's queue. */
  take(key: string): ProducerBatch | undefined {
    const queue = this.queues.get(key);
    if (queue === undefined || queue.length === 0) return undefined;
    const batch = queue.shift()!;
    if (queue.length === 0) {
      this.queues.delete(key);
      if (this.lastQueue === queue) this.lastQueue = null;
    }
    this.close(batch);
    return batch;
  }

  /** Milliseconds until the youngest-lingering head becomes ready, or -1 when none waits. */
  nextReadyInMs(nowMs: number): number {
    let best = -1;
    for (const queue of this.queues.values()) {
      if (queue.length === 0) continue;
      if (this.isReady(queue, nowMs)) return 0;
      const wait = queue[0]!.createdAtMs + this.lingerMs - nowMs;
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
