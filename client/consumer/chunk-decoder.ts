/**
 * Decodes one partition's records from a fetch answer into a MessageChunk (message-chunk.ts):
 * batch by batch, every batch validated (CRC, record framing) now, each record's offset,
 * timestamp and key/value positions stored as numbers (protocol's `decodeBatchFieldsInto`
 * hands them to this sink); the message objects are made when the app gets them.
 *
 * - Records below the fetch offset are skipped (a fetch returns whole batches, the first may
 *   start earlier); a batch wholly below it, or a control batch, is not decoded at all.
 * - A trailing partial batch (cut by the response's byte limit) is left for the next fetch.
 * - A batch that does not decode (bad CRC, or malformed records behind a valid CRC) ends the
 *   chunk: the records before it are kept, the failure is returned for the fetcher to raise
 *   after them (a CorruptBatchError naming topic, partition and the batch's offsets). A bad
 *   batch wholly below the fetch offset (the app has sought past it) is skipped.
 *
 * One decoder per fetcher, reused for every answer: the hot path allocates nothing per record
 * (a record with headers gets its header map).
 */
import { ErrorCode, RillError, errorFromCode } from '../../protocol/errors.js';
import {
  BATCH_LENGTH_POS,
  CONTROL_MASK,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  decodeBatchFieldsInto,
  decodeSegmentedBatchFieldsInto,
  readBatchHeader,
  type BatchHeader,
  type RecordFieldSink,
  type RecordHeader,
} from '../../protocol/record-batch.js';
import { SegmentedBytes } from '../../protocol/frame.js';
import { describeBatchCorruption } from '../../protocol/record-validation.js';
import { CorruptBatchError } from '../errors.js';
import type { FetchedRecords } from '../response-decoder.js';
import { ColumnPool, MessageChunk } from './message-chunk.js';

/** Bytes counted per record on top of key and value, for prefetch accounting (its columns, then its message object and views). */
export const RECORD_ACCOUNTING_OVERHEAD_BYTES = 64;
/** A first guess at the bytes per record of an answer, to size a chunk's columns (they double when wrong). */
const GUESS_BYTES_PER_RECORD = 96;

export interface DecodedChunk {
  /** The records for the app (count 0 when none); its `bytes` are set, not its epoch or high watermark. */
  chunk: MessageChunk;
  /** Accounting bytes of the chunk (key + value + RECORD_ACCOUNTING_OVERHEAD_BYTES each). */
  bytes: number;
  /** Where the next fetch starts: after the last whole batch read (or skipped). */
  nextOffset: number;
  /** Whole batches seen; 0 means only a partial batch came back (it is bigger than asked for). */
  wholeBatches: number;
  /** The batch that ended the chunk did not decode: raise this after the messages. */
  failure: Error | null;
}

export class ChunkDecoder implements RecordFieldSink {
  private fetchOffset = 0;
  private chunk: MessageChunk | null = null;
  private bytes = 0;
  /** Columns of chunks already delivered, reused by the next ones. */
  private readonly pool = new ColumnPool();

