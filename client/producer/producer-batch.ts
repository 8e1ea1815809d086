/**
 * One batch of the record accumulator: its records are encoded into a RecordBatchBuilder
 * (protocol/record-batch-builder.ts) as they are appended, into a buffer from the
 * accumulator's pool; the sender seals it (header, producer state, CRC) and sends those bytes,
 * as often as retries need; the answer settles it and its buffer goes back to the pool.
 *
 * A record of an aborted send that is still in a batch not yet drained is dropped from it
 * (`drop`); offsets of the other records are mapped past the hole.
 */
import { RecordBatchBuilder, type BuilderHeaders } from '../../protocol/record-batch-builder.js';
import { BATCH_HEADER_BYTES, decodeBatch, encodeBatch, type Compression, type RecordHeader } from '../../protocol/record-batch.js';
import type { BatchBufferPool } from './buffer-pool.js';
import { RECORD_OVERHEAD_BYTES, estimateHeaderBytes } from './records.js';

export type { RecordHeader };

/** RecordBatch v2 header bytes (baseOffset .. recordCount), counted once per batch. */
export const BATCH_OVERHEAD_BYTES = BATCH_HEADER_BYTES;

/** A record given as one object: what liveRecords() returns and append() takes. */
export interface PendingRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  timestamp: number;
}

/** An upper bound of a record's encoded size, cheap enough to compute per record. */
export function estimateRecordBytes(r: PendingRecord): number {
  return RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0) + estimateHeaderBytes(r.headers, 0);
}

export type AckMode = -1 | 0 | 1;

/** Settings a batch is sealed with when the sender drains it. */
export interface SealOptions {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  compression: Compression;
}

/**
 * One batch: its records are encoded into a RecordBatchBuilder as they are appended (no object
 * per record); once drained it holds the sealed bytes, then its fate.
 */
export class ProducerBatch {
  readonly topic: string;
  readonly partition: number;
  readonly acks: AckMode;
  /** When it was opened, on the producer's clock (accumulator.ts producerClockMs). */
  readonly createdAtMs: number;
  sizeBytes = BATCH_OVERHEAD_BYTES;
  /** No more records go in (full or drained). */
  closed = false;
  /** Sealed once, when first drained; restamped only if the producer epoch is bumped. */
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
  private readonly pool: BatchBufferPool | null;
  /** The records written so far; null before the first append and once the bytes were let go. */
  private builder: RecordBatchBuilder | null = null;
  /** Records appended (dropped ones included). */
  private appended = 0;
  /** Each record's estimated bytes, for what drop() hands back; grows by doubling. */
  private estimates: Int32Array = EMPTY_ESTIMATES;
  /** 1 per record dropped by an aborted send; null while none was. */
  private dropped: Uint8Array | null = null;

  constructor(topic: string, partition: number, acks: AckMode, nowMs: number, pool: BatchBufferPool | null = null) {
    this.topic = topic;
    this.partition = partition;
    this.acks = acks;
    this.createdAtMs = nowMs;
    this.pool = pool;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Awaited by send() and flush(); this keeps a failure nobody awaits from crashing the process.
    this.done.catch(() => undefined);
  }

  private encodedCount = -1;
  /** Records dropped by aborted sends before the batch was drained. */
  private droppedCount = 0;
  /** index appended at -> index in the encoded batch, once records were dropped. */
  private finalIndexes: Int32Array | null = null;

  get recordCount(): number {
    return this.encodedCount >= 0 ? this.encodedCount : this.appended - this.droppedCount;
  }

  /** Records appended so far, dropped ones included (the next record's index). */
  get appendedCount(): number {
    return this.appended;
  }

  /**
   * Encodes one record into the batch (checked first: a throw leaves the batch unchanged).
   * `recordBytes` is its estimate, counted in sizeBytes. Returns the record's index.
   */
  appendRecord(timestamp: number, key: Buffer | null, value: Uint8Array | string | null | undefined, headers: BuilderHeaders, recordBytes: number): number {
    if (this.encoded !== null || this.settled) throw new Error('a drained batch takes no more records');
    let builder = this.builder;
    if (builder === null) {
      const first = BATCH_OVERHEAD_BYTES + recordBytes;
      const preferred = this.pool?.batchBytes ?? first;
      builder = new RecordBatchBuilder(this.pool !== null ? this.pool.allocate(first) : Buffer.allocUnsafe(first), preferred);
      this.builder = builder;
    }
    builder.append(timestamp, key, value, headers);
    const index = this.appended;
    if (index === this.estimates.length) {
      const grown = new Int32Array(Math.max(64, index * 2));
      grown.set(this.estimates);
      this.estimates = grown;
    }
    this.estimates[index] = recordBytes;
    this.appended = index + 1;
    this.sizeBytes += recordBytes;
    return index;
  }

