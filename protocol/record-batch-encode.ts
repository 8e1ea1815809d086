/**
 * Encoding of Kafka's RecordBatch v2: records in, one batch Buffer out.
 *
 * Bytes written: the 61-byte header (layout in record-batch-header.ts), then `recordCount`
 * records back to back, compressed as one unit when the batch has a codec (gzip, snappy, lz4,
 * zstd: framings in protocol/compression/; the header itself is never compressed):
 *
 *   record (varint/varlong are zig-zag, see varint.ts):
 *     length:varint          bytes of the record after this field
 *     attributes:int8        unused, 0
 *     timestampDelta:varlong timestamp - baseTimestamp (may be negative)
 *     offsetDelta:varint     offset - baseOffset
 *     keyLength:varint       -1 for a null key
 *     key:bytes
 *     valueLength:varint     -1 for a null value (a tombstone)
 *     value:bytes
 *     headerCount:varint
 *     headers:               headerCount times: keyLength:varint key:utf8 (never null)
 *                                               valueLength:varint (-1 = null) value:bytes
 */
import assert from 'node:assert/strict';
import { codecId, compressRecords, isCompression } from './compression/index.js';
import { rillError } from './errors.js';
import {
  ATTRIBUTES_POS,
  BASE_OFFSET_POS,
  BASE_SEQUENCE_POS,
  BASE_TIMESTAMP_POS,
  BATCH_LENGTH_POS,
  CONTROL_MASK,
  INT16_MAX,
  INT16_MIN,
  INT32_MAX,
  INT32_MIN,
  LAST_OFFSET_DELTA_POS,
  LOG_OVERHEAD,
  MAGIC,
  MAGIC_POS,
  MAX_TIMESTAMP_POS,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_POS,
  PRODUCER_EPOCH_POS,
  PRODUCER_ID_POS,
  RECORD_COUNT_POS,
  RECORDS_POS,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
  checkInt64Option,
  checkIntOption,
  sealCrc,
  writeInt64,
  type Compression,
} from './record-batch-header.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeader[] | { [key: string]: Buffer | string };
  /** Milliseconds since the epoch; defaults to `EncodeOptions.now`. */
  timestamp?: number;
  /**
   * Absolute offset, for rewriting an existing batch with gaps (compaction keeps offsets).
   * Omitted: the record's index in the batch. Offsets must strictly increase from baseOffset.
   */
  offset?: number;
}

export interface EncodeOptions {
  /** Default 0; the broker overwrites it on append. */
  baseOffset?: number;
  /** Default -1 (no epoch), what Kafka producers send; the leader sets it. */
  partitionLeaderEpoch?: number;
  /** Default -1 (not idempotent). */
  producerId?: number;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  /** Default 'none'. */
  compression?: Compression;
  /** Default 'create'. 'logAppend' sets the attribute bit and maxTimestamp = now. */
  timestampType?: 'create' | 'logAppend';
  isTransactional?: boolean;
  isControl?: boolean;
  /** Timestamp for records without one, and the LogAppendTime; default Date.now(). */
  now?: number;
}


// Per-record lengths computed by the sizing pass and reused by the writing pass, so strings
// are measured once. Encoding is synchronous, so one scratch array serves every call; it is
// kept between calls only up to RETAINED_LENGTHS entries (1 MiB), so one huge batch does not
// pin its scratch memory for the life of the process.
const RETAINED_LENGTHS = 256 * 1024;
let retainedLengths = new Int32Array(4096);

/** `current` if it holds `needed` entries, else a larger copy of it. */
function ensureLengths(current: Int32Array, needed: number): Int32Array {
  if (needed <= current.length) return current;
  let size = current.length * 2;
  while (size < needed) size *= 2;
  const grown = new Int32Array(size);
  grown.set(current);
  if (size <= RETAINED_LENGTHS) retainedLengths = grown;
  return grown;
}

/**
 * Encodes records as one RecordBatch v2. Sizes are computed first and the batch is written
 * into one Buffer of exactly the right size (with a codec, the records are written into a scratch
 * buffer, compressed, and copied after the header). baseTimestamp is the first record's
 * timestamp (later records may be earlier: deltas are signed), maxTimestamp the largest.
 */
