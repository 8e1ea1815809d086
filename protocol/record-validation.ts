/**
 * The records' framing inside a RecordBatch v2, checked without materializing a record.
 *
 * A batch's CRC-32C only proves that the bytes arrived as the producer wrote them, not that the
 * producer wrote a well-formed batch: a record whose length varint is one too big behind a
 * recomputed CRC passes `validateBatch` and, once appended, makes every consumer stop at that
 * batch. Kafka's broker walks every record at produce for this reason (LogValidator iterating
 * DefaultRecord.readFrom); this is rill's walker, for the broker's produce path and for a
 * consumer that must say what is wrong with a batch it cannot decode.
 *
 * What is checked, record by record (formats in record-batch.ts):
 *   length         a varint, >= 0, fitting the bytes left, and consumed exactly by the fields
 *   attributes     one byte, present (its value is unused, as in Kafka)
 *   timestampDelta a varlong of at most 10 bytes whose timestamp is a safe integer
 *   offsetDelta    a varint; a producer's batch: equal to the record's index (offsets are
 *                  consecutive from baseOffset, so the last one is lastOffsetDelta); a stored
 *                  batch (compaction leaves gaps): strictly increasing and <= lastOffsetDelta
 *   key, value     length -1 (null) or >= 0 and fitting the record; with `keysRequired`
 *                  (a compacted topic) a null key is refused
 *   headers        a count >= 0, then per header a key length >= 0 (keys are never null) and
 *                  a value length -1 or >= 0, each fitting the record
 * and for the batch: exactly recordCount records and no byte after the last one. Compressed
 * records (gzip, snappy, lz4, zstd) are decompressed first, bounded (protocol/compression/).
 *
 * The walk allocates one Cursor per batch and nothing per record; a well-formed batch throws
 * nothing. A malformed one ends the walk with its reason, e.g.
 * "record 0: length 14 does not fit the 13 bytes left".
 */
import { RillError } from './errors.js';
import {
  COMPRESSION_MASK,
  LOG_OVERHEAD,
  MAX_DECOMPRESSED_BYTES,
  MIN_RECORD_BYTES,
  RECORDS_POS,
  TIMESTAMP_TYPE_MASK,
  recordsSection,
  validateBatch,
  type BatchHeader,
} from './record-batch.js';
import { MAX_VARINT_BYTES, MAX_VARLONG_BYTES, readVarint, readVarlong, type Cursor } from './varint.js';

/** attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: a byte each. */
const MIN_RECORD_BODY_BYTES = MIN_RECORD_BYTES - 1;

export interface FramingRules {
  /** A producer's batch: record i has offsetDelta i. Otherwise gaps are allowed (compaction). */
  consecutiveOffsets: boolean;
  /** Every record needs a key (a compacted topic's records are kept by key). */
  keysRequired: boolean;
}

/** What the broker demands of a batch a client produces. */
export const PRODUCED_BATCH_RULES: Readonly<FramingRules> = Object.freeze({ consecutiveOffsets: true, keysRequired: false });
/** The same, for a compacted topic. */
export const PRODUCED_COMPACTED_BATCH_RULES: Readonly<FramingRules> = Object.freeze({ consecutiveOffsets: true, keysRequired: true });
/** What any stored batch must satisfy (compaction may have left offset gaps and null keys). */
export const STORED_BATCH_RULES: Readonly<FramingRules> = Object.freeze({ consecutiveOffsets: false, keysRequired: false });

/** The header fields the walk needs. */
export type FramingHeader = Pick<BatchHeader, 'recordCount' | 'lastOffsetDelta' | 'baseTimestamp' | 'attributes'>;

/**
 * Checks the records of the batch at `pos` of `buf`, whose header `validateBatch` has already
 * accepted (it is the source of `header`). Returns null when every record is well framed, else
 * the reason. A compressed batch is decompressed first, to at most `maxDecompressedBytes`
 * (the produce path derives it from max.message.bytes): data that does not decompress within
 * that throws CORRUPT_MESSAGE.
 */
