/**
 * Validation and decoding of Kafka's RecordBatch v2: one batch Buffer in, its header and
 * records out. Reads the 61-byte header (layout in record-batch-header.ts) and the records
 * after it (record layout in record-batch-encode.ts), decompressing them first for a batch with
 * a codec (protocol/compression/).
 * It never writes to the buffer.
 *
 * Decoded keys and values are views into the buffer passed to `decodeBatch` (or into the
 * decompressed records of a compressed batch): they stay valid only as long as nobody
 * overwrites that buffer; copy them (`Buffer.from(view)`) to keep them beyond that.
 */
import { MAX_DECOMPRESSED_BYTES, decompressRecords, type Compression } from './compression/index.js';
import { crc32c } from './crc32c.js';
import { rillError } from './errors.js';
import {
  ATTRIBUTES_POS,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_POS,
  COMPRESSION_MASK,
  CRC_POS,
  LOG_OVERHEAD,
  MAGIC,
  MAGIC_POS,
  MIN_BATCH_LENGTH,
  MIN_RECORD_BYTES,
  RECORDS_POS,
  TIMESTAMP_TYPE_MASK,
  compressionOf,
  readBatchHeader,
  type BatchHeader,
} from './record-batch-header.js';
import type { RecordHeader } from './record-batch-encode.js';
import { SegmentedBytes } from './frame.js';
import { MAX_VARINT_BYTES, readVarint, varintEndsBefore, zigZagAt, type Cursor } from './varint.js';

/** A batch whose records decompress past this is refused by readers that know no topic limit
 *  (protocol/compression/limits.ts; the produce path uses one derived from max.message.bytes). */
export { MAX_DECOMPRESSED_BYTES };

export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Empty records share one frozen array: treat it as read-only. */
  headers: RecordHeader[];
}


export interface DecodedBatch {
  header: BatchHeader;
  records: Record[];
}

/**
 * Checks the batch at `pos` before anyone trusts it, cheapest checks first: a whole header,
 * magic 2, MIN_BATCH_LENGTH <= batchLength, total size <= `maxBatchBytes` (else
 * MESSAGE_TOO_LARGE), the whole batch inside `buf`, the CRC-32C over attributes..end, then
 * the header's own consistency: 64-bit fields safe, a known codec, recordCount >= 0 and no
 * more records than bytes allow, lastOffsetDelta >= recordCount - 1 (more is fine: compacted
 * batches keep gaps). Returns the parsed header; throws CORRUPT_MESSAGE with what was wrong.
 *
 * It does not decompress the records (codecs 0-4 are all valid; recordsSection and
 * record-validation.ts decompress, bounded). A producer's batch has no gaps, so the produce
 * path may also insist on lastOffsetDelta === recordCount - 1.
 */
export function validateBatch(buf: Buffer, pos = 0, maxBatchBytes = Number.POSITIVE_INFINITY): BatchHeader {
  if (!Number.isInteger(pos) || pos < 0 || buf.length - pos < BATCH_HEADER_BYTES) {
    throw truncatedHeader(Math.max(0, buf.length - pos), pos);
  }
  const sizeBytes = checkFraming(buf, pos, buf.length - pos, pos, maxBatchBytes);
  checkCrc(buf.readUInt32BE(pos + CRC_POS), crc32c(buf, pos + ATTRIBUTES_POS, pos + sizeBytes), pos);
  return checkHeader(readBatchHeader(buf, pos), pos);
}

function truncatedHeader(available: number, pos: number): Error {
  return rillError('CORRUPT_MESSAGE', `Truncated record batch: ${available} bytes at position ${pos}, a batch header needs ${BATCH_HEADER_BYTES}`);
}

/**
 * Magic, batchLength and size of the batch whose header is at `buf[at]`, with `available`
 * bytes from there; `pos` is the batch's position for messages. Returns its size in bytes.
 */
