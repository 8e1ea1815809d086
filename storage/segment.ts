/**
 * One log segment: a .log file of record batches plus its offset and time indexes.
 *
 *   <base>.log  = batch batch batch ...   RecordBatch v2 exactly as produced (see
 *                                        protocol/record-batch.ts), baseOffset patched by the
 *                                        broker; no segment header, no padding, no trailer.
 *                                        Batches are back to back and their offsets strictly
 *                                        increase (gaps allowed after compaction). A segment
 *                                        holds offsets [baseOffset, baseOffset + 2^32).
 *   <base>.index, <base>.timeindex       see offset-index.ts and time-index.ts.
 *
 * The .log fd stays open for the segment's life (reads use positioned reads on it). Writes
 * come from the partition's single writer only (methods named *SingleWriter). A write of at
 * most SYNC_WRITE_MAX_BYTES is a synchronous pwritev on the event loop, not fs/promises: it
 * only copies into the page cache (microseconds), where the threadpool hop cost two thread
 * wake-ups and a scheduling chance per produce, the largest part of a latency-bound producer's
 * broker time (docs/OPERATIONS.md "Storage I/O on the event loop", docs/BENCHMARKS.md issue 8).
 * Larger writes, fdatasync and every read stay on the threadpool. A reader
 * `retain()`s the segment for the duration of a read; `markDeleted()` renames the files to
 * `.deleted` at once (so a crash finishes the delete on open) and the fd is closed and the files
 * unlinked only when the last reader has released it, so a read racing retention or
 * compaction still completes with the bytes it asked for.
 */