export function checkBatchRecords(
  buf: Buffer,
  pos: number,
  header: FramingHeader & Pick<BatchHeader, 'batchLength'>,
  rules: Readonly<FramingRules>,
  maxDecompressedBytes = MAX_DECOMPRESSED_BYTES,
): string | null {
  if ((header.attributes & COMPRESSION_MASK) === 0) {
    return checkRecordFraming(buf, pos + RECORDS_POS, pos + LOG_OVERHEAD + header.batchLength, header, rules);
  }
  const { data, start, end } = recordsSection(buf, pos, header, maxDecompressedBytes);
  return checkRecordFraming(data, start, end, header, rules);
}

/**
 * Why the batch at `pos` cannot be decoded, or null when nothing is wrong with it: the
 * header's checks (`validateBatch`: length, magic, CRC, header consistency) and then the
 * records' framing as any stored batch must have it (`STORED_BATCH_RULES`). The slow path of
 * a reader whose decode just failed; the reason does not mention the batch's position in `buf`
 * (a fetch response's, meaningless to whoever reads the message).
 */
export function describeBatchCorruption(buf: Buffer, pos: number): string | null {
  try {
    return checkBatchRecords(buf, pos, validateBatch(buf, pos), STORED_BATCH_RULES);
  } catch (err) {
    if (!(err instanceof RillError)) throw err;
    return err.message.replace(POSITION_PREFIX, '');
  }
}

const POSITION_PREFIX = /^Record batch at position \d+[:,]? ?/;

/**
 * Walks `header.recordCount` records in `data` from `start`, which must end exactly at `stop`.
 * Returns null when they are well framed, else the reason (see the file comment).
 */