export function encodeBatch(records: RecordInput[], opts: EncodeOptions = {}): Buffer {
  const count = records.length;
  if (count === 0) throw rillError('INVALID_RECORD', 'A record batch needs at least one record');
  const baseOffset = opts.baseOffset ?? 0;
  const partitionLeaderEpoch = opts.partitionLeaderEpoch ?? -1;
  const producerId = opts.producerId ?? -1;
  const producerEpoch = opts.producerEpoch ?? -1;
  const baseSequence = opts.baseSequence ?? -1;
  const compression = opts.compression ?? 'none';
  const logAppendTime = opts.timestampType === 'logAppend';
  const now = opts.now ?? Date.now();
  checkInt64Option('baseOffset', baseOffset);
  checkInt64Option('producerId', producerId);
  checkIntOption('partitionLeaderEpoch', partitionLeaderEpoch, INT32_MIN, INT32_MAX);
  checkIntOption('producerEpoch', producerEpoch, INT16_MIN, INT16_MAX);
  checkIntOption('baseSequence', baseSequence, INT32_MIN, INT32_MAX);
  if (!isCompression(compression)) {
    throw rillError('UNSUPPORTED_COMPRESSION_TYPE', `Compression '${String(compression)}' is not supported; rill writes 'none', 'gzip', 'snappy', 'lz4' and 'zstd'`);
  }
  checkTimestamp(now, 'now');

  // Pass 1: timestamps, offsets and every length.
  const first = records[0]!;
  const baseTimestamp = first.timestamp ?? now;
  checkTimestamp(baseTimestamp, 'record 0 timestamp');
  let maxTimestamp = baseTimestamp;
  let lastOffsetDelta = -1;
  let recordsBytes = 0;
  let scratch = ensureLengths(retainedLengths, count * 3);
  let li = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const timestamp = record.timestamp ?? now;
    if (timestamp !== baseTimestamp) {
      checkTimestamp(timestamp, `record ${i} timestamp`);
      if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    }
    const timestampDelta = timestamp - baseTimestamp;
    if (!Number.isSafeInteger(timestampDelta)) {
      throw rillError('INVALID_TIMESTAMP', `Record ${i}: timestamp ${timestamp} is too far from the batch's base timestamp ${baseTimestamp}`);
    }
    const offsetDelta = record.offset === undefined ? i : record.offset - baseOffset;
    if (!Number.isInteger(offsetDelta) || offsetDelta <= lastOffsetDelta || offsetDelta > INT32_MAX) {
      throw rillError('INVALID_RECORD', `Record ${i}: offset ${record.offset ?? baseOffset + i} must be an integer above the previous record's and at most baseOffset + 2^31 - 1`);
    }
    lastOffsetDelta = offsetDelta;

    const keyBytes = byteLengthOf(record.key, i, 'key');
    const valueBytes = byteLengthOf(record.value, i, 'value');
    let bodyBytes = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta)
      + sizeOfVarint(keyBytes) + (keyBytes > 0 ? keyBytes : 0)
      + sizeOfVarint(valueBytes) + (valueBytes > 0 ? valueBytes : 0);
    const headers = record.headers;
    const lengthsAt = li;
    li += 3;
    if (headers === undefined) {
      bodyBytes += 1; // headerCount 0
    } else {
      const headerCount = countHeaders(headers);
      scratch = ensureLengths(scratch, li + headerCount * 2 + (count - i - 1) * 3);
      bodyBytes += sizeOfVarint(headerCount);
      if (Array.isArray(headers)) {
        for (let h = 0; h < headerCount; h++) {
          const header = headers[h];
          if (header === null || typeof header !== 'object') {
            throw rillError('INVALID_RECORD', `Record ${i}: header ${h} must be an object { key, value }`);
          }
          li = sizeHeader(scratch, li, header.key, header.value, i);
          bodyBytes += headerBytes(scratch, li);
        }
      } else {
        for (const key in headers) {
          if (!Object.prototype.hasOwnProperty.call(headers, key)) continue;
          li = sizeHeader(scratch, li, key, headers[key], i);
          bodyBytes += headerBytes(scratch, li);
        }
      }
    }
    scratch[lengthsAt] = bodyBytes;
    scratch[lengthsAt + 1] = keyBytes;
    scratch[lengthsAt + 2] = valueBytes;
    recordsBytes += sizeOfVarint(bodyBytes) + bodyBytes;
  }
  if (logAppendTime) maxTimestamp = now;
  if (!Number.isSafeInteger(baseOffset + lastOffsetDelta)) {
    throw rillError('INVALID_RECORD', `The last offset ${baseOffset} + ${lastOffsetDelta} exceeds 2^53 - 1`);
  }
  if (recordsBytes > INT32_MAX - MIN_BATCH_LENGTH) {
    throw rillError('MESSAGE_TOO_LARGE', `The records take ${recordsBytes} bytes; a batch holds at most 2^31 - 1`);
  }

  // Pass 2: write. Uncompressed records go straight after the header.
  let out: Buffer;
  if (compression === 'none') {
    out = Buffer.allocUnsafe(RECORDS_POS + recordsBytes);
    const end = writeRecords(out, RECORDS_POS, records, scratch, baseTimestamp, baseOffset, now);
    assert(end === out.length, `encodeBatch wrote ${end} bytes into a batch sized ${out.length}`);
  } else {
    const raw = Buffer.allocUnsafe(recordsBytes);
    const end = writeRecords(raw, 0, records, scratch, baseTimestamp, baseOffset, now);
    assert(end === raw.length, `encodeBatch wrote ${end} bytes into records sized ${raw.length}`);
    const compressed = compressRecords(compression, raw);
    if (compressed.length > INT32_MAX - MIN_BATCH_LENGTH) {
      throw rillError('MESSAGE_TOO_LARGE', `The compressed records take ${compressed.length} bytes; a batch holds at most 2^31 - 1`);
    }
    out = Buffer.allocUnsafe(RECORDS_POS + compressed.length);
    out.set(compressed, RECORDS_POS);
  }

  writeBatchHeader(out, {
    baseOffset,
    partitionLeaderEpoch,
    attributes: codecId(compression)
      | (logAppendTime ? TIMESTAMP_TYPE_MASK : 0)
      | (opts.isTransactional === true ? TRANSACTIONAL_MASK : 0)
      | (opts.isControl === true ? CONTROL_MASK : 0),
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    baseSequence,
    recordCount: count,
  });
  return out;
}

