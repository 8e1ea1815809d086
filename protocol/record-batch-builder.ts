/**
 * A RecordBatch v2 built as records arrive (Kafka's MemoryRecordsBuilder): each append writes
 * the record's framing and bytes once, straight into one growing buffer after 61 bytes left
 * free for the header; build() writes the header and the CRC-32C then (or compresses the
 * records into a new buffer first). No per-record object is kept and nothing is copied twice.
 *
 * Bytes written: exactly encodeBatch's (record-batch-encode.ts documents the record framing,
 * record-batch-header.ts the header): baseOffset 0, partitionLeaderEpoch -1, create time,
 * baseTimestamp = the first record's timestamp, offset deltas 0, 1, 2, ... in append order.
 *
 * The buffer is the caller's (the producer draws it from a pool and takes it back once the
 * batch is acked): it grows by doubling up to `preferredBytes` and only past that for a
 * single record bigger than it.
 */
import { codecId, compressRecords, isCompression } from './compression/index.js';
import { rillError } from './errors.js';
import { INT16_MAX, INT16_MIN, INT32_MAX, INT32_MIN, MIN_BATCH_LENGTH, RECORDS_POS, checkInt64Option, checkIntOption, type Compression } from './record-batch-header.js';
import { byteLengthOf, checkTimestamp, writeBatchHeader, writeData, type RecordHeader } from './record-batch-encode.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';

/** Headers as a list of `{ key, value }` or as an object of key -> value; null/undefined: none. */
export type BuilderHeaders = readonly RecordHeader[] | { readonly [key: string]: Uint8Array | string | null | undefined } | null | undefined;

export interface BuildOptions {
  /** Default -1 (not idempotent). */
  producerId?: number;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  /** Default 'none'. */
  compression?: Compression;
}

// Header key/value lengths measured by append's sizing pass and reused when writing (appends
// are synchronous, so one scratch array serves every builder). Grows only for a record with
// more headers than any before; 64 Ki entries at most are kept.
let headerLengths = new Int32Array(64);
const RETAINED_HEADER_LENGTHS = 64 * 1024;

export class RecordBatchBuilder {
  /** The batch's bytes so far; a bigger buffer replaces it when it grows. */
  buffer: Buffer;
  private readonly preferredBytes: number;
  private pos = RECORDS_POS;
  private count = 0;
  private baseTimestamp = 0;
  private maxTimestamp = 0;

  /** `buffer` must hold at least the 61-byte header; `preferredBytes` is where doubling stops. */
  constructor(buffer: Buffer, preferredBytes: number) {
    if (buffer.length < RECORDS_POS) throw new RangeError(`a batch buffer needs at least ${RECORDS_POS} bytes, got ${buffer.length}`);
    this.buffer = buffer;
    this.preferredBytes = preferredBytes;
  }

  get recordCount(): number {
    return this.count;
  }

  /** Bytes of the batch so far, header included. */
  get sizeBytes(): number {
    return this.pos;
  }