function checkFraming(buf: Buffer, at: number, available: number, pos: number, maxBatchBytes: number): number {
  const magic = buf.readInt8(at + MAGIC_POS);
  if (magic !== MAGIC) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has magic ${magic}; only magic ${MAGIC} (RecordBatch v2) is supported`);
  }
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH_POS);
  if (batchLength < MIN_BATCH_LENGTH) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has batchLength ${batchLength}, below the minimum ${MIN_BATCH_LENGTH}`);
  }
  const sizeBytes = LOG_OVERHEAD + batchLength;
  if (sizeBytes > maxBatchBytes) {
    throw rillError('MESSAGE_TOO_LARGE', `Record batch at position ${pos} is ${sizeBytes} bytes, above the maximum of ${maxBatchBytes}`);
  }
  if (sizeBytes > available) {
    throw rillError('CORRUPT_MESSAGE', `Truncated record batch at position ${pos}: batchLength says ${sizeBytes} bytes, only ${available} present`);
  }
  return sizeBytes;
}

function checkCrc(storedCrc: number, actualCrc: number, pos: number): void {
  if (storedCrc !== actualCrc) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} fails its CRC-32C check: stored ${hex32(storedCrc)}, computed ${hex32(actualCrc)}`);
  }
}

/** The header's own consistency (codec, counts, offsets), after its CRC passed. */
function checkHeader(header: BatchHeader, pos: number): BatchHeader {
  const codec = header.attributes & COMPRESSION_MASK;
  if (codec > 4) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has unknown compression codec ${codec}`);
  }
  const { recordCount, lastOffsetDelta, batchLength } = header;
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
  const records: Record[] = [];
  const sink: RecordSink = {
    begin: () => true,
    record: (offset, timestamp, key, value, headers) => {
      records.push({ offset, timestamp, key, value, headers });
    },
  };
  return { header: decodeBatchInto(buf, pos, sink), records };
}

/**
 * Where `decodeBatchInto` puts a batch: `begin` sees the validated header first and may say
 * no to its records (false: they are not decoded at all); `record` then gets each record's
 * fields as they are read, so a caller builds its own object per record and no intermediate
 * `Record` is made. `headers` is shared and frozen when the record has none.
 */
export interface RecordSink {
  begin(header: BatchHeader): boolean;
  record(offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[]): void;
}

/**
 * A RecordSink that gets where each key and value lies instead of a view of it: `data[keyStart,
 * keyStart + keyLength)`, a length of -1 for null. Creating a Buffer view costs ~100 ns and an
 * object the GC must trace; a caller that keeps records a while before anyone reads them (the
 * consumer's prefetch) stores the positions and makes the views when the app gets the records.
 */
export interface RecordFieldSink {
  begin(header: BatchHeader): boolean;
  record(offset: number, timestamp: number, data: Buffer, keyStart: number, keyLength: number, valueStart: number, valueLength: number, headers: RecordHeader[]): void;
}

/** A RecordFieldSink that hands `sink` views (one adapter per batch, not per record). */
function viewsFor(sink: RecordSink): RecordFieldSink {
  return {
    begin: (header) => sink.begin(header),
    record: (offset, timestamp, data, keyStart, keyLength, valueStart, valueLength, headers) => {
      const key = keyLength < 0 ? null : data.subarray(keyStart, keyStart + keyLength);
      const value = valueLength < 0 ? null : data.subarray(valueStart, valueStart + valueLength);
      sink.record(offset, timestamp, key, value, headers);
    },
  };
}

/**
 * `decodeBatch` without the intermediate objects: validates the batch at `pos` and hands its
 * records to `sink`. Throws as `decodeBatch` does; records of a batch that throws midway may
 * already have reached the sink, so a caller that must not keep part of a batch drops what it
 * got since `begin`.
 */
export function decodeBatchInto(buf: Buffer, pos: number, sink: RecordSink): BatchHeader {
  return decodeBatchFieldsInto(buf, pos, viewsFor(sink));
}