/** The header fields writeBatchHeader stores (batchLength comes from the buffer's length). */
export interface BatchHeaderFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/**
 * Writes the 61-byte header of the batch that fills all of `out` (its records already after
 * RECORDS_POS) and seals its CRC. The values must have been checked by the caller.
 */
export function writeBatchHeader(out: Buffer, h: BatchHeaderFields): void {
  writeInt64(out, BASE_OFFSET_POS, h.baseOffset);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_POS);
  out.writeInt32BE(h.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_POS);
  out[MAGIC_POS] = MAGIC;
  out.writeInt16BE(h.attributes, ATTRIBUTES_POS);
  out.writeInt32BE(h.lastOffsetDelta, LAST_OFFSET_DELTA_POS);
  writeInt64(out, BASE_TIMESTAMP_POS, h.baseTimestamp);
  writeInt64(out, MAX_TIMESTAMP_POS, h.maxTimestamp);
  writeInt64(out, PRODUCER_ID_POS, h.producerId);
  out.writeInt16BE(h.producerEpoch, PRODUCER_EPOCH_POS);
  out.writeInt32BE(h.baseSequence, BASE_SEQUENCE_POS);
  out.writeInt32BE(h.recordCount, RECORD_COUNT_POS);
  sealCrc(out, 0);
}

/** Byte length of a key/value/header value (-1 for null); strings count as UTF-8. */
export function byteLengthOf(data: unknown, index: number, what: string): number {
  if (data === null || data === undefined) return -1;
  if (typeof data === 'string') return data.length === 0 ? 0 : Buffer.byteLength(data, 'utf8');
  if (data instanceof Uint8Array) return data.length;
  throw rillError('INVALID_RECORD', `Record ${index}: ${what} must be a Buffer, a string or null, got ${typeof data}`);
}

function countHeaders(headers: RecordHeader[] | { [key: string]: Buffer | string }): number {
  if (Array.isArray(headers)) return headers.length;
  let n = 0;
  for (const key in headers) {
    if (Object.prototype.hasOwnProperty.call(headers, key)) n++;
  }
  return n;
}

