/**
 * The read side of a partition log's segments: finding whole batches from an offset with one
 * positioned read, remembering where sequential readers stopped, and the timestamp lookup.
 * PartitionLog chooses the segment and retains it for the read; this module never changes a
 * segment.
 */
import { RillError, rillError } from '../protocol/errors.js';
import {
  BATCH_HEADER_BYTES,
  batchSize,
  decodeBatchInto,
  readBaseOffset,
  readLastOffset,
  readMaxTimestamp,
  type RecordSink,
} from '../protocol/record-batch.js';
import type { Segment } from './segment.js';

interface ReadPosition {
  segment: Segment;
  offset: number;
  position: number;
}

/** How many "next offset → position" pairs reads remember (one per sequential reader). */
const READ_POSITION_CACHE_SIZE = 8;

export class SegmentReader {
  private readPositions: ReadPosition[] = [];
  private readPositionNext = 0;

  /**
   * Whole batches of `seg` from the one holding `fromOffset`, at most `maxBytes` (at least one
   * batch with minOneBatch), none starting at or after `limitOffset`. Null when the segment
   * holds nothing at or after fromOffset; an empty buffer when maxBytes is too small.
   */
  async readFromSegment(seg: Segment, fromOffset: number, maxBytes: number, minOneBatch: boolean, limitOffset: number): Promise<Buffer | null> {
    const endBytes = seg.sizeBytes;
    const cached = this.cachedReadPosition(seg, fromOffset);
    let position: number;
    let buf: Buffer;
    if (cached >= 0 && cached < endBytes) {
      // A sequential reader: the batch at `cached` is the one to return; read straight away.
      position = cached;
      buf = await seg.readAt(position, Math.min(Math.max(maxBytes, BATCH_HEADER_BYTES), endBytes - position));
      const firstSize = batchSize(buf, 0);
      if (firstSize > buf.length) {
        if (!minOneBatch) return Buffer.alloc(0);
        if (position + firstSize > endBytes) throw rillError('KAFKA_STORAGE_ERROR', `${seg.logPath}: batch at ${position} runs past the segment end`);
        buf = await seg.readAt(position, firstSize);
      } else if (firstSize > maxBytes && !minOneBatch) {
        return Buffer.alloc(0);
      }
    } else {
      if (cached >= endBytes) return null;
      const found = await seg.locateBatch(fromOffset, endBytes);
      if (found === null) return null;
      position = found.position;
      let length = Math.min(Math.max(maxBytes, 0), endBytes - position);
      if (length < found.sizeBytes) {
        if (!minOneBatch) return Buffer.alloc(0);
        length = found.sizeBytes;
      }
      buf = await seg.readAt(position, length);
    }
    // Keep whole batches below the limit only.
    let pos = 0;
    let nextOffset = fromOffset;
    while (buf.length - pos >= BATCH_HEADER_BYTES) {
      const size = batchSize(buf, pos);
      if (size < BATCH_HEADER_BYTES || pos + size > buf.length) break;
      if (pos > 0 && readBaseOffset(buf, pos) >= limitOffset) break;
      nextOffset = readLastOffset(buf, pos) + 1;
      pos += size;
    }
    if (pos === 0) throw rillError('KAFKA_STORAGE_ERROR', `${seg.logPath}: the batch at ${position} does not read back whole`);
    this.rememberReadPosition(seg, nextOffset, position + pos);
    return pos === buf.length ? buf : buf.subarray(0, pos);
  }

  /** Drops remembered positions in these segments (deleted, replaced or truncated). */
  forget(segments: readonly Segment[]): void {
    this.readPositions = this.readPositions.filter((p) => !segments.includes(p.segment));
    this.readPositionNext = 0;
  }

  private cachedReadPosition(seg: Segment, offset: number): number {
    for (const p of this.readPositions) if (p.segment === seg && p.offset === offset) return p.position;
    return -1;
  }