/** `decodeBatchInto` with positions instead of views (the consumer's fetch path). */
export function decodeBatchFieldsInto(buf: Buffer, pos: number, sink: RecordFieldSink): BatchHeader {
  const header = validateBatch(buf, pos);
  if (!sink.begin(header)) return header;
  const { data, start, end } = recordsSection(buf, pos, header);
  if (data !== buf && header.recordCount > data.length / MIN_RECORD_BYTES) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} claims ${header.recordCount} records in ${data.length} decompressed bytes`);
  }
  decodeRecords(data, start, end, header, pos, sink);
  return header;
}

/** Where a batch's records are: in `buf` itself, or in a fresh buffer for a compressed batch. */
export interface RecordsSection {
  data: Buffer;
  start: number;
  end: number;
  /** The batch's codec: what a rewrite of its records (compaction) compresses them with. */
  compression: Compression;
}

/**
 * The records section of the batch at `pos` whose header is `header` (read or validated by
 * the caller): a range of `buf`, or the decompressed records of a compressed batch (at most
 * `maxDecompressedBytes`). Throws CORRUPT_MESSAGE when the records do not decompress within
 * that, or the codec bits are 5-7.
 */
export function recordsSection(buf: Buffer, pos: number, header: Pick<BatchHeader, 'attributes' | 'batchLength'>, maxDecompressedBytes = MAX_DECOMPRESSED_BYTES): RecordsSection {
  const start = pos + RECORDS_POS;
  const end = pos + LOG_OVERHEAD + header.batchLength;
  const compression = compressionOf(header.attributes);
  if (compression === 'none') return { data: buf, start, end, compression };
  const data = decompressRecords(compression, buf.subarray(start, end), maxDecompressedBytes, `Record batch at position ${pos}`);
  return { data, start: 0, end: data.length, compression };
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

/** The gunzipped records section `compressed` of the gzip batch at `pos` (bounded as above). */
export function gunzipRecords(compressed: Buffer, pos: number): Buffer {
  return decompressRecords('gzip', compressed, MAX_DECOMPRESSED_BYTES, `Record batch at position ${pos}`);
}

function decodeRecords(data: Buffer, start: number, stop: number, header: BatchHeader, batchPos: number, sink: RecordFieldSink): void {
  const walk = newRecordWalk(header, batchPos);
  const cursor: Cursor = { pos: start };
  decodeRecordRun(data, cursor, stop, true, header.recordCount, walk, sink);
  if (cursor.pos !== stop) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${batchPos}: ${stop - cursor.pos} bytes follow its ${header.recordCount} records`);
  }
}

/** Where a batch's record walk stands: carried from one buffer to the next when the records span several. */
interface RecordWalk {
  /** Records decoded so far. */
  index: number;
  previousOffsetDelta: number;
  readonly keyCache: HeaderKeyCache;
  readonly header: BatchHeader;
  readonly batchPos: number;
}

function newRecordWalk(header: BatchHeader, batchPos: number): RecordWalk {
  return { index: 0, previousOffsetDelta: -1, keyCache: { data: null, pos: -1, length: -1, key: '' }, header, batchPos };
}

/**
 * Decodes records from `data` at `cursor` until `walk.index` reaches `untilIndex`. With
 * `final` false, `stop` is only where this buffer ends: the walk stops (cursor at the record's
 * start) before a record, or its length varint, that runs past it. With `final` true, `stop`
 * is where the records end and such a record is corrupt.
 */
