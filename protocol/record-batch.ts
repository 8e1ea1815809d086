/**
 * Kafka's RecordBatch v2 ("magic 2"), byte for byte: the unit that producers send, the broker
 * stores on disk and consumers fetch, unchanged along the way.
 *
 * Byte format (all integers big-endian; positions from the start of the batch):
 *
 *   pos size field
 *     0   8  baseOffset            int64   offset of the first record (the broker patches it)
 *     8   4  batchLength           int32   bytes after this field: total batch size - 12
 *    12   4  partitionLeaderEpoch  int32   set by the broker; -1 from producers
 *    16   1  magic                 int8    always 2
 *    17   4  crc                   uint32  CRC-32C of bytes 21 .. end (attributes .. last record)
 *    21   2  attributes            int16   bits 0-2 compression (0 none, 1 gzip, 2 snappy,
 *                                          3 lz4, 4 zstd), bit 3 timestamp type (0 CreateTime,
 *                                          1 LogAppendTime), bit 4 transactional, bit 5 control
 *    23   4  lastOffsetDelta       int32   offset of the last record - baseOffset
 *    27   8  baseTimestamp         int64   timestamp of the first record (ms since epoch)
 *    35   8  maxTimestamp          int64   largest record timestamp, or the LogAppendTime
 *    43   8  producerId            int64   -1 when not idempotent
 *    51   2  producerEpoch         int16   -1 when not idempotent
 *    53   4  baseSequence          int32   -1 when not idempotent
 *    57   4  recordCount           int32
 *    61      records               recordCount records; gzip-compressed as one stream when the
 *                                          codec is gzip (the header itself is never compressed)
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
 *
 * 64-bit fields are JS numbers, accepted and produced only while they are safe integers
 * (|n| <= 2^53 - 1; -1 round-trips): a field outside that range reads as CORRUPT_MESSAGE.
 * The CRC does not cover baseOffset or partitionLeaderEpoch, so the broker assigns offsets by
 * patching 8 bytes (`patchBaseOffset`) without re-hashing.
 *
 * Decoded keys and values are views into the buffer passed to `decodeBatch` (or into the
 * decompressed records of a gzip batch): they stay valid only as long as nobody overwrites
 * that buffer; copy them (`Buffer.from(view)`) to keep them beyond that.
 */
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from './crc32c.js';
import { rillError } from './errors.js';
import {
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
  type Cursor,
} from './varint.js';

export const LOG_OVERHEAD = 12; // baseOffset:int64 + batchLength:int32
export const BATCH_HEADER_BYTES = 61; // through recordCount

export const BASE_OFFSET_POS = 0;
export const BATCH_LENGTH_POS = 8;
export const PARTITION_LEADER_EPOCH_POS = 12;
export const MAGIC_POS = 16;
export const CRC_POS = 17;
export const ATTRIBUTES_POS = 21;
export const LAST_OFFSET_DELTA_POS = 23;
export const BASE_TIMESTAMP_POS = 27;
export const MAX_TIMESTAMP_POS = 35;
export const PRODUCER_ID_POS = 43;
export const PRODUCER_EPOCH_POS = 51;
export const BASE_SEQUENCE_POS = 53;
export const RECORD_COUNT_POS = 57;
export const RECORDS_POS = 61;

export const MAGIC = 2;
/** The smallest legal batchLength: a header with no records (61 - 12). */
export const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - LOG_OVERHEAD;
/** The smallest encoded record: length, attributes, timestampDelta, offsetDelta, keyLength,
 *  valueLength and headerCount, one byte each. Bounds recordCount by the bytes present. */
export const MIN_RECORD_BYTES = 7;

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_MASK = 0x10;
export const CONTROL_MASK = 0x20;

/** A decompressed gzip batch larger than this is refused: it protects the process from a
 *  small batch that inflates to gigabytes (Kafka's default max.message.bytes is ~1 MiB). */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