import assert from 'node:assert';
import { constants as fsConstants, writevSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import {
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  OFFSET_FIELDS_BYTES,
  readBaseOffset,
  readBatchLength,
  readLastOffsetDelta,
} from '../protocol/record-batch.js';
import { rillError } from '../protocol/errors.js';
import { unlinkIfExists } from './checkpoint.js';
import { DELETED_SUFFIX, segmentFilePath } from './log-file-names.js';
import { MAX_RELATIVE_OFFSET, OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';

/** What the segment needs to know of a batch to index it (from the append path or a scan). */
export interface BatchInfo {
  /** Byte position of the batch in the segment's .log. */
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

/**
 * A write up to this size is a synchronous pwritev (see the file comment): bounded so the event
 * loop is never held for more than a small copy into the page cache.
 */
export const SYNC_WRITE_MAX_BYTES = 64 * 1024;

/** Bytes read per chunk when scanning batch headers to find an offset. */
export const HEADER_SCAN_CHUNK_BYTES = 16 * 1024;
/** Bytes of a batch header that locating needs: baseOffset, batchLength, ..., lastOffsetDelta. */
const LOCATE_HEADER_BYTES = OFFSET_FIELDS_BYTES;

export interface LocatedBatch {
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
}

export class Segment {
  readonly baseOffset: number;
  readonly dir: string;
  logPath: string;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** Bytes of complete batches in the .log: what readers may see. */
  sizeBytes: number;
  /** The offset after this segment's last batch (baseOffset when empty). */
  nextOffset: number;
  /** Largest batch maxTimestamp in the segment, -1 when none. */
  maxTimestampSoFar = -1;
  /** baseOffset of the batch holding maxTimestampSoFar. */
  offsetOfMaxTimestampSoFar: number;
  /** Wall clock (or first batch timestamp on reopen) that segment.ms counts from; -1 when empty. */
  rollBaseMs = -1;
  /** Data written since the last fdatasync of the .log. */
  dirty = false;
  /** mtime of the .log at open (retention's fallback for batches without timestamps). */
  lastModifiedMs: number;
  private bytesSinceLastIndexEntry = 0;
  private fh: FileHandle;
  private refs = 0;
  private deleted = false;
  /** The files carry their `.deleted` names: the last release may unlink them. */
  private readyToUnlink = false;
  private unlinking = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private syncing: Promise<void> | null = null;
  private idleWaiters: Array<() => void> = [];

  private constructor(dir: string, baseOffset: number, fh: FileHandle, sizeBytes: number, logPath: string, lastModifiedMs: number) {
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.fh = fh;
    this.sizeBytes = sizeBytes;
    this.logPath = logPath;
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestampSoFar = baseOffset;
    this.lastModifiedMs = lastModifiedMs;
    this.offsetIndex = new OffsetIndex(segmentFilePath(dir, baseOffset, 'index'), baseOffset);
    this.timeIndex = new TimeIndex(segmentFilePath(dir, baseOffset, 'timeindex'), baseOffset);
  }

  /** A new empty segment (fails if its .log exists); its indexes start empty. */
  static async create(dir: string, baseOffset: number, suffix = ''): Promise<Segment> {
    const logPath = segmentFilePath(dir, baseOffset, 'log', suffix);
    const fh = await open(logPath, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
    const seg = new Segment(dir, baseOffset, fh, 0, logPath, Date.now());
    if (suffix !== '') {
      seg.offsetIndex.path = segmentFilePath(dir, baseOffset, 'index', suffix);
      seg.timeIndex.path = segmentFilePath(dir, baseOffset, 'timeindex', suffix);
    }
    seg.offsetIndex.reset();
    seg.timeIndex.reset();
    return seg;
  }

  /** Opens an existing .log (indexes are loaded and checked by recovery). */
  static async open(dir: string, baseOffset: number, suffix = ''): Promise<Segment> {
    const logPath = segmentFilePath(dir, baseOffset, 'log', suffix);
    const fh = await open(logPath, fsConstants.O_RDWR);
    try {
      const st = await fh.stat();
      const seg = new Segment(dir, baseOffset, fh, st.size, logPath, st.mtimeMs);
      if (suffix !== '') {
        seg.offsetIndex.path = segmentFilePath(dir, baseOffset, 'index', suffix);
        seg.timeIndex.path = segmentFilePath(dir, baseOffset, 'timeindex', suffix);
      }
      return seg;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  get isDeleted(): boolean {
    return this.deleted;
  }

  /** Largest timestamp for retention: the records' own, or the file's mtime when they have none. */
  get largestTimestampMs(): number {
    return this.maxTimestampSoFar >= 0 ? this.maxTimestampSoFar : this.lastModifiedMs;
  }

  /** Whether a batch of `batchBytes` ending at `lastOffset` must go to a new segment. */
  shouldRoll(batchBytes: number, lastOffset: number, segmentBytes: number, segmentMs: number, nowMs: number): boolean {
    if (this.sizeBytes === 0) return false;
    if (this.sizeBytes + batchBytes > segmentBytes) return true;
    if (this.sizeBytes + batchBytes > 0xffffffff) return true;
    if (lastOffset - this.baseOffset > MAX_RELATIVE_OFFSET) return true;
    return this.rollBaseMs >= 0 && nowMs - this.rollBaseMs > segmentMs;
  }

  /**
   * Updates the in-memory state for a batch now in the file (written by the single writer or
   * found by a scan; `rollBaseMs` starts segment.ms if this is the first batch), and, with `indexIntervalBytes` >= 0, adds index entries the way the append
   * path does: the first batch after `indexIntervalBytes` bytes since the last entry gets one.
   */
  observeBatchSingleWriter(b: BatchInfo, indexIntervalBytes: number, rollBaseMs: number): void {
    assert(b.baseOffset >= this.nextOffset, `batch ${b.baseOffset} is not after ${this.nextOffset - 1} in segment ${this.baseOffset}`);
    if (this.rollBaseMs < 0) this.rollBaseMs = rollBaseMs;
    if (b.maxTimestamp > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = b.maxTimestamp;
      this.offsetOfMaxTimestampSoFar = b.baseOffset;
    }
    if (indexIntervalBytes >= 0) {
      if (this.bytesSinceLastIndexEntry > indexIntervalBytes) {
        this.offsetIndex.append(b.baseOffset, b.position);
        this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
        this.bytesSinceLastIndexEntry = 0;
      }
      this.bytesSinceLastIndexEntry += b.sizeBytes;
    }
    this.nextOffset = b.lastOffset + 1;
  }

  /** After a scan that kept the loaded indexes: where the next index entry is due. */
  resumeIndexingAfterScan(): void {
    this.bytesSinceLastIndexEntry = this.sizeBytes - this.offsetIndex.lastPosition;
  }

  /**
   * Writes `chunks` (whole batches, back to back, offsets already assigned) at the end of the
   * .log with one writev. Caller: the partition's single writer, which then calls
   * `observeBatchSingleWriter` for each batch and `commitWriteSingleWriter`.
   */
  async writeSingleWriter(chunks: Buffer[], totalBytes: number): Promise<void> {
    assert(!this.closed && !this.deleted, `write to a closed segment ${this.baseOffset}`);
    let position = this.sizeBytes;
    let remaining = totalBytes;
    let list = chunks;
    this.dirty = true;
    const sync = totalBytes <= SYNC_WRITE_MAX_BYTES;
    for (;;) {
      const bytesWritten = sync ? writevSync(this.fh.fd, list, position) : (await this.fh.writev(list, position)).bytesWritten;
      remaining -= bytesWritten;
      position += bytesWritten;
      if (remaining === 0) return;
      if (bytesWritten === 0) throw rillError('KAFKA_STORAGE_ERROR', `writev to ${this.logPath} wrote nothing`);
      list = dropBytes(list, bytesWritten);
    }
  }

  commitWriteSingleWriter(totalBytes: number): void {
    this.sizeBytes += totalBytes;
  }

  /** When the segment stops being active: record the largest timestamp in the time index. */
  onBecomeInactive(): void {
    if (this.maxTimestampSoFar >= 0) this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
  }

  /** fdatasync of the .log (if anything was written since the last one). Returns whether it synced. */
  async datasync(): Promise<boolean> {
    if (this.closed) return false;
    if (!this.dirty) {
      // Someone else's fdatasync may be covering our data right now: it is done only when it is.
      if (this.syncing !== null) await this.syncing;
      return false;
    }
    this.dirty = false;
    const p = this.fh.datasync();
    this.syncing = p;
    try {
      await p;
    } catch (err) {
      this.dirty = true;
      throw err;
    } finally {
      if (this.syncing === p) this.syncing = null;
    }
    return true;
  }

  /** Writes pending index entries; with `sync`, fdatasyncs both index files. */
  async persistIndexes(sync: boolean): Promise<void> {
    await this.offsetIndex.persist(sync);
    await this.timeIndex.persist(sync);
  }

  /** Reads `length` bytes at `position` (fewer only at end of file). */
  async readAt(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? buf : buf.subarray(0, done);
  }

  /**
   * The first batch whose last offset is >= target, scanning headers from the offset index's
   * entry, considering only the first `endBytes` bytes. Null when no such batch.
   */
  async locateBatch(targetOffset: number, endBytes: number): Promise<LocatedBatch | null> {
    let position = this.offsetIndex.lookup(targetOffset).position;
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = 0;
    while (position + BATCH_HEADER_BYTES <= endBytes) {
      if (position < chunkStart || position + LOCATE_HEADER_BYTES > chunkStart + chunk.length) {
        const want = Math.min(HEADER_SCAN_CHUNK_BYTES, endBytes - position);
        chunk = await this.readAt(position, want);
        chunkStart = position;
        if (chunk.length < LOCATE_HEADER_BYTES) break;
      }
      const p = position - chunkStart;
      const batchLength = readBatchLength(chunk, p);
      if (batchLength < MIN_BATCH_LENGTH) {
        throw rillError('KAFKA_STORAGE_ERROR', `${this.logPath}: no valid batch header at position ${position}`);
      }
      const sizeBytes = LOG_OVERHEAD + batchLength;
      if (position + sizeBytes > endBytes) return null;
      const baseOffset = readBaseOffset(chunk, p);
      const lastOffset = baseOffset + readLastOffsetDelta(chunk, p);
      if (lastOffset >= targetOffset) return { position, sizeBytes, baseOffset, lastOffset };
      position += sizeBytes;
    }
    return null;
  }

  retain(): void {
    assert(!this.closed, `segment ${this.baseOffset} is closed`);
    this.refs++;
  }

  release(): void {
    assert(this.refs > 0, 'release without retain');
    this.refs--;
    if (this.refs > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
    // Unlink failures leave `.deleted` files that the next open removes.
    if (this.readyToUnlink) void this.finishDelete().catch(() => undefined);
  }

  /**
   * Renames the files to `.deleted` now; closes and unlinks them once no reader holds the
   * segment. Resolves when the rename is done (the unlink may still be pending on a reader).
   */
  async markDeleted(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    const logDeleted = this.logPath + DELETED_SUFFIX;
    await rename(this.logPath, logDeleted);
    this.logPath = logDeleted;
    await this.offsetIndex.renameFile(this.offsetIndex.path + DELETED_SUFFIX);
    await this.timeIndex.renameFile(this.timeIndex.path + DELETED_SUFFIX);
    this.readyToUnlink = true;
    if (this.refs === 0) await this.finishDelete();
  }

  private async finishDelete(): Promise<void> {
    if (this.unlinking) return;
    this.unlinking = true;
    await this.close();
    await unlinkIfExists(this.logPath);
    await this.offsetIndex.deleteFile();
    await this.timeIndex.deleteFile();
  }

  /** Moves the files to new names (used by the cleaner's .cleaned → .swap → live steps). */
  async renameFiles(suffixFrom: string, suffixTo: string): Promise<void> {
    const to = (p: string): string => {
      assert(p.endsWith(suffixFrom), `${p} does not end with '${suffixFrom}'`);
      return p.slice(0, p.length - suffixFrom.length) + suffixTo;
    };
    await this.offsetIndex.renameFile(to(this.offsetIndex.path));
    await this.timeIndex.renameFile(to(this.timeIndex.path));
    const logTo = to(this.logPath);
    await rename(this.logPath, logTo);
    this.logPath = logTo;
  }

  /**
   * Forgets what the batches told the in-memory state (next offset, largest timestamp, index
   * entries) so a scan can observe them again: after `truncateTo` on a live segment.
   */
  resetForRescanSingleWriter(): void {
    this.nextOffset = this.baseOffset;
    this.maxTimestampSoFar = -1;
    this.offsetOfMaxTimestampSoFar = this.baseOffset;
    this.rollBaseMs = -1;
    this.bytesSinceLastIndexEntry = 0;
    this.offsetIndex.reset();
    this.timeIndex.reset();
  }

  /** Cuts the .log to `sizeBytes` and fsyncs it (recovery, and a follower's truncation). */
  async truncateTo(sizeBytes: number): Promise<void> {
    await this.fh.truncate(sizeBytes);
    await this.fh.datasync();
    this.sizeBytes = sizeBytes;
  }

  /** Closes the fd once no reader holds the segment (idempotent). Index entries are not persisted here: see PartitionLog.close. */
  async close(): Promise<void> {
    while (this.refs > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.closing === null) {
      this.closed = true;
      this.closing = this.fh.close();
    }
    await this.closing;
  }
}

/** The chunks after the first `n` bytes (for a short writev). */
function dropBytes(chunks: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return out;
}