function decodeRecordRun(data: Buffer, cursor: Cursor, stop: number, final: boolean, untilIndex: number, walk: RecordWalk, sink: RecordFieldSink): void {
  const { baseOffset, baseTimestamp, lastOffsetDelta, maxTimestamp } = walk.header;
  const logAppendTime = (walk.header.attributes & TIMESTAMP_TYPE_MASK) !== 0;
  const batchPos = walk.batchPos;
  const keyCache = walk.keyCache;
  let previousOffsetDelta = walk.previousOffsetDelta;
  for (let i = walk.index; i < untilIndex; i++) {
    const recordStart = cursor.pos;
    if (!final && stop - recordStart < MAX_VARINT_BYTES && !varintEndsBefore(data, recordStart, stop)) break;
    const bodyBytes = zigZagAt(data, cursor, stop, false);
    const bodyStart = cursor.pos;
    const recordEnd = bodyStart + bodyBytes;
    if (!final && bodyBytes >= MIN_RECORD_BYTES - 1 && recordEnd > stop) {
      cursor.pos = recordStart;
      break;
    }
    if (bodyBytes < MIN_RECORD_BYTES - 1 || recordEnd > stop) {
      throw corruptRecord(batchPos, i, `length ${bodyBytes} does not fit the ${stop - bodyStart} bytes left`);
    }
    cursor.pos = bodyStart + 1; // record attributes: unused
    const timestampDelta = zigZagAt(data, cursor, recordEnd, true);
    const offsetDelta = zigZagAt(data, cursor, recordEnd, false);
    if (offsetDelta <= previousOffsetDelta || offsetDelta > lastOffsetDelta) {
      throw corruptRecord(batchPos, i, `offsetDelta ${offsetDelta} is not above ${previousOffsetDelta} and at most lastOffsetDelta ${lastOffsetDelta}`);
    }
    previousOffsetDelta = offsetDelta;

    const keyBytes = zigZagAt(data, cursor, recordEnd, false);
    const keyStart = cursor.pos;
    if (keyBytes >= 0) {
      if (keyStart + keyBytes > recordEnd) throw corruptRecord(batchPos, i, `key length ${keyBytes} runs past the record`);
      cursor.pos = keyStart + keyBytes;
    } else if (keyBytes !== -1) {
      throw corruptRecord(batchPos, i, `key length ${keyBytes} is invalid`);
    }

    const valueBytes = zigZagAt(data, cursor, recordEnd, false);
    const valueStart = cursor.pos;
    if (valueBytes >= 0) {
      if (valueStart + valueBytes > recordEnd) throw corruptRecord(batchPos, i, `value length ${valueBytes} runs past the record`);
      cursor.pos = valueStart + valueBytes;
    } else if (valueBytes !== -1) {
      throw corruptRecord(batchPos, i, `value length ${valueBytes} is invalid`);
    }

    const headerCount = zigZagAt(data, cursor, recordEnd, false);
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
    walk.index = i + 1;
    walk.previousOffsetDelta = previousOffsetDelta;
    sink.record(baseOffset + offsetDelta, timestamp, data, keyStart, keyBytes, valueStart, valueBytes, headers);
  }
}

/**
 * `decodeBatchInto` for a batch held as several buffers (`batch` is exactly one batch's bytes,
 * e.g. a Fetch answer that arrived in several socket chunks), without joining them: the CRC is
 * continued over each segment, records that lie in one segment are decoded in place (keys and
 * values are views of that segment), and only a record that straddles two segments, or the
 * 61-byte header, is copied (into a buffer of its own size). `pos` is the batch's position in
 * its partition's records, for messages. Throws as `decodeBatchInto` does.
 */
export function decodeSegmentedBatchInto(batch: SegmentedBytes, pos: number, sink: RecordSink): BatchHeader {
  return decodeSegmentedBatchFieldsInto(batch, pos, viewsFor(sink));
}

