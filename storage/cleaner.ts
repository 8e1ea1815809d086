/**
 * Log compaction (cleanup.policy=compact): keep the latest record of every key.
 *
 * One pass over a partition:
 *   1. cleanable = the closed segments (never the active one), oldest first, up to the first
 *      one whose newest record is younger than min.compaction.lag.ms;
 *   2. build key → offset of its latest record over the cleanable segments (records decoded,
 *      compressed batches decompressed);
 *   3. group consecutive cleanable segments (total size <= segment.bytes) and rewrite each group
 *      into one segment with the first one's base offset, keeping a record when it has no key,
 *      or it is its key's latest and not a tombstone older than delete.retention.ms (judged by
 *      the newest timestamp of its source segment);
 *   4. swap the group for the cleaned segment, crash-safely.
 *
 * Rewritten batches keep their header (baseOffset, lastOffsetDelta, timestamps, producer
 * id/epoch/sequence, attributes) and the kept records' bytes exactly (their offset and timestamp
 * deltas stay valid since baseOffset and baseTimestamp do not move); batchLength, recordCount
 * and the CRC are recomputed, compressed batches are recompressed with their own codec. So
 * every kept record keeps its offset, order never changes, and a batch's lastOffsetDelta still says where the next offset
 * is (consumers must advance to baseOffset + lastOffsetDelta + 1, not past the last record).
 * A batch left with no records is dropped, except the group's last batch, which stays as an
 * empty batch (header only, uncompressed) so the cleaned segment ends at the same offset.
 *
 * Crash safety (Kafka's protocol): the output is written as `<base>.{log,index,timeindex}.cleaned`
 * and fsynced; renaming them to `.swap` (log last, then fsync dir) is the commit point. Then the
 * old segments are renamed to `.deleted` (readers still holding them finish first) and the .swap
 * files renamed into place. On open (recovery.ts) `.cleaned` files are discarded and a `.swap`
 * replaces every live segment whose base offset lies in its offset range.
 */
import type { Logger } from 'pino';
import {
  BATCH_HEADER_BYTES,
  COMPRESSION_MASK,
  CONTROL_MASK,
  batchSize,
  readBatchHeader,
  rebuildBatch,
  recordsSection,
  type BatchHeader,
} from '../protocol/record-batch.js';
import { compressRecords } from '../protocol/compression/index.js';
import { readVarint, readVarlong, type Cursor } from '../protocol/varint.js';
import { fsyncDir, unlinkIfExists } from './checkpoint.js';
import { CLEANED_SUFFIX, SWAP_SUFFIX } from './log-file-names.js';
import { isCompacted } from './log-config.js';
import { MAX_RELATIVE_OFFSET } from './offset-index.js';
import type { PartitionLog } from './partition-log.js';
import { Segment } from './segment.js';

/** Bytes read per chunk while walking a segment's batches. */
export const CLEANER_READ_CHUNK_BYTES = 1024 * 1024;
/** Bytes of cleaned output buffered before one write. */
export const CLEANER_WRITE_CHUNK_BYTES = 1024 * 1024;

export interface CleanerStats {
  groups: number;
  segmentsBefore: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
}

interface CleanerState {
  /** Offset after the last segment cleaned last time: a pass with nothing past it is skipped... */
  cleanedThroughOffset: number;
  /** ...unless a retained tombstone has expired by now. */
  nextTombstoneExpiryMs: number;
}

const stateOf = new WeakMap<PartitionLog, CleanerState>();

/** One record's raw bytes and the fields compaction needs. */
interface RawRecord {
  start: number;
  end: number;
  offsetDelta: number;
  keyStart: number;
  keyBytes: number;
  valueBytes: number;
}