export type Compression = 'none' | 'gzip';

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

export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Empty records share one frozen array: treat it as read-only. */
  headers: RecordHeader[];
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
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

export interface DecodedBatch {
  header: BatchHeader;
  records: Record[];
}

const TWO_POW_32 = 4294967296;
const INT32_MAX = 0x7fffffff;
const INT16_MIN = -0x8000;
const INT16_MAX = 0x7fff;
const INT32_MIN = -0x80000000;

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
 * into one Buffer of exactly the right size (for gzip, the records are written into a scratch
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
  if (compression !== 'none' && compression !== 'gzip') {
    throw rillError('UNSUPPORTED_COMPRESSION_TYPE', `Compression '${String(compression)}' is not supported; rill writes 'none' and 'gzip'`);
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
    const compressed = gzipSync(raw);
    if (compressed.length > INT32_MAX - MIN_BATCH_LENGTH) {
      throw rillError('MESSAGE_TOO_LARGE', `The compressed records take ${compressed.length} bytes; a batch holds at most 2^31 - 1`);
    }
    out = Buffer.allocUnsafe(RECORDS_POS + compressed.length);
    out.set(compressed, RECORDS_POS);
  }

  const attributes = (compression === 'gzip' ? 1 : 0)
    | (logAppendTime ? TIMESTAMP_TYPE_MASK : 0)
    | (opts.isTransactional === true ? TRANSACTIONAL_MASK : 0)
    | (opts.isControl === true ? CONTROL_MASK : 0);
  writeInt64(out, BASE_OFFSET_POS, baseOffset);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_POS);
  out.writeInt32BE(partitionLeaderEpoch, PARTITION_LEADER_EPOCH_POS);
  out[MAGIC_POS] = MAGIC;
  out.writeInt16BE(attributes, ATTRIBUTES_POS);
  out.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_POS);
  writeInt64(out, BASE_TIMESTAMP_POS, baseTimestamp);
  writeInt64(out, MAX_TIMESTAMP_POS, maxTimestamp);
  writeInt64(out, PRODUCER_ID_POS, producerId);
  out.writeInt16BE(producerEpoch, PRODUCER_EPOCH_POS);
  out.writeInt32BE(baseSequence, BASE_SEQUENCE_POS);
  out.writeInt32BE(count, RECORD_COUNT_POS);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES_POS, out.length), CRC_POS);
  return out;
}

/** Byte length of a key/value/header value (-1 for null); strings count as UTF-8. */
function byteLengthOf(data: unknown, index: number, what: string): number {
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
function writeData(out: Buffer, pos: number, data: Uint8Array | string, byteLength: number): number {
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

/**
 * Reads the 61-byte header at `pos` without touching the records or checking the CRC.
 * Throws CORRUPT_MESSAGE when fewer than 61 bytes are there or a 64-bit field is not a safe
 * integer.
 */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  if (!Number.isInteger(pos) || pos < 0 || buf.length - pos < BATCH_HEADER_BYTES) {
    throw rillError('CORRUPT_MESSAGE', `Truncated record batch: ${Math.max(0, buf.length - pos)} bytes at position ${pos}, a batch header needs ${BATCH_HEADER_BYTES}`);
  }
  return {
    baseOffset: readInt64(buf, pos + BASE_OFFSET_POS, 'baseOffset'),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH_POS),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_POS),
    magic: buf.readInt8(pos + MAGIC_POS),
    crc: buf.readUInt32BE(pos + CRC_POS),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_POS),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_POS),
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP_POS, 'baseTimestamp'),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP_POS, 'maxTimestamp'),
    producerId: readInt64(buf, pos + PRODUCER_ID_POS, 'producerId'),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_POS),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_POS),
    recordCount: buf.readInt32BE(pos + RECORD_COUNT_POS),
  };
}