/** `decodeSegmentedBatchInto` with positions instead of views (the consumer's fetch path). */
export function decodeSegmentedBatchFieldsInto(batch: SegmentedBytes, pos: number, sink: RecordFieldSink): BatchHeader {
  if (batch.length < BATCH_HEADER_BYTES) throw truncatedHeader(batch.length, pos);
  const head = batch.bytes(0, BATCH_HEADER_BYTES);
  const sizeBytes = checkFraming(head, 0, batch.length, pos, Number.POSITIVE_INFINITY);
  const body = sizeBytes === batch.length ? batch : batch.slice(0, sizeBytes);
  let crc = 0;
  for (const part of body.slice(ATTRIBUTES_POS, sizeBytes).segments) crc = crc32c(part, 0, part.length, crc);
  checkCrc(head.readUInt32BE(CRC_POS), crc, pos);
  const header = checkHeader(readBatchHeader(head, 0), pos);
  if (!sink.begin(header)) return header;
  const records = body.slice(RECORDS_POS, sizeBytes);
  const compression = compressionOf(header.attributes);
  if (compression !== 'none') {
    // A compressed batch is small on the wire; its codec needs its bytes in one buffer anyway.
    const data = decompressRecords(compression, records.join(), MAX_DECOMPRESSED_BYTES, `Record batch at position ${pos}`);
    if (header.recordCount > data.length / MIN_RECORD_BYTES) {
      throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} claims ${header.recordCount} records in ${data.length} decompressed bytes`);
    }
    decodeRecords(data, 0, data.length, header, pos, sink);
    return header;
  }
  decodeSegmentedRecords(records, header, pos, sink);
  return header;
}

function decodeSegmentedRecords(records: SegmentedBytes, header: BatchHeader, batchPos: number, sink: RecordFieldSink): void {
  const { recordCount } = header;
  const segments = records.segments;
  const walk = newRecordWalk(header, batchPos);
  const cursor: Cursor = { pos: 0 };
  let seg = 0;
  let segStart = 0; // position of segments[seg] within the records
  while (walk.index < recordCount && seg < segments.length) {
    const data = segments[seg]!;
    const final = seg === segments.length - 1;
    decodeRecordRun(data, cursor, data.length, final, recordCount, walk, sink);
    if (walk.index === recordCount) break;
    // The next record straddles this segment's end: copy just that record and decode it.
    const at = segStart + cursor.pos;
    const lengthBytes = records.bytes(at, Math.min(at + MAX_VARINT_BYTES, records.length));
    const lengthCursor: Cursor = { pos: 0 };
    const bodyBytes = readVarint(lengthBytes, lengthCursor, lengthBytes.length);
    const recordBytes = lengthCursor.pos + bodyBytes;
    if (bodyBytes < MIN_RECORD_BYTES - 1 || at + recordBytes > records.length) {
      throw corruptRecord(batchPos, walk.index, `length ${bodyBytes} does not fit the ${records.length - at - lengthCursor.pos} bytes left`);
    }
    const record = records.bytes(at, at + recordBytes);
    decodeRecordRun(record, { pos: 0 }, record.length, true, walk.index + 1, walk, sink);
    // Move to the segment holding the byte after that record.
    const next = at + recordBytes;
    while (seg < segments.length && segStart + segments[seg]!.length <= next) segStart += segments[seg++]!.length;
    cursor.pos = next - segStart;
  }
  const consumed = seg < segments.length ? segStart + cursor.pos : segStart;
  if (consumed !== records.length || walk.index !== recordCount) {
    throw rillError('CORRUPT_MESSAGE', `Record batch at position ${batchPos}: ${records.length - consumed} bytes follow its ${walk.index} of ${recordCount} records`);
  }
}

/** The `headers` of every decoded record that has none (frozen: shared by all of them). */
const NO_RECORD_HEADERS: RecordHeader[] = Object.freeze([]) as unknown as RecordHeader[];

/**
 * The last header key decoded in a batch, by position: records of one batch usually carry the
 * same header names, and comparing a few bytes is far cheaper than decoding UTF-8 again.
 */
interface HeaderKeyCache {
  data: Buffer | null;
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
  if (keyBytes === cache.length && sameBytes(data, keyStart, cache.data!, cache.pos, keyBytes)) {
    key = cache.key;
  } else {
    key = data.toString('utf8', keyStart, keyStart + keyBytes);
    cache.data = data;
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

function sameBytes(data: Buffer, a: number, other: Buffer, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    if (data[a + i] !== other[b + i]) return false;
  }
  return true;
}

function corruptRecord(batchPos: number, index: number, what: string): Error {
  return rillError('CORRUPT_MESSAGE', `Record batch at position ${batchPos}, record ${index}: ${what}`);
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
