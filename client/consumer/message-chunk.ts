/**
 * The messages of one partition from one fetch answer, held as numbers until the app gets
 * them: per record its offset, timestamp and where its key and value lie (which buffer, start,
 * length) in one Float64Array, and the message objects with their key/value views made only
 * when delivery reaches them (`messageAt`, `messagesFrom`).
 *
 * Why: a chunk waits in the prefetch while the app works through the ones before it. Made at
 * fetch time, its ~10,000 message objects and views (~270 bytes of heap each) outlived several
 * young-generation collections, each of which copied them again (scavenges were ~25% of the
 * consumer's CPU in bench/e2e). Made at delivery, they die young; what waits is this
 * off-heap array and the socket buffers the records already lie in.
 *
 * The columns are released when the last record has been made into a message (back to the
 * decoder's ColumnPool, so that steady consumption allocates none: fresh ones, like socket
 * buffers, are external memory, whose growth makes V8 run full mark-compacts); a chunk is only
 * read below `count`, through its `next` cursor.
 */
import type { RecordHeader } from '../../protocol/record-batch.js';
import type { ConsumedMessage } from '../types.js';
import { recordView } from './record-view.js';

/**
 * Float64 slots per record: offset, timestamp, buffer index, key start, key length, value start,
 * value length. Starts are positions in the buffer's ArrayBuffer (its byteOffset added), so
 * that a view is made straight from the ArrayBuffer (record-view.ts).
 */
const STRIDE = 7;
const OFFSET = 0;
const TIMESTAMP = 1;
const BUFFER = 2;
const KEY_START = 3;
const KEY_LENGTH = 4;
const VALUE_START = 5;
const VALUE_LENGTH = 6;
/** Records a chunk starts with room for before it knows better (it grows by doubling). */
const MIN_CAPACITY_RECORDS = 64;
/**
 * `messagesFrom` sizes its array up front below this (no growth copies); above it V8 would
 * make `new Array(n)` a slow dictionary array, so it pushes instead.
 */
const MAX_PRESIZED_ARRAY = 16_384;

/** Column bytes a pool keeps for reuse at most (a few default-sized chunks' worth). */
const MAX_POOLED_BYTES = 8 * 1024 * 1024;

const NO_HEADERS: Readonly<Record<string, Buffer | null>> = Object.freeze({});
const RELEASED = new Float64Array(0);

/** Released chunk columns, for the next chunks of one decoder (bounded by MAX_POOLED_BYTES). */
export class ColumnPool {
  private readonly free: Float64Array[] = [];
  private pooledBytes = 0;

  /** An array of at least `length` slots (its contents are garbage: every slot is written before it is read). */
  get(length: number): Float64Array {
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const c = free[i]!;
      if (c.length >= length) {
        free[i] = free[free.length - 1]!;
        free.pop();
        this.pooledBytes -= c.byteLength;
        return c;
      }
    }
    return new Float64Array(length);
  }

  put(c: Float64Array): void {
    if (c.length === 0 || this.pooledBytes + c.byteLength > MAX_POOLED_BYTES) return;
    this.free.push(c);
    this.pooledBytes += c.byteLength;
  }
}

export class MessageChunk {
  readonly topic: string;
  readonly partition: number;
  /** Records in the chunk. */
  count = 0;
  /** Delivery cursor: the next record to hand out. */
  next = 0;
  /** Prefetch accounting bytes (chunk-decoder.ts). */
  bytes = 0;
  epoch = 0;
  highWatermark = -1;
  private columns: Float64Array;
  /** The ArrayBuffers records lie in (of socket chunks, a straddling record's copy, decompressed records). */
  private readonly buffers: ArrayBufferLike[] = [];
  private lastBuffer: Buffer | null = null;
  /** `lastBuffer.byteOffset`, read once per buffer rather than once per record. */
  private lastByteOffset = 0;
  /** Header maps by record index; null while no record has headers (the usual case). */
  private headers: Array<Record<string, Buffer | null> | undefined> | null = null;

  private readonly pool: ColumnPool;