  /**
   * Writes one record. Everything is checked before the first byte is written, so a throw
   * (INVALID_RECORD, INVALID_TIMESTAMP, MESSAGE_TOO_LARGE) leaves the batch as it was.
   */
  append(timestamp: number, key: Uint8Array | string | null | undefined, value: Uint8Array | string | null | undefined, headers: BuilderHeaders): void {
    const index = this.count;
    checkTimestamp(timestamp, `record ${index} timestamp`);
    const base = index === 0 ? timestamp : this.baseTimestamp;
    const timestampDelta = timestamp - base;
    if (!Number.isSafeInteger(timestampDelta)) {
      throw rillError('INVALID_TIMESTAMP', `Record ${index}: timestamp ${timestamp} is too far from the batch's base timestamp ${base}`);
    }
    if (index === INT32_MAX) throw rillError('MESSAGE_TOO_LARGE', 'A record batch holds at most 2^31 - 1 records');
    const keyBytes = byteLengthOf(key, index, 'key');
    const valueBytes = byteLengthOf(value, index, 'value');
    let bodyBytes = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(index)
      + sizeOfVarint(keyBytes) + (keyBytes > 0 ? keyBytes : 0)
      + sizeOfVarint(valueBytes) + (valueBytes > 0 ? valueBytes : 0);
    const headerCount = headers === null || headers === undefined ? 0 : this.sizeHeaders(headers, index);
    bodyBytes += sizeOfVarint(headerCount);
    for (let h = 0; h < headerCount * 2; h += 2) {
      const k = headerLengths[h]!;
      const v = headerLengths[h + 1]!;
      bodyBytes += sizeOfVarint(k) + k + sizeOfVarint(v) + (v > 0 ? v : 0);
    }
    const recordBytes = sizeOfVarint(bodyBytes) + bodyBytes;
    if (this.pos + recordBytes > INT32_MAX - MIN_BATCH_LENGTH) {
      throw rillError('MESSAGE_TOO_LARGE', `The records would take ${this.pos + recordBytes} bytes; a batch holds at most 2^31 - 1`);
    }
    if (this.pos + recordBytes > this.buffer.length) this.grow(this.pos + recordBytes);

    const out = this.buffer;
    let pos = writeVarint(out, this.pos, bodyBytes);
    out[pos++] = 0; // record attributes
    pos = writeVarlong(out, pos, timestampDelta);
    pos = writeVarint(out, pos, index);
    pos = writeVarint(out, pos, keyBytes);
    if (keyBytes > 0) pos = writeData(out, pos, key!, keyBytes);
    pos = writeVarint(out, pos, valueBytes);
    if (valueBytes > 0) pos = writeData(out, pos, value!, valueBytes);
    pos = writeVarint(out, pos, headerCount);
    if (headerCount > 0) pos = this.writeHeaders(out, pos, headers!);
    this.pos = pos;
    if (index === 0) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    } else if (timestamp > this.maxTimestamp) {
      this.maxTimestamp = timestamp;
    }
    this.count = index + 1;
  }

  /**
   * The finished batch: header and CRC written over the first 61 bytes. Uncompressed, it is a
   * view of `buffer` (valid while the caller keeps the buffer unused); compressed, a new Buffer.
   */
  build(opts: BuildOptions = {}): Buffer {
    if (this.count === 0) throw rillError('INVALID_RECORD', 'A record batch needs at least one record');
    const producerId = opts.producerId ?? -1;
    const producerEpoch = opts.producerEpoch ?? -1;
    const baseSequence = opts.baseSequence ?? -1;
    const compression = opts.compression ?? 'none';
    checkInt64Option('producerId', producerId);
    checkIntOption('producerEpoch', producerEpoch, INT16_MIN, INT16_MAX);
    checkIntOption('baseSequence', baseSequence, INT32_MIN, INT32_MAX);
    if (!isCompression(compression)) {
      throw rillError('UNSUPPORTED_COMPRESSION_TYPE', `Compression '${String(compression)}' is not supported; rill writes 'none', 'gzip', 'snappy', 'lz4' and 'zstd'`);
    }
    let out: Buffer;
    if (compression === 'none') {
      out = this.buffer.subarray(0, this.pos);
    } else {
      const compressed = compressRecords(compression, this.buffer.subarray(RECORDS_POS, this.pos));
      if (compressed.length > INT32_MAX - MIN_BATCH_LENGTH) {
        throw rillError('MESSAGE_TOO_LARGE', `The compressed records take ${compressed.length} bytes; a batch holds at most 2^31 - 1`);
      }
      out = Buffer.allocUnsafe(RECORDS_POS + compressed.length);
      out.set(compressed, RECORDS_POS);
    }
    writeBatchHeader(out, {
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      attributes: codecId(compression),
      lastOffsetDelta: this.count - 1,
      baseTimestamp: this.baseTimestamp,
      maxTimestamp: this.maxTimestamp,
      producerId,
      producerEpoch,
      baseSequence,
      recordCount: this.count,
    });
    return out;
  }

  /**
   * Doubles the buffer, at least to `needed` bytes; stops at exactly preferredBytes (the size
   * a pool takes back) unless more is needed.
   */
  private grow(needed: number): void {
    let size = Math.max(this.buffer.length * 2, needed);
    if (needed <= this.preferredBytes && size > this.preferredBytes) size = this.preferredBytes;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.pos);
    this.buffer = grown;
  }

  /** Checks the headers and stores their key/value lengths in headerLengths; returns their count. */
  private sizeHeaders(headers: NonNullable<BuilderHeaders>, index: number): number {
    let n = 0;
    if (Array.isArray(headers)) {
      const list = headers as readonly RecordHeader[];
      for (let h = 0; h < list.length; h++) {
        const header = list[h];
        if (header === null || typeof header !== 'object') throw rillError('INVALID_RECORD', `Record ${index}: header ${h} must be an object { key, value }`);
        sizeHeader(n++, header.key, header.value, index);
      }
      return n;
    }
    const map = headers as { readonly [key: string]: Uint8Array | string | null | undefined };
    for (const key in map) {
      if (Object.prototype.hasOwnProperty.call(map, key)) sizeHeader(n++, key, map[key], index);
    }
    return n;
  }

  private writeHeaders(out: Buffer, pos: number, headers: NonNullable<BuilderHeaders>): number {
    let li = 0;
    const put = (key: string, value: unknown): void => {
      const k = headerLengths[li]!;
      const v = headerLengths[li + 1]!;
      li += 2;
      pos = writeVarint(out, pos, k);
      if (k > 0) pos = writeData(out, pos, key, k);
      pos = writeVarint(out, pos, v);
      if (v > 0) pos = writeData(out, pos, value as Uint8Array | string, v);
    };
    if (Array.isArray(headers)) {
      for (const header of headers as readonly RecordHeader[]) put(header.key, header.value);
    } else {
      const map = headers as { readonly [key: string]: Uint8Array | string | null | undefined };
      for (const key in map) if (Object.prototype.hasOwnProperty.call(map, key)) put(key, map[key]);
    }
    return pos;
  }
}

/** Checks header `n` and stores its key and value byte lengths. */
function sizeHeader(n: number, key: unknown, value: unknown, index: number): void {
  if (typeof key !== 'string') {
    throw rillError('INVALID_RECORD', `Record ${index}: header keys must be strings, got ${key === null ? 'null' : typeof key}`);
  }
  const at = n * 2;
  if (at + 2 > headerLengths.length) {
    const grown = new Int32Array(Math.max(headerLengths.length * 2, at + 2));
    grown.set(headerLengths);
    if (grown.length <= RETAINED_HEADER_LENGTHS) headerLengths = grown;
    else throw rillError('INVALID_RECORD', `Record ${index}: more than ${RETAINED_HEADER_LENGTHS / 2} headers`);
  }
  headerLengths[at] = key.length === 0 ? 0 : Buffer.byteLength(key, 'utf8');
  headerLengths[at + 1] = byteLengthOf(value, index, 'header value');
}