/** Walks the records of [start, end) without copying; throws on malformed bytes. */
function walkRecords(data: Buffer, start: number, end: number, count: number): RawRecord[] {
  const out: RawRecord[] = [];
  const cursor: Cursor = { pos: start };
  for (let i = 0; i < count; i++) {
    const recStart = cursor.pos;
    const bodyBytes = readVarint(data, cursor, end);
    const recEnd = cursor.pos + bodyBytes;
    if (bodyBytes < 6 || recEnd > end) throw new Error(`record ${i}: length ${bodyBytes} does not fit`);
    cursor.pos += 1; // attributes
    readVarlong(data, cursor, recEnd); // timestampDelta
    const offsetDelta = readVarint(data, cursor, recEnd);
    const keyBytes = readVarint(data, cursor, recEnd);
    const keyStart = cursor.pos;
    if (keyBytes > 0) cursor.pos += keyBytes;
    if (keyBytes < -1 || cursor.pos > recEnd) throw new Error(`record ${i}: key length ${keyBytes} does not fit`);
    const valueBytes = readVarint(data, cursor, recEnd);
    if (valueBytes < -1 || cursor.pos + Math.max(valueBytes, 0) > recEnd) throw new Error(`record ${i}: value length ${valueBytes} does not fit`);
    out.push({ start: recStart, end: recEnd, offsetDelta, keyStart, keyBytes, valueBytes });
    cursor.pos = recEnd;
  }
  if (cursor.pos !== end) throw new Error(`${end - cursor.pos} bytes follow the last record`);
  return out;
}

/** Calls fn for every batch of the segment, in order, with a buffer holding it whole. */
async function forEachBatch(seg: Segment, fn: (buf: Buffer, pos: number, header: BatchHeader, isLast: boolean) => Promise<void> | void): Promise<void> {
  const size = seg.sizeBytes;
  let pos = 0;
  while (pos < size) {
    let chunk = await seg.readAt(pos, Math.min(CLEANER_READ_CHUNK_BYTES, size - pos));
    if (chunk.length < BATCH_HEADER_BYTES) throw new Error(`${seg.logPath}: short read at ${pos}`);
    const first = batchSize(chunk, 0);
    if (first > chunk.length) chunk = await seg.readAt(pos, first);
    let p = 0;
    while (chunk.length - p >= BATCH_HEADER_BYTES) {
      const bsize = batchSize(chunk, p);
      if (p + bsize > chunk.length) break;
      const header = readBatchHeader(chunk, p);
      await fn(chunk, p, header, pos + p + bsize >= size);
      p += bsize;
    }
    if (p === 0) throw new Error(`${seg.logPath}: no whole batch at ${pos}`);
    pos += p;
  }
}

function keyString(data: Buffer, r: RawRecord): string {
  return data.toString('latin1', r.keyStart, r.keyStart + r.keyBytes);
}

/** Runs one compaction pass over `log` if its policy includes compact; null when there was nothing to do. */
export async function compactLog(log: PartitionLog, nowMs: number, logger: Logger): Promise<CleanerStats | null> {
  if (!isCompacted(log.config)) return null;
  return log.runMaintenance(() => compactLogExclusive(log, nowMs, logger));
}