  constructor(topic: string, partition: number, capacityRecords: number, pool: ColumnPool) {
    this.topic = topic;
    this.partition = partition;
    this.pool = pool;
    this.columns = pool.get(Math.max(MIN_CAPACITY_RECORDS, capacityRecords) * STRIDE);
  }

  /** Appends a record (`data[keyStart, keyStart + keyLength)`, length -1 for null; likewise the value). */
  add(offset: number, timestamp: number, data: Buffer, keyStart: number, keyLength: number, valueStart: number, valueLength: number, headers: RecordHeader[]): void {
    const i = this.count;
    let c = this.columns;
    if ((i + 1) * STRIDE > c.length) c = this.grow();
    if (data !== this.lastBuffer) {
      this.lastBuffer = data;
      this.lastByteOffset = data.byteOffset;
      this.buffers.push(data.buffer);
    }
    const at = i * STRIDE;
    const base = this.lastByteOffset;
    c[at + OFFSET] = offset;
    c[at + TIMESTAMP] = timestamp;
    c[at + BUFFER] = this.buffers.length - 1;
    c[at + KEY_START] = base + keyStart;
    c[at + KEY_LENGTH] = keyLength;
    c[at + VALUE_START] = base + valueStart;
    c[at + VALUE_LENGTH] = valueLength;
    if (headers.length > 0) (this.headers ??= [])[i] = headerMap(headers);
    this.count = i + 1;
  }

  /** Drops the records from `count` on (a batch that failed midway is delivered whole or not at all). */
  truncate(count: number): void {
    this.count = count;
    if (this.headers !== null && this.headers.length > count) this.headers.length = count;
  }

  /** The offset of record `i` (< count, not yet delivered). */
  offsetAt(i: number): number {
    return this.columns[i * STRIDE + OFFSET]!;
  }

  /** Record `next` as the message the app receives; advances `next`. */
  take(): ConsumedMessage {
    const m = this.messageAt(this.next++);
    if (this.next === this.count) this.release();
    return m;
  }

  /** Records `next`..count as messages (one array); `next` moves to the end. */
  takeRest(): ConsumedMessage[] {
    const from = this.next;
    const n = this.count - from;
    let out: ConsumedMessage[];
    if (n <= MAX_PRESIZED_ARRAY) {
      out = new Array<ConsumedMessage>(n);
      for (let k = 0; k < n; k++) out[k] = this.messageAt(from + k);
    } else {
      out = [];
      for (let k = 0; k < n; k++) out.push(this.messageAt(from + k));
    }
    this.next = this.count;
    this.release();
    return out;
  }

  private messageAt(i: number): ConsumedMessage {
    const c = this.columns;
    const at = i * STRIDE;
    const data = this.buffers[c[at + BUFFER]!]!;
    const keyLength = c[at + KEY_LENGTH]!;
    const valueLength = c[at + VALUE_LENGTH]!;
    const key = keyLength < 0 ? null : recordView(data, c[at + KEY_START]!, keyLength);
    const value = valueLength < 0 ? null : recordView(data, c[at + VALUE_START]!, valueLength);
    return {
      topic: this.topic,
      partition: this.partition,
      offset: c[at + OFFSET]!,
      key,
      value,
      headers: this.headers === null ? (NO_HEADERS as Record<string, Buffer | null>) : (this.headers[i] ?? (NO_HEADERS as Record<string, Buffer | null>)),
      timestamp: c[at + TIMESTAMP]!,
    };
  }

  private grow(): Float64Array {
    const bigger = this.pool.get(this.columns.length * 2);
    bigger.set(this.columns.subarray(0, this.count * STRIDE));
    this.pool.put(this.columns);
    this.columns = bigger;
    return bigger;
  }

  /** Every record is a message now: the columns and buffer list are no longer needed here. */
  private release(): void {
    this.pool.put(this.columns);
    this.columns = RELEASED;
    this.buffers.length = 0;
    this.lastBuffer = null;
    this.headers = null;
  }
}

function headerMap(headers: RecordHeader[]): Record<string, Buffer | null> {
  const out: Record<string, Buffer | null> = {};
  for (let i = 0; i < headers.length; i++) out[headers[i]!.key] = headers[i]!.value;
  return out;
}
