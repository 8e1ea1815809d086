/**
 * Decodes one partition's records from a fetch answer into the messages the app receives:
 * batch by batch, straight from the bytes into one object per record (protocol's
 * `decodeBatchInto` hands each record's fields to this sink; no intermediate record object).
 *
 * - Records below the fetch offset are skipped (a fetch returns whole batches, the first may
 *   start earlier); a batch wholly below it, or a control batch, is not decoded at all.
 * - A trailing partial batch (cut by the response's byte limit) is left for the next fetch.
 * - A batch that does not decode (bad CRC, or malformed records behind a valid CRC) ends the
 *   chunk: the records before it are kept, the failure is returned for the fetcher to raise
 *   after them (a CorruptBatchError naming topic, partition and the batch's offsets). A bad
 *   batch wholly below the fetch offset (the app has sought past it) is skipped.
 *
 * One decoder per fetcher, reused for every answer: the hot path allocates the messages and
 * their key/value views, nothing else per record.
 */
import { ErrorCode, RillError, errorFromCode } from '../../protocol/errors.js';
import {
  BATCH_LENGTH_POS,
  CONTROL_MASK,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  decodeBatchInto,
  decodeSegmentedBatchInto,
  readBatchHeader,
  type BatchHeader,
  type RecordHeader,
  type RecordSink,
} from '../../protocol/record-batch.js';
import { SegmentedBytes } from '../../protocol/frame.js';
import { describeBatchCorruption } from '../../protocol/record-validation.js';
import { CorruptBatchError } from '../errors.js';
import type { FetchedRecords } from '../response-decoder.js';
import type { ConsumedMessage } from '../types.js';

/** Bytes counted per record on top of key and value, for prefetch accounting (the message object and its views). */
export const RECORD_ACCOUNTING_OVERHEAD_BYTES = 64;
const NO_HEADERS: Readonly<Record<string, Buffer | null>> = Object.freeze({});

export interface DecodedChunk {
  messages: ConsumedMessage[];
  /** Accounting bytes of `messages` (key + value + RECORD_ACCOUNTING_OVERHEAD_BYTES each). */
  bytes: number;
  /** Where the next fetch starts: after the last whole batch read (or skipped). */
  nextOffset: number;
  /** Whole batches seen; 0 means only a partial batch came back (it is bigger than asked for). */
  wholeBatches: number;
  /** The batch that ended the chunk did not decode: raise this after the messages. */
  failure: Error | null;
}

export class ChunkDecoder implements RecordSink {
  private topic = '';
  private partition = 0;
  private fetchOffset = 0;
  private messages: ConsumedMessage[] = [];
  private bytes = 0;

  /**
   * Decodes `records` of topic[partition] fetched at `fetchOffset`. Records that arrived in
   * several socket chunks are decoded where they lie: a batch inside one chunk as usual, a
   * batch across chunks without joining them (protocol's `decodeSegmentedBatchInto`).
   */
  decode(topic: string, partition: number, fetchOffset: number, records: FetchedRecords): DecodedChunk {
    this.topic = topic;
    this.partition = partition;
    this.fetchOffset = fetchOffset;
    const messages: ConsumedMessage[] = [];
    this.messages = messages;
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
      // corruption, never a partial batch (decodeBatchInto says so below).
      if (batchLength >= MIN_BATCH_LENGTH && sizeBytes > total - pos) break;
      wholeBatches++;
      const messagesBefore = messages.length;
      const bytesBefore = this.bytes;
      let header: BatchHeader;
      try {
        header = batchLength < MIN_BATCH_LENGTH || data.length - at >= sizeBytes
          ? decodeBatchInto(data, at, this)
          : decodeSegmentedBatchInto((records as SegmentedBytes).slice(pos, pos + sizeBytes), pos, this);
      } catch (err) {
        // A batch is delivered whole or not at all.
        messages.length = messagesBefore;
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
    this.messages = [];
    return { messages, bytes, nextOffset, wholeBatches, failure };
  }

  /** RecordSink: a batch wholly below the fetch offset, or a control batch, is not decoded. */
  begin(header: BatchHeader): boolean {
    return (header.attributes & CONTROL_MASK) === 0 && header.baseOffset + header.lastOffsetDelta >= this.fetchOffset;
  }

  /** RecordSink: one record, straight into the message the app receives. */
  record(offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[]): void {
    if (offset < this.fetchOffset) return;
    this.bytes += RECORD_ACCOUNTING_OVERHEAD_BYTES + (key === null ? 0 : key.length) + (value === null ? 0 : value.length);
    this.messages.push({
      topic: this.topic,
      partition: this.partition,
      offset,
      key,
      value,
      headers: headers.length === 0 ? (NO_HEADERS as Record<string, Buffer | null>) : headerMap(headers),
      timestamp,
    });
  }
}

/**
 * The error for the batch at `pos` that `decodeBatchInto` refused with `err`, or null when
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

function headerMap(headers: RecordHeader[]): Record<string, Buffer | null> {
  const out: Record<string, Buffer | null> = {};
  for (let i = 0; i < headers.length; i++) out[headers[i]!.key] = headers[i]!.value;
  return out;
}