/** Total bytes of the batch at `pos` (LOG_OVERHEAD + batchLength), from its first 12 bytes. */
export function batchSize(buf: Buffer, pos = 0): number {
  if (!Number.isInteger(pos) || pos < 0 || buf.length - pos < LOG_OVERHEAD) {
    throw rillError('CORRUPT_MESSAGE', `Truncated record batch: ${Math.max(0, buf.length - pos)} bytes at position ${pos}, its size needs ${LOG_OVERHEAD}`);
  }
  return LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_POS);
}

/**
 * Checks the batch at `pos` before anyone trusts it, cheapest checks first: a whole header,
 * magic 2, MIN_BATCH_LENGTH <= batchLength, total size <= `maxBatchBytes` (else
 * MESSAGE_TOO_LARGE), the whole batch inside `buf`, the CRC-32C over attributes..end, then
 * the header's own consistency: 64-bit fields safe, a known codec, recordCount >= 0 and no
 * more records than bytes allow, lastOffsetDelta >= recordCount - 1 (more is fine: compacted
 * batches keep gaps). Returns the parsed header; throws CORRUPT_MESSAGE with what was wrong.
 *
 * It does not refuse codecs 2-4 (snappy, lz4, zstd): those are valid Kafka batches that rill
 * cannot decompress; the produce path calls `compressionOf` to refuse them. A producer's batch
 * has no gaps, so the produce path may also insist on lastOffsetDelta === recordCount - 1.
 */
export function validateBatch(buf: Buffer, pos = 0, maxBatchBytes = Number.POSITIVE_INFINITY): BatchHeader {
  if (!Number.isInteger(pos) || pos < 0 || buf.length - pos < BATCH_HEADER_BYTES) {
    throw rillError('CORRUPT_MESSAGE', `Truncated record batch: ${Math.max(0, buf.length - pos)} bytes at position ${pos}, a batch header needs ${BATCH_HEADER_BYTES}`);
  }
  const magic = buf.readInt8(pos + MAGIC_POS);
  if (magic !== MAGIC) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has magic ${magic}; only magic ${MAGIC} (RecordBatch v2) is supported`);
  }
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_POS);
  if (batchLength < MIN_BATCH_LENGTH) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has batchLength ${batchLength}, below the minimum ${MIN_BATCH_LENGTH}`);
  }
  const sizeBytes = LOG_OVERHEAD + batchLength;
  if (sizeBytes > maxBatchBytes) {
    throw rillError('MESSAGE_TOO_LARGE', `Record batch at position ${pos} is ${sizeBytes} bytes, above the maximum of ${maxBatchBytes}`);
  }
  const end = pos + sizeBytes;
  if (end > buf.length) {
    throw rillError('CORRUPT_MESSAGE', `Truncated record batch at position ${pos}: batchLength says ${sizeBytes} bytes, only ${buf.length - pos} present`);
  }
  const storedCrc = buf.readUInt32BE(pos + CRC_POS);
  const actualCrc = crc32c(buf, pos + ATTRIBUTES_POS, end);
  if (storedCrc !== actualCrc) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} fails its CRC-32C check: stored ${hex32(storedCrc)}, computed ${hex32(actualCrc)}`);
  }
  const header = readBatchHeader(buf, pos);
  const codec = header.attributes & COMPRESSION_MASK;
  if (codec > 4) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has unknown compression codec ${codec}`);
  }
  const { recordCount, lastOffsetDelta } = header;
  if (recordCount < 0) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has a negative recordCount ${recordCount}`);
  }
  if (codec === 0 && recordCount > (batchLength - MIN_BATCH_LENGTH) / MIN_RECORD_BYTES) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} claims ${recordCount} records in ${batchLength - MIN_BATCH_LENGTH} bytes of records`);
  }
  if (lastOffsetDelta < 0 || lastOffsetDelta < recordCount - 1) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has lastOffsetDelta ${lastOffsetDelta}, inconsistent with recordCount ${recordCount}`);
  }
  if (!Number.isSafeInteger(header.baseOffset + lastOffsetDelta)) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos}: last offset ${header.baseOffset} + ${lastOffsetDelta} exceeds 2^53 - 1`);
  }
  return header;
}