async function compactLogExclusive(log: PartitionLog, nowMs: number, logger: Logger): Promise<CleanerStats | null> {
  const cfg = log.config;
  const closed = log.closedSegments();
  const cleanable: Segment[] = [];
  for (const seg of closed) {
    if (nowMs - seg.largestTimestampMs < cfg.minCompactionLagMs) break;
    cleanable.push(seg);
  }
  if (cleanable.length === 0) return null;
  const state = stateOf.get(log) ?? { cleanedThroughOffset: -1, nextTombstoneExpiryMs: Number.POSITIVE_INFINITY };
  const through = cleanable[cleanable.length - 1]!.nextOffset;
  if (through <= state.cleanedThroughOffset && nowMs < state.nextTombstoneExpiryMs) return null;

  // Pass 1: latest offset of every key.
  const latest = new Map<string, number>();
  for (const seg of cleanable) {
    seg.retain();
    try {
      await forEachBatch(seg, (buf, pos, header) => {
        if ((header.attributes & CONTROL_MASK) !== 0) return;
        let recs;
        try {
          // Throws for codec bits 5-7 or records that do not inflate (such a batch is left alone).
          recs = recordsSection(buf, pos, header);
          for (const r of walkRecords(recs.data, recs.start, recs.end, header.recordCount)) {
            if (r.keyBytes >= 0) latest.set(keyString(recs.data, r), header.baseOffset + r.offsetDelta);
          }
        } catch {
          // Left as is by pass 2 too (see below).
        }
      });
    } finally {
      seg.release();
    }
  }

  // Groups of consecutive non-empty segments, at most segment.bytes each.
  const groups: Segment[][] = [];
  let current: Segment[] = [];
  let currentBytes = 0;
  for (const seg of cleanable) {
    if (seg.isEmpty) {
      if (current.length > 0) groups.push(current);
      current = [];
      currentBytes = 0;
      continue;
    }
    const fits = current.length > 0
      && currentBytes + seg.sizeBytes <= cfg.segmentBytes
      && seg.nextOffset - 1 - current[0]!.baseOffset <= MAX_RELATIVE_OFFSET;
    if (!fits && current.length > 0) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(seg);
    currentBytes += seg.sizeBytes;
  }
  if (current.length > 0) groups.push(current);

  const stats: CleanerStats = { groups: 0, segmentsBefore: 0, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, tombstonesRemoved: 0 };
  let nextExpiry = Number.POSITIVE_INFINITY;
  for (const group of groups) {
    const result = await cleanGroup(log, group, latest, nowMs, logger);
    stats.groups++;
    stats.segmentsBefore += group.length;
    stats.bytesBefore += result.bytesBefore;
    stats.bytesAfter += result.bytesAfter;
    stats.recordsRemoved += result.recordsRemoved;
    stats.tombstonesRemoved += result.tombstonesRemoved;
    nextExpiry = Math.min(nextExpiry, result.nextTombstoneExpiryMs);
  }
  stateOf.set(log, { cleanedThroughOffset: through, nextTombstoneExpiryMs: nextExpiry });
  logger.info({ topic: log.topic, partition: log.partition, ...stats }, 'compacted log segments');
  return stats;
}

interface GroupResult {
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  nextTombstoneExpiryMs: number;
}

async function cleanGroup(log: PartitionLog, group: Segment[], latest: Map<string, number>, nowMs: number, logger: Logger): Promise<GroupResult> {
  const cfg = log.config;
  const base = group[0]!.baseOffset;
  const cleaned = await Segment.create(log.dir, base, CLEANED_SUFFIX);
  const result: GroupResult = { bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, tombstonesRemoved: 0, nextTombstoneExpiryMs: Number.POSITIVE_INFINITY };
  let out: Buffer[] = [];
  let outBytes = 0;
  let outBatches: Array<{ sizeBytes: number; baseOffset: number; lastOffset: number; maxTimestamp: number }> = [];
  const writeOut = async (): Promise<void> => {
    if (outBytes === 0) return;
    await cleaned.writeSingleWriter(out, outBytes);
    let position = cleaned.sizeBytes;
    for (const b of outBatches) {
      cleaned.observeBatchSingleWriter({ position, ...b }, cfg.indexIntervalBytes, nowMs);
      position += b.sizeBytes;
    }
    cleaned.commitWriteSingleWriter(outBytes);
    out = [];
    outBytes = 0;
    outBatches = [];
  };
  const emit = (bytes: Buffer, header: BatchHeader): void => {
    out.push(bytes);
    outBytes += bytes.length;
    outBatches.push({ sizeBytes: bytes.length, baseOffset: header.baseOffset, lastOffset: header.baseOffset + header.lastOffsetDelta, maxTimestamp: header.maxTimestamp });
  };

  try {
    for (let g = 0; g < group.length; g++) {
      const seg = group[g]!;
      const isLastSegment = g === group.length - 1;
      const tombstonesExpired = nowMs - seg.largestTimestampMs > cfg.deleteRetentionMs;
      result.bytesBefore += seg.sizeBytes;
      seg.retain();
      try {
        await forEachBatch(seg, async (buf, pos, header, isLastBatch) => {
          const batchEnd = pos + batchSize(buf, pos);
          const keepLastEmpty = isLastSegment && isLastBatch;
          const filtered = filterBatch(buf, pos, header, latest, tombstonesExpired);
          if (filtered === null) {
            emit(buf.subarray(pos, batchEnd), header);
          } else {
            result.recordsRemoved += filtered.removed;
            result.tombstonesRemoved += filtered.tombstonesRemoved;
            if (filtered.keptTombstones) result.nextTombstoneExpiryMs = Math.min(result.nextTombstoneExpiryMs, seg.largestTimestampMs + cfg.deleteRetentionMs + 1);
            if (filtered.bytes !== null) emit(filtered.bytes, header);
            else if (keepLastEmpty) emit(emptyBatch(buf, pos, header), header);
          }
          if (outBytes >= CLEANER_WRITE_CHUNK_BYTES) await writeOut();
        });
      } finally {
        seg.release();
      }
    }
    await writeOut();
    cleaned.onBecomeInactive();
    await cleaned.persistIndexes(true);
    await cleaned.datasync();
    // Commit point: .cleaned → .swap (indexes first, the log last).
    await cleaned.renameFiles(CLEANED_SUFFIX, SWAP_SUFFIX);
    await fsyncDir(log.dir);
  } catch (err) {
    await cleaned.close();
    await cleaned.offsetIndex.deleteFile();
    await cleaned.timeIndex.deleteFile();
    await unlinkIfExists(cleaned.logPath);
    throw err;
  }
  result.bytesAfter = cleaned.sizeBytes;
  await log.replaceSegments(group, cleaned);
  await cleaned.renameFiles(SWAP_SUFFIX, '');
  await fsyncDir(log.dir);
  logger.debug({ topic: log.topic, partition: log.partition, segment: base, segments: group.length, bytesBefore: result.bytesBefore, bytesAfter: result.bytesAfter }, 'swapped in a cleaned segment');
  return result;
}