  /**
   * Decodes `records` of topic[partition] fetched at `fetchOffset`. Records that arrived in
   * several socket chunks are decoded where they lie: a batch inside one chunk as usual, a
   * batch across chunks without joining them (protocol's `decodeSegmentedBatchInto`).
   */
  decode(topic: string, partition: number, fetchOffset: number, records: FetchedRecords): DecodedChunk {
    this.fetchOffset = fetchOffset;
    const chunk = new MessageChunk(topic, partition, Math.ceil(records.length / GUESS_BYTES_PER_RECORD), this.pool);
    this.chunk = chunk;
    this.bytes = 0;
    let nextOffset = fetchOffset;
    let wholeBatches = 0;
    let failure: Error | null = null;
    const segments = records instanceof SegmentedBytes ? records.segments : null;
    const total = records.length;
    let seg = 0;
    let segStart = 0;
    let pos = 0;
    while (total - pos >= LOG_OVERHEAD) {
      // The buffer holding the batch's first byte, and where in it.
      let data = records as Buffer;
      let at = pos;
      if (segments !== null) {
        while (segStart + segments[seg]!.length <= pos) segStart += segments[seg++]!.length;
        data = segments[seg]!;
        at = pos - segStart;
      }
      const batchLength = data.length - at >= LOG_OVERHEAD
        ? data.readInt32BE(at + BATCH_LENGTH_POS)
        : (records as SegmentedBytes).bytes(pos + BATCH_LENGTH_POS, pos + LOG_OVERHEAD).readInt32BE(0);
      const sizeBytes = LOG_OVERHEAD + batchLength;
      // A batch cut by the response's byte limit; a batchLength below the header's is
      // corruption, never a partial batch (decodeBatchFieldsInto says so below).
      if (batchLength >= MIN_BATCH_LENGTH && sizeBytes > total - pos) break;
      wholeBatches++;
      const countBefore = chunk.count;
      const bytesBefore = this.bytes;
      let header: BatchHeader;
      try {
        header = batchLength < MIN_BATCH_LENGTH || data.length - at >= sizeBytes
          ? decodeBatchFieldsInto(data, at, this)
          : decodeSegmentedBatchFieldsInto((records as SegmentedBytes).slice(pos, pos + sizeBytes), pos, this);
      } catch (err) {
        // A batch is delivered whole or not at all.
        chunk.truncate(countBefore);
        this.bytes = bytesBefore;
        // Rare: join a chunk list to describe the bad batch with the usual helpers.
        const whole = segments === null ? (records as Buffer) : (records as SegmentedBytes).join();
        const bad = undecodable(topic, partition, fetchOffset, whole, pos, nextOffset, err);
        if (bad === null && batchLength >= MIN_BATCH_LENGTH) {
          pos += sizeBytes;
          continue;
        }
        failure = bad ?? (err as Error);
        break;
      }
      pos += sizeBytes;
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      if (lastOffset + 1 > nextOffset) nextOffset = lastOffset + 1;
    }
    const bytes = this.bytes;
    chunk.bytes = bytes;
    this.chunk = null;
    return { chunk, bytes, nextOffset, wholeBatches, failure };
  }

  /** RecordFieldSink: a batch wholly below the fetch offset, or a control batch, is not decoded. */
  begin(header: BatchHeader): boolean {
    return (header.attributes & CONTROL_MASK) === 0 && header.baseOffset + header.lastOffsetDelta >= this.fetchOffset;
  }

  /** RecordFieldSink: one record's fields into the chunk (records below the fetch offset are skipped). */
  record(offset: number, timestamp: number, data: Buffer, keyStart: number, keyLength: number, valueStart: number, valueLength: number, headers: RecordHeader[]): void {
    if (offset < this.fetchOffset) return;
    this.bytes += RECORD_ACCOUNTING_OVERHEAD_BYTES + (keyLength < 0 ? 0 : keyLength) + (valueLength < 0 ? 0 : valueLength);
    this.chunk!.add(offset, timestamp, data, keyStart, keyLength, valueStart, valueLength, headers);
  }
}

/**
 * The error for the batch at `pos` that `decodeBatchFieldsInto` refused with `err`, or null when
 * that batch lies wholly below the fetch offset (the app has sought past it: skip it). A
 * corrupt batch gets a CorruptBatchError with its offsets from its header (`nextOffset`, where
 * the partition stands, when the header is unreadable); any other refusal (a codec rill does
 * not read) keeps its code.
 */
function undecodable(topic: string, partition: number, fetchOffset: number, records: Buffer, pos: number, nextOffset: number, err: unknown): Error | null {
  let baseOffset = nextOffset;
  let lastOffset = nextOffset;
  try {
    const header = readBatchHeader(records, pos);
    baseOffset = header.baseOffset;
    lastOffset = header.baseOffset + Math.max(0, header.lastOffsetDelta);
    if (lastOffset < fetchOffset) return null;
  } catch {
    // Fewer than a header's bytes or 64-bit fields out of range: keep where the partition stands.
  }
  if (!(err instanceof RillError)) return err as Error;
  if (err.code !== ErrorCode.CORRUPT_MESSAGE) {
    return errorFromCode(err.code, `${topic}[${partition}] at offset ${baseOffset}: ${err.message}`, { topic, partition });
  }
  const reason = describeBatchCorruption(records, pos) ?? err.message;
  return new CorruptBatchError(topic, partition, baseOffset, lastOffset, reason);
}
