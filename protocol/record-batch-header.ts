/**
 * The 61-byte header of Kafka's RecordBatch v2: its layout, and the only code in rill that reads
 * or patches its fields in place. Storage, the broker and the client call these accessors
 * instead of reading offsets into the buffer themselves.
 *
 * Byte format (all integers big-endian; positions from the start of the batch):
 *
 *   pos size field
 *     0   8  baseOffset            int64   offset of the first record; the broker patches it
 *     8   4  batchLength           int32   bytes after this field: total batch size - 12
 *    12   4  partitionLeaderEpoch  int32   -1 from producers; the leader patches in its epoch
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
 *    61      records               (record-batch-encode.ts / record-batch-decode.ts)
 *
 * 64-bit fields are JS numbers, accepted and produced only while they are safe integers
 * (|n| <= 2^53 - 1; -1 round-trips): a field outside that range reads as CORRUPT_MESSAGE.
 * The CRC covers neither baseOffset nor partitionLeaderEpoch, so the broker stamps both on
 * append without re-hashing; every other patch here recomputes the CRC.
 *
 * The "read" accessors below trust the caller to have checked that the header is inside `buf`
 * (a log scan that already holds BATCH_HEADER_BYTES, or a batch that passed validateBatch);
 * `readBatchHeader` and `batchSize` check bounds themselves.
 */
import type { Compression } from './compression/index.js';
import { crc32c } from './crc32c.js';
import { rillError } from './errors.js';

export type { Compression };

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

/** Bytes from the start of a batch through lastOffsetDelta: all a scan needs to learn a
 *  batch's size, base offset and last offset (readBatchLength, readBaseOffset, readLastOffset). */
export const OFFSET_FIELDS_BYTES = LAST_OFFSET_DELTA_POS + 4;

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

export const INT32_MAX = 0x7fffffff;
export const INT32_MIN = -0x80000000;
export const INT16_MAX = 0x7fff;
export const INT16_MIN = -0x8000;
const TWO_POW_32 = 4294967296;

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

/** The idempotence fields of a batch header. */
export interface ProducerState {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
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

// Single-field reads: for scans that look at one or two fields of many batches and should not
// build a whole BatchHeader object per batch.

export function readBaseOffset(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + BASE_OFFSET_POS, 'baseOffset');
}

export function readBatchLength(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + BATCH_LENGTH_POS);
}

export function readPartitionLeaderEpoch(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_POS);
}

export function readMagic(buf: Buffer, pos = 0): number {
  return buf.readInt8(pos + MAGIC_POS);
}

export function readLastOffsetDelta(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + LAST_OFFSET_DELTA_POS);
}

/** baseOffset + lastOffsetDelta: the offset of the batch's last record. */
export function readLastOffset(buf: Buffer, pos = 0): number {
  return readBaseOffset(buf, pos) + readLastOffsetDelta(buf, pos);
}

export function readMaxTimestamp(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + MAX_TIMESTAMP_POS, 'maxTimestamp');
}

export function readRecordCount(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + RECORD_COUNT_POS);
}

export function readProducerState(buf: Buffer, pos = 0): ProducerState {
  return {
    producerId: readInt64(buf, pos + PRODUCER_ID_POS, 'producerId'),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_POS),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_POS),
  };
}

/** Overwrites baseOffset (8 bytes at `pos`). The CRC does not cover it: nothing to re-hash. */
export function patchBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  checkInt64Option('baseOffset', baseOffset);
  writeInt64(buf, pos + BASE_OFFSET_POS, baseOffset);
}

/**
 * Overwrites partitionLeaderEpoch (4 bytes at `pos + 12`): the leader stamps its epoch on
 * append. The CRC does not cover it: nothing to re-hash.
 */
export function patchPartitionLeaderEpoch(buf: Buffer, pos: number, leaderEpoch: number): void {
  checkIntOption('partitionLeaderEpoch', leaderEpoch, INT32_MIN, INT32_MAX);
  buf.writeInt32BE(leaderEpoch, pos + PARTITION_LEADER_EPOCH_POS);
}

/**
 * Overwrites producerId, producerEpoch and baseSequence of the whole batch `buf` and
 * recomputes its CRC (all three are covered by it): the producer assigns them when a batch is
 * first sent, after the records were encoded.
 */