interface Filtered {
  /** The rewritten batch, or null when no record is left. */
  bytes: Buffer | null;
  removed: number;
  tombstonesRemoved: number;
  keptTombstones: boolean;
}

/** Null: a batch compaction leaves alone (control batch, unreadable codec or records). */
function filterBatch(buf: Buffer, pos: number, header: BatchHeader, latest: Map<string, number>, tombstonesExpired: boolean): Filtered | null {
  if ((header.attributes & CONTROL_MASK) !== 0) return null;
  let recs;
  let records: RawRecord[];
  try {
    recs = recordsSection(buf, pos, header);
    records = walkRecords(recs.data, recs.start, recs.end, header.recordCount);
  } catch {
    return null;
  }
  const kept: RawRecord[] = [];
  let tombstonesRemoved = 0;
  let keptTombstones = false;
  for (const r of records) {
    if (r.keyBytes < 0) {
      kept.push(r); // no key: nothing to compact it against
      continue;
    }
    const offset = header.baseOffset + r.offsetDelta;
    if (latest.get(keyString(recs.data, r)) !== offset) continue;
    if (r.valueBytes < 0) {
      if (tombstonesExpired) {
        tombstonesRemoved++;
        continue;
      }
      keptTombstones = true;
    }
    kept.push(r);
  }
  if (kept.length === records.length) {
    return { bytes: buf.subarray(pos, pos + batchSize(buf, pos)), removed: 0, tombstonesRemoved: 0, keptTombstones };
  }
  const removed = records.length - kept.length;
  if (kept.length === 0) return { bytes: null, removed, tombstonesRemoved, keptTombstones };
  let body: Buffer = Buffer.concat(kept.map((r) => recs.data.subarray(r.start, r.end)));
  if (recs.compression !== 'none') body = compressRecords(recs.compression, body);
  return { bytes: rebuildBatch(buf, pos, body, kept.length), removed, tombstonesRemoved, keptTombstones };
}

const NO_RECORDS = Buffer.alloc(0);

/** The batch's header alone: no records, uncompressed, same offsets and timestamps. */
function emptyBatch(buf: Buffer, pos: number, header: BatchHeader): Buffer {
  return rebuildBatch(buf, pos, NO_RECORDS, 0, header.attributes & ~COMPRESSION_MASK);
}