/**
 * Validates (see `validateBatch`) and decodes the batch at `pos`. Records carry absolute
 * offsets; in a LogAppendTime batch every record's timestamp is the batch's maxTimestamp, as
 * Kafka reports it. Keys and values are views into `buf` (or into the decompressed records).
 */
export function decodeBatch(buf: Buffer, pos = 0): DecodedBatch {
  const header = validateBatch(buf, pos);
  const end = pos + LOG_OVERHEAD + header.batchLength;
  let data = buf;
  let start = pos + RECORDS_POS;
  let stop = end;
  if (compressionOf(header.attributes) === 'gzip') {
    data = gunzipRecords(buf.subarray(start, end), pos);
    start = 0;
    stop = data.length;
    if (header.recordCount > data.length / MIN_RECORD_BYTES) {
      throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} claims ${header.recordCount} records in ${data.length} decompressed bytes`);
    }
  }
  return { header, records: decodeRecords(data, start, stop, header, pos) };
}

/**
 * Decodes every whole batch in `buf`, back to back from position 0. A trailing partial batch
 * (a fetch response cut at its byte limit) is ignored; a corrupt batch throws.
 */
export function decodeBatches(buf: Buffer): DecodedBatch[] {
  const batches: DecodedBatch[] = [];
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_POS);
    // A batchLength below the header's is corruption, never a partial batch.
    if (batchLength < MIN_BATCH_LENGTH) {
      throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has batchLength ${batchLength}, below the minimum ${MIN_BATCH_LENGTH}`);
    }
    const sizeBytes = LOG_OVERHEAD + batchLength;
    if (sizeBytes > buf.length - pos) break;
    batches.push(decodeBatch(buf, pos));
    pos += sizeBytes;
  }
  return batches;
}