  /**
   * Drops records [from, to) — an aborted send's — from a batch that was not drained yet.
   * Returns the estimated bytes freed. Indexes handed out stay valid.
   */
  drop(from: number, to: number): number {
    if (this.encoded !== null) throw new Error('a drained batch cannot drop records');
    let freed = 0;
    this.dropped ??= new Uint8Array(this.appended);
    if (this.dropped.length < this.appended) {
      const grown = new Uint8Array(this.appended);
      grown.set(this.dropped);
      this.dropped = grown;
    }
    for (let i = from; i < to && i < this.appended; i++) {
      if (this.dropped[i] === 1) continue;
      freed += this.estimates[i]!;
      this.dropped[i] = 1;
      this.droppedCount++;
    }
    this.sizeBytes -= freed;
    return freed;
  }

  /** True once an aborted send dropped records from this batch (offsets are then remapped). */
  get droppedRecords(): boolean {
    return this.droppedCount > 0;
  }

  /**
   * The records not dropped, read back from the batch's bytes (the record objects are made
   * here, for the rare batch with an aborted send's hole in it, never on the hot path).
   */
  liveRecords(): PendingRecord[] {
    if (this.builder === null || this.appended === 0) return [];
    const all = decodeBatch(this.builder.build()).records;
    const live: PendingRecord[] = [];
    const map = new Int32Array(this.appended);
    for (let i = 0; i < all.length; i++) {
      const r = all[i]!;
      const isDropped = this.dropped !== null && this.dropped[i] === 1;
      map[i] = isDropped ? -1 : live.length;
      if (!isDropped) live.push({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp });
    }
    if (this.droppedCount > 0) this.finalIndexes = map;
    return live;
  }

  /**
   * Seals the batch for sending (header, producer state, CRC; compression) and keeps the
   * bytes: resends use them as they are. A batch with dropped records is re-encoded without
   * them. Returns false (and seals nothing) when every record was dropped.
   */
  seal(opts: SealOptions): boolean {
    if (this.recordCount === 0) return false;
    if (this.droppedCount === 0) {
      this.setEncoded(this.builder!.build(opts), this.appended);
      // Compressed: the records were copied out, so their buffer can serve the next batch.
      if (opts.compression !== 'none') this.recycle();
      return true;
    }
    const live = this.liveRecords();
    this.setEncoded(encodeBatch(live, opts), live.length);
    this.recycle();
    return true;
  }

  /** The offset of the record appended at `index`, once acked (-1 for acks 0 or unknown). */
  offsetOf(index: number): number {
    if (this.baseOffset < 0) return -1;
    return this.baseOffset + (this.finalIndexes === null ? index : this.finalIndexes[index]!);
  }

  /** Keeps the sealed bytes; resends use the bytes only. */
  setEncoded(bytes: Buffer, count = this.appended - this.droppedCount): void {
    this.encodedCount = count;
    this.encoded = bytes;
    this.estimates = EMPTY_ESTIMATES;
  }

  complete(baseOffset: number): void {
    if (this.settled) return;
    this.settled = true;
    this.baseOffset = baseOffset;
    // The broker answered, so the request holding these bytes was written and read: the buffer
    // may serve the next batch. With acks 0 nobody answers, and a batch sent more than once may
    // still have an earlier copy of its request queued on another (timed-out) connection, so
    // those buffers are left to the GC rather than reused under a pending write.
    if ((this.acks !== 0 && this.attempts <= 1) || this.encoded === null) this.recycle();
    this.resolveDone();
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.lastError = err;
    // A failed request may still sit in a socket's queue: its buffer is not reused.
    this.builder = null;
    this.rejectDone(err);
  }

  /** Hands the builder's buffer back to the pool; the batch must not read it afterwards. */
  private recycle(): void {
    if (this.builder !== null && this.pool !== null) this.pool.release(this.builder.buffer);
    this.builder = null;
  }
}

const EMPTY_ESTIMATES = new Int32Array(0);