export function checkRecordFraming(data: Buffer, start: number, stop: number, header: FramingHeader, rules: Readonly<FramingRules>): string | null {
  const { recordCount, lastOffsetDelta, baseTimestamp } = header;
  const createTime = (header.attributes & TIMESTAMP_TYPE_MASK) === 0;
  const consecutive = rules.consecutiveOffsets;
  const keysRequired = rules.keysRequired;
  const cursor: Cursor = { pos: start };
  // Which field is being read and where its region ends: the reason when a varint read throws.
  let field = 'length';
  let limit = stop;
  let headerIndex = -1;
  let previousOffsetDelta = -1;
  let i = 0;
  try {
    for (; i < recordCount; i++) {
      if (cursor.pos >= stop) return `record ${i}: no bytes left, the batch claims ${recordCount} records`;
      field = 'length';
      limit = stop;
      const bodyBytes = readVarint(data, cursor, stop);
      const bodyStart = cursor.pos;
      if (bodyBytes > stop - bodyStart) return `record ${i}: length ${bodyBytes} does not fit the ${stop - bodyStart} bytes left`;
      if (bodyBytes < MIN_RECORD_BODY_BYTES) return `record ${i}: length ${bodyBytes} is below a record's smallest body, ${MIN_RECORD_BODY_BYTES} bytes`;
      const recordEnd = bodyStart + bodyBytes;
      limit = recordEnd;
      cursor.pos = bodyStart + 1; // attributes: unused

      field = 'timestampDelta';
      const timestampDelta = readVarlong(data, cursor, recordEnd);
      if (createTime && !Number.isSafeInteger(baseTimestamp + timestampDelta)) {
        return `record ${i}: timestamp ${baseTimestamp} + ${timestampDelta} exceeds 2^53 - 1`;
      }

      field = 'offsetDelta';
      const offsetDelta = readVarint(data, cursor, recordEnd);
      if (consecutive ? offsetDelta !== i : offsetDelta <= previousOffsetDelta || offsetDelta > lastOffsetDelta) {
        return consecutive
          ? `record ${i}: offsetDelta ${offsetDelta}, expected ${i} (a produced batch's offsets are consecutive)`
          : `record ${i}: offsetDelta ${offsetDelta} is not above ${previousOffsetDelta} and at most lastOffsetDelta ${lastOffsetDelta}`;
      }
      previousOffsetDelta = offsetDelta;

      field = 'key length';
      const keyBytes = readVarint(data, cursor, recordEnd);
      if (keyBytes < -1 || keyBytes > recordEnd - cursor.pos) return doesNotFit(i, 'key length', keyBytes, recordEnd - cursor.pos);
      if (keyBytes === -1 && keysRequired) return `record ${i}: null key; a compacted topic needs a key on every record`;
      if (keyBytes > 0) cursor.pos += keyBytes;

      field = 'value length';
      const valueBytes = readVarint(data, cursor, recordEnd);
      if (valueBytes < -1 || valueBytes > recordEnd - cursor.pos) return doesNotFit(i, 'value length', valueBytes, recordEnd - cursor.pos);
      if (valueBytes > 0) cursor.pos += valueBytes;

      field = 'header count';
      const headerCount = readVarint(data, cursor, recordEnd);
      // Each header takes at least two bytes (its key and value lengths).
      if (headerCount < 0 || headerCount * 2 > recordEnd - cursor.pos) {
        return `record ${i}: header count ${headerCount} does not fit the ${recordEnd - cursor.pos} bytes left in the record`;
      }
      for (headerIndex = 0; headerIndex < headerCount; headerIndex++) {
        field = 'header key length';
        const headerKeyBytes = readVarint(data, cursor, recordEnd);
        if (headerKeyBytes < 0 || headerKeyBytes > recordEnd - cursor.pos) {
          return doesNotFit(i, `header ${headerIndex} key length`, headerKeyBytes, recordEnd - cursor.pos) + (headerKeyBytes === -1 ? ' (header keys are never null)' : '');
        }
        cursor.pos += headerKeyBytes;
        field = 'header value length';
        const headerValueBytes = readVarint(data, cursor, recordEnd);
        if (headerValueBytes < -1 || headerValueBytes > recordEnd - cursor.pos) {
          return doesNotFit(i, `header ${headerIndex} value length`, headerValueBytes, recordEnd - cursor.pos);
        }
        if (headerValueBytes > 0) cursor.pos += headerValueBytes;
      }
      headerIndex = -1;

      if (cursor.pos !== recordEnd) {
        return `record ${i}: its fields take ${cursor.pos - bodyStart} bytes, its length says ${bodyBytes}`;
      }
    }
  } catch (err) {
    // varint.ts throws only for a malformed varint, and leaves the cursor at its first byte.
    if (!(err instanceof RillError)) throw err;
    const what = headerIndex >= 0 ? field.replace('header', `header ${headerIndex}`) : field;
    return `record ${i}: its ${what} ${malformedVarint(data, cursor.pos, limit, field === 'timestampDelta', field === 'length')}`;
  }
  if (consecutive && recordCount > 0 && previousOffsetDelta !== lastOffsetDelta) {
    return `the last record's offsetDelta ${previousOffsetDelta} is not lastOffsetDelta ${lastOffsetDelta}`;
  }
  if (cursor.pos !== stop) return `${stop - cursor.pos} bytes follow the last of its ${recordCount} records`;
  return null;
}

function doesNotFit(index: number, what: string, value: number, left: number): string {
  return value < -1 ? `record ${index}: ${what} ${value} is invalid` : `record ${index}: ${what} ${value} does not fit the ${left} bytes left in the record`;
}

/** Why the varint (or varlong) at `pos` did not read: the slow path, once per bad batch. */
function malformedVarint(data: Buffer, pos: number, limit: number, long: boolean, isLength: boolean): string {
  const maxBytes = long ? MAX_VARLONG_BYTES : MAX_VARINT_BYTES;
  let n = 0;
  while (pos + n < limit && n < maxBytes) {
    if (data[pos + n]! < 0x80) return long ? 'varlong does not fit a safe integer (|n| <= 2^53 - 1)' : 'varint is malformed';
    n++;
  }
  if (n === maxBytes) return `${long ? 'varlong' : 'varint'} is longer than ${maxBytes} bytes`;
  return `${long ? 'varlong' : 'varint'} runs past the end of the ${isLength ? 'records' : 'record'}`;
}