/** Decompresses a gzip batch's records (the batch is at `pos`, for the message); CORRUPT_MESSAGE when they do not. */
export function gunzipRecords(compressed: Buffer, pos: number): Buffer {
  try {
    return gunzipSync(compressed, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
  } catch (cause) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos}: gzip records do not decompress (${(cause as Error).message})`, { cause });
  }
}

function decodeRecords(data: Buffer, start: number, stop: number, header: BatchHeader, batchPos: number): Record[] {
  const { recordCount, baseOffset, baseTimestamp, lastOffsetDelta } = header;
  const logAppendTime = (header.attributes & TIMESTAMP_TYPE_MASK) !== 0;
  const maxTimestamp = header.maxTimestamp;
  const records: Record[] = [];
  const cursor: Cursor = { pos: start };
  const keyCache: HeaderKeyCache = { pos: -1, length: -1, key: '' };
  let previousOffsetDelta = -1;
  for (let i = 0; i < recordCount; i++) {
    const bodyBytes = readVarint(data, cursor, stop);
    const bodyStart = cursor.pos;
    const recordEnd = bodyStart + bodyBytes;
    if (bodyBytes < MIN_RECORD_BYTES - 1 || recordEnd > stop) {
      throw corruptRecord(batchPos, i, `length ${bodyBytes} does not fit the ${stop - bodyStart} bytes left`);
    }
    cursor.pos = bodyStart + 1; // record attributes: unused
    const timestampDelta = readVarlong(data, cursor, recordEnd);
    const offsetDelta = readVarint(data, cursor, recordEnd);
    if (offsetDelta <= previousOffsetDelta || offsetDelta > lastOffsetDelta) {
      throw corruptRecord(batchPos, i, `offsetDelta ${offsetDelta} is not above ${previousOffsetDelta} and at most lastOffsetDelta ${lastOffsetDelta}`);
    }
    previousOffsetDelta = offsetDelta;

    let key: Buffer | null = null;
    const keyBytes = readVarint(data, cursor, recordEnd);
    if (keyBytes >= 0) {
      const keyEnd = cursor.pos + keyBytes;
      if (keyEnd > recordEnd) throw corruptRecord(batchPos, i, `key length ${keyBytes} runs past the record`);
      key = data.subarray(cursor.pos, keyEnd);
      cursor.pos = keyEnd;
    } else if (keyBytes !== -1) {
      throw corruptRecord(batchPos, i, `key length ${keyBytes} is invalid`);
    }

    let value: Buffer | null = null;
    const valueBytes = readVarint(data, cursor, recordEnd);
    if (valueBytes >= 0) {
      const valueEnd = cursor.pos + valueBytes;
      if (valueEnd > recordEnd) throw corruptRecord(batchPos, i, `value length ${valueBytes} runs past the record`);
      value = data.subarray(cursor.pos, valueEnd);
      cursor.pos = valueEnd;
    } else if (valueBytes !== -1) {
      throw corruptRecord(batchPos, i, `value length ${valueBytes} is invalid`);
    }

    const headerCount = readVarint(data, cursor, recordEnd);
    if (headerCount < 0 || headerCount > recordEnd - cursor.pos) {
      throw corruptRecord(batchPos, i, `header count ${headerCount} is invalid`);
    }
    // Most records carry no headers: share one frozen empty array instead of one per record.
    let headers: RecordHeader[] = NO_RECORD_HEADERS;
    if (headerCount > 0) {
      headers = [];
      for (let h = 0; h < headerCount; h++) headers.push(readHeader(data, cursor, recordEnd, keyCache, batchPos, i));
    }

    if (cursor.pos !== recordEnd) {
      throw corruptRecord(batchPos, i, `its fields end at ${cursor.pos - bodyStart} bytes, its length says ${bodyBytes}`);
    }
    let timestamp = maxTimestamp;
    if (!logAppendTime) {
      timestamp = baseTimestamp + timestampDelta;
      if (timestamp > Number.MAX_SAFE_INTEGER || timestamp < Number.MIN_SAFE_INTEGER) {
        throw corruptRecord(batchPos, i, `timestamp ${baseTimestamp} + ${timestampDelta} exceeds 2^53 - 1`);
      }
    }
    records.push({ offset: baseOffset + offsetDelta, timestamp, key, value, headers });
  }
  if (cursor.pos !== stop) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${batchPos}: ${stop - cursor.pos} bytes follow its ${recordCount} records`);
  }
  return records;
}

/** The `headers` of every decoded record that has none (frozen: shared by all of them). */
const NO_RECORD_HEADERS: RecordHeader[] = Object.freeze([]) as unknown as RecordHeader[];

/**
 * The last header key decoded in a batch, by position: records of one batch usually carry the
 * same header names, and comparing a few bytes is far cheaper than decoding UTF-8 again.
 */
interface HeaderKeyCache {
  pos: number;
  length: number;
  key: string;
}

function readHeader(data: Buffer, cursor: Cursor, recordEnd: number, cache: HeaderKeyCache, batchPos: number, index: number): RecordHeader {
  const keyBytes = readVarint(data, cursor, recordEnd);
  const keyStart = cursor.pos;
  if (keyBytes < 0 || keyStart + keyBytes > recordEnd) {
    throw corruptRecord(batchPos, index, `header key length ${keyBytes} is invalid`);
  }
  let key: string;
  if (keyBytes === cache.length && sameBytes(data, keyStart, cache.pos, keyBytes)) {
    key = cache.key;
  } else {
    key = data.toString('utf8', keyStart, keyStart + keyBytes);
    cache.pos = keyStart;
    cache.length = keyBytes;
    cache.key = key;
  }
  cursor.pos = keyStart + keyBytes;
  const valueBytes = readVarint(data, cursor, recordEnd);
  let value: Buffer | null = null;
  if (valueBytes >= 0) {
    if (cursor.pos + valueBytes > recordEnd) throw corruptRecord(batchPos, index, `header value length ${valueBytes} runs past the record`);
    value = data.subarray(cursor.pos, cursor.pos + valueBytes);
    cursor.pos += valueBytes;
  } else if (valueBytes !== -1) {
    throw corruptRecord(batchPos, index, `header value length ${valueBytes} is invalid`);
  }
  return { key, value };
}