/** Stores a header's key and value lengths at `li`; returns the next free index. */
function sizeHeader(scratch: Int32Array, li: number, key: unknown, value: unknown, index: number): number {
  if (typeof key !== 'string') {
    throw rillError('INVALID_RECORD', `Record ${index}: header keys must be strings, got ${key === null ? 'null' : typeof key}`);
  }
  scratch[li] = key.length === 0 ? 0 : Buffer.byteLength(key, 'utf8');
  scratch[li + 1] = byteLengthOf(value, index, 'header value');
  return li + 2;
}

/** Encoded size of the header whose lengths end just before `li`. */
function headerBytes(scratch: Int32Array, li: number): number {
  const keyBytes = scratch[li - 2]!;
  const valueBytes = scratch[li - 1]!;
  return sizeOfVarint(keyBytes) + keyBytes + sizeOfVarint(valueBytes) + (valueBytes > 0 ? valueBytes : 0);
}

/** Pass 2 of encodeBatch: writes every record from `pos`; returns the end position. */
function writeRecords(
  out: Buffer,
  pos: number,
  records: RecordInput[],
  scratch: Int32Array,
  baseTimestamp: number,
  baseOffset: number,
  now: number,
): number {
  let li = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const bodyBytes = scratch[li]!;
    const keyBytes = scratch[li + 1]!;
    const valueBytes = scratch[li + 2]!;
    li += 3;
    pos = writeVarint(out, pos, bodyBytes);
    out[pos++] = 0; // record attributes
    pos = writeVarlong(out, pos, (record.timestamp ?? now) - baseTimestamp);
    pos = writeVarint(out, pos, record.offset === undefined ? i : record.offset - baseOffset);
    pos = writeVarint(out, pos, keyBytes);
    if (keyBytes > 0) pos = writeData(out, pos, record.key!, keyBytes);
    pos = writeVarint(out, pos, valueBytes);
    if (valueBytes > 0) pos = writeData(out, pos, record.value!, valueBytes);
    const headers = record.headers;
    if (headers === undefined) {
      out[pos++] = 0;
    } else if (Array.isArray(headers)) {
      pos = writeVarint(out, pos, headers.length);
      for (let h = 0; h < headers.length; h++) {
        const header = headers[h]!;
        pos = writeHeader(out, pos, header.key, header.value, scratch, li);
        li += 2;
      }
    } else {
      pos = writeVarint(out, pos, countHeaders(headers));
      for (const key in headers) {
        if (!Object.prototype.hasOwnProperty.call(headers, key)) continue;
        pos = writeHeader(out, pos, key, headers[key], scratch, li);
        li += 2;
      }
    }
  }
  return pos;
}

function writeHeader(out: Buffer, pos: number, key: string, value: unknown, scratch: Int32Array, li: number): number {
  const keyBytes = scratch[li]!;
  const valueBytes = scratch[li + 1]!;
  pos = writeVarint(out, pos, keyBytes);
  if (keyBytes > 0) pos = writeData(out, pos, key, keyBytes);
  pos = writeVarint(out, pos, valueBytes);
  if (valueBytes > 0) pos = writeData(out, pos, value as Uint8Array | string, valueBytes);
  return pos;
}

/** Up to this many ASCII characters, a loop beats Buffer#write (measured on Node 20). */
const SHORT_STRING_CHARS = 16;

/** Copies bytes or writes a string's UTF-8 (`byteLength` measured in pass 1) at `pos`. */
export function writeData(out: Buffer, pos: number, data: Uint8Array | string, byteLength: number): number {
  if (typeof data === 'string') {
    // A string whose UTF-8 length equals its UTF-16 length is ASCII. Short ASCII (typical
    // keys and header names) is cheaper to store char by char than through Buffer#write's
    // fixed cost; longer ASCII goes through latin1, Node's cheapest string write.
    if (byteLength === data.length) {
      if (byteLength <= SHORT_STRING_CHARS) {
        for (let i = 0; i < byteLength; i++) out[pos + i] = data.charCodeAt(i);
      } else {
        out.write(data, pos, byteLength, 'latin1');
      }
    } else {
      out.write(data, pos, byteLength, 'utf8');
    }
  } else {
    out.set(data, pos);
  }
  return pos + byteLength;
}

export function checkTimestamp(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) {
    throw rillError('INVALID_TIMESTAMP', `${what} ${value} is not an integer number of milliseconds within 2^53 - 1`);
  }
}