export function patchProducerState(buf: Buffer, state: ProducerState): void {
  checkInt64Option('producerId', state.producerId);
  checkIntOption('producerEpoch', state.producerEpoch, INT16_MIN, INT16_MAX);
  checkIntOption('baseSequence', state.baseSequence, INT32_MIN, INT32_MAX);
  checkWholeBatch(buf, 0);
  writeInt64(buf, PRODUCER_ID_POS, state.producerId);
  buf.writeInt16BE(state.producerEpoch, PRODUCER_EPOCH_POS);
  buf.writeInt32BE(state.baseSequence, BASE_SEQUENCE_POS);
  sealCrc(buf, 0);
}

/**
 * Marks the batch at `pos` as LogAppendTime with `timestampMs` as its maxTimestamp, and
 * recomputes the CRC (both fields are covered by it): what a Kafka broker does on append to a
 * topic with message.timestamp.type=LogAppendTime. Record timestamp deltas are left alone.
 */
export function setLogAppendTime(buf: Buffer, pos: number, timestampMs: number): void {
  checkInt64Option('timestampMs', timestampMs);
  checkWholeBatch(buf, pos);
  buf.writeInt16BE(buf.readInt16BE(pos + ATTRIBUTES_POS) | TIMESTAMP_TYPE_MASK, pos + ATTRIBUTES_POS);
  writeInt64(buf, pos + MAX_TIMESTAMP_POS, timestampMs);
  sealCrc(buf, pos);
}

/**
 * A new batch with the header of the batch at `pos` (offsets, timestamps, producer state kept)
 * and `records` as its records section: batchLength, recordCount and the CRC are rewritten, and
 * the attributes when `attributes` is given. `records` must already be compressed the way the
 * attributes say. Compaction uses it to drop records while keeping the batch's offsets.
 */
export function rebuildBatch(buf: Buffer, pos: number, records: Buffer, recordCount: number, attributes?: number): Buffer {
  if (records.length > INT32_MAX - MIN_BATCH_LENGTH) {
    throw rillError('MESSAGE_TOO_LARGE', `The records take ${records.length} bytes; a batch holds at most 2^31 - 1`);
  }
  checkIntOption('recordCount', recordCount, 0, INT32_MAX);
  const out = Buffer.allocUnsafe(RECORDS_POS + records.length);
  buf.copy(out, 0, pos, pos + RECORDS_POS);
  records.copy(out, RECORDS_POS);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_POS);
  out.writeInt32BE(recordCount, RECORD_COUNT_POS);
  if (attributes !== undefined) out.writeInt16BE(attributes, ATTRIBUTES_POS);
  sealCrc(out, 0);
  return out;
}

/** Recomputes and stores the CRC-32C of the whole batch at `pos`. */
export function sealCrc(buf: Buffer, pos: number): void {
  const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_POS);
  buf.writeUInt32BE(crc32c(buf, pos + ATTRIBUTES_POS, end), pos + CRC_POS);
}

function checkWholeBatch(buf: Buffer, pos: number): void {
  const end = pos + batchSize(buf, pos);
  if (end > buf.length || end < pos + BATCH_HEADER_BYTES) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} does not fit the buffer (${buf.length} bytes) or is shorter than its header`);
  }
}

const CODEC_NAMES: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The compression codec of a batch's attributes (bits 0-2); 5-7 are no codec: CORRUPT_MESSAGE. */
export function compressionOf(attributes: number): Compression {
  const codec = attributes & COMPRESSION_MASK;
  const name = CODEC_NAMES[codec];
  if (name === undefined) throw rillError('CORRUPT_MESSAGE', `Unknown compression codec ${codec} in batch attributes ${attributes}`);
  return name;
}

/** Timestamp type of a batch's attributes (bit 3). */
export function timestampTypeOf(attributes: number): 'create' | 'logAppend' {
  return (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'logAppend' : 'create';
}

/** Reads an int64 as a JS number; CORRUPT_MESSAGE when it is not a safe integer. */
export function readInt64(buf: Buffer, pos: number, field: string): number {
  const value = buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
  if (!Number.isSafeInteger(value)) {
    throw rillError('CORRUPT_MESSAGE', `Record batch field ${field} ${buf.readBigInt64BE(pos)} is outside the safe integer range (|n| <= 2^53 - 1)`);
  }
  return value;
}

/** Writes a safe integer as int64: high word floor(n / 2^32), low word n mod 2^32. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  buf.writeInt32BE(Math.floor(value / TWO_POW_32), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
}

export function checkInt64Option(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a safe integer, got ${value}`);
}

export function checkIntOption(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}