function sameBytes(data: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    if (data[a + i] !== data[b + i]) return false;
  }
  return true;
}

function corruptRecord(batchPos: number, index: number, what: string): Error {
  return rillError('CORRUPT_MESSAGE', `Record batch at position ${batchPos}, record ${index}: ${what}`);
}

/** Overwrites baseOffset (8 bytes at `pos`). The CRC does not cover it: nothing to re-hash. */
export function patchBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  checkInt64Option('baseOffset', baseOffset);
  writeInt64(buf, pos + BASE_OFFSET_POS, baseOffset);
}

/**
 * Marks the batch at `pos` as LogAppendTime with `timestampMs` as its maxTimestamp, and
 * recomputes the CRC (both fields are covered by it): what a Kafka broker does on append to a
 * topic with message.timestamp.type=LogAppendTime. Record timestamp deltas are left alone.
 */
export function setLogAppendTime(buf: Buffer, pos: number, timestampMs: number): void {
  checkInt64Option('timestampMs', timestampMs);
  const end = pos + batchSize(buf, pos);
  if (end > buf.length || end < pos + BATCH_HEADER_BYTES) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} does not fit the buffer (${buf.length} bytes) or is shorter than its header`);
  }
  buf.writeInt16BE(buf.readInt16BE(pos + ATTRIBUTES_POS) | TIMESTAMP_TYPE_MASK, pos + ATTRIBUTES_POS);
  writeInt64(buf, pos + MAX_TIMESTAMP_POS, timestampMs);
  buf.writeUInt32BE(crc32c(buf, pos + ATTRIBUTES_POS, end), pos + CRC_POS);
}

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The compression codec of a batch's attributes (bits 0-2). */
export function compressionOf(attributes: number): Compression {
  const codec = attributes & COMPRESSION_MASK;
  if (codec === 0) return 'none';
  if (codec === 1) return 'gzip';
  if (codec <= 4) {
    throw rillError('UNSUPPORTED_COMPRESSION_TYPE', `Compression codec ${codec} (${CODEC_NAMES[codec]}) is not supported; rill reads and writes none (0) and gzip (1)`);
  }
  throw rillError('CORRUPT_MESSAGE', `Unknown compression codec ${codec} in batch attributes ${attributes}`);
}

/** Timestamp type of a batch's attributes (bit 3). */
export function timestampTypeOf(attributes: number): 'create' | 'logAppend' {
  return (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'logAppend' : 'create';
}

/** Reads an int64 as a JS number; CORRUPT_MESSAGE when it is not a safe integer. */
function readInt64(buf: Buffer, pos: number, field: string): number {
  const value = buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
  if (!Number.isSafeInteger(value)) {
    throw rillError('CORRUPT_MESSAGE', `Record batch field ${field} ${buf.readBigInt64BE(pos)} is outside the safe integer range (|n| <= 2^53 - 1)`);
  }
  return value;
}

/** Writes a safe integer as int64: high word floor(n / 2^32), low word n mod 2^32. */
function writeInt64(buf: Buffer, pos: number, value: number): void {
  buf.writeInt32BE(Math.floor(value / TWO_POW_32), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
}

function checkInt64Option(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a safe integer, got ${value}`);
}

function checkIntOption(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

function checkTimestamp(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) {
    throw rillError('INVALID_TIMESTAMP', `${what} ${value} is not an integer number of milliseconds within 2^53 - 1`);
  }
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