  private rememberReadPosition(segment: Segment, offset: number, position: number): void {
    for (const p of this.readPositions) {
      if (p.segment === segment && p.position === position) {
        p.offset = offset;
        return;
      }
    }
    const entry = { segment, offset, position };
    if (this.readPositions.length < READ_POSITION_CACHE_SIZE) {
      this.readPositions.push(entry);
    } else {
      this.readPositions[this.readPositionNext] = entry;
      this.readPositionNext = (this.readPositionNext + 1) % READ_POSITION_CACHE_SIZE;
    }
  }
}

/**
 * The first record at or after `minOffset` in `seg` whose timestamp is >= timestampMs: the time
 * index skips ahead, then batch headers (a batch whose header maxTimestamp is below the target
 * holds no answer and is never decoded), then the one batch that holds the answer is decoded.
 * Null when there is none.
 *
 * When that batch's records cannot be read (a corrupt or undecodable batch that got into the
 * log), the answer is the batch's first offset with its header maxTimestamp, as Kafka answers
 * from the header: the lookup must not fail, or a consumer starting at a timestamp retries a
 * retriable CORRUPT_MESSAGE forever. Fetching from there then raises the batch's error with
 * the offsets to seek past.
 */
export async function findTimestampInSegment(seg: Segment, timestampMs: number, minOffset: number): Promise<{ offset: number; timestamp: number } | null> {
  const endBytes = seg.sizeBytes;
  const startFrom = Math.max(seg.timeIndex.lookupBefore(timestampMs), minOffset);
  let position = seg.offsetIndex.lookup(startFrom).position;
  while (position + BATCH_HEADER_BYTES <= endBytes) {
    const header = await seg.readAt(position, BATCH_HEADER_BYTES);
    if (header.length < BATCH_HEADER_BYTES) return null;
    const size = batchSize(header, 0);
    const lastOffset = readLastOffset(header, 0);
    const maxTimestamp = readMaxTimestamp(header, 0);
    if (size < BATCH_HEADER_BYTES || position + size > endBytes) return null;
    if (lastOffset >= minOffset && maxTimestamp >= timestampMs) {
      const hit = firstRecordAtOrAfter(await seg.readAt(position, size), timestampMs, minOffset);
      if (hit === UNREADABLE) return { offset: Math.max(readBaseOffset(header, 0), minOffset), timestamp: maxTimestamp };
      if (hit !== null) return hit;
      // The header promised a record this recent but none is (a lying maxTimestamp): go on.
    }
    position += size;
  }
  return null;
}

const UNREADABLE = Symbol('unreadable batch');

/**
 * The first record of `batch` at or after `minOffset` with a timestamp >= timestampMs, null
 * when none is, UNREADABLE when its records cannot be decoded (CORRUPT_MESSAGE, or a codec this
 * process cannot run). The records go through a sink that keeps only the answer: no Record objects.
 */
function firstRecordAtOrAfter(batch: Buffer, timestampMs: number, minOffset: number): { offset: number; timestamp: number } | null | typeof UNREADABLE {
  let hit: { offset: number; timestamp: number } | null = null;
  const sink: RecordSink = {
    begin: () => true,
    record: (offset, timestamp) => {
      if (hit === null && offset >= minOffset && timestamp >= timestampMs) hit = { offset, timestamp };
    },
  };
  try {
    decodeBatchInto(batch, 0, sink);
  } catch (err) {
    // UNSUPPORTED_COMPRESSION_TYPE: a zstd batch in a process where libzstd cannot load (no
    // WebAssembly, protocol/compression/libzstd.ts); the lookup answers as for a corrupt batch.
    if (err instanceof RillError && (err.errorName === 'CORRUPT_MESSAGE' || err.errorName === 'UNSUPPORTED_COMPRESSION_TYPE')) return UNREADABLE;
    throw err;
  }
  return hit;
}
