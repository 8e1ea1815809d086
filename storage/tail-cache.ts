/**
 * The hot tail of one partition log, in memory: copies of the batches written last, so a
 * consumer or follower that tails the log is answered without a file read (every fs call is a
 * libuv threadpool hop: two thread wake-ups and a chance to be scheduled late, ~50 µs each on
 * the bench VM, docs/BENCHMARKS.md "Issue 8").
 *
 * What it holds: entries of whole batches, each the bytes of one write (log-writer.ts's
 * writeOut: one writev's run, already patched with offsets, epoch and LogAppendTime, and
 * already in the file), in log order and contiguous in the log: no batch of the file lies
 * between two entries or after the last one. Every write either becomes an entry or empties the
 * cache, so the cache always ends at the log end and a read it answers returns exactly the
 * bytes the file read would (possibly fewer: it never reads past its own first entry).
 *
 * Bounds: a write over APPEND_MAX_BYTES is not copied (that is a producer at throughput, whose
 * bytes are cheaper to read back from the page cache than to copy on every append) and empties
 * the cache; a partition holds at most `partitionMaxBytes`, oldest entries evicted first; all
 * partitions together at most `budget.maxBytes` (a shared TailCacheBudget): a write that does
 * not fit once this partition's own entries are gone is not cached. What is counted is the
 * memory held: entries are copied into slabs of SLAB_BYTES owned by this cache (a write larger
 * than a slab gets one of its own size), and a slab counts from its allocation until its last
 * entry is evicted. A copy per entry from Node's shared allocation pool would have pinned up to
 * a whole 8 KiB pool per few-hundred-byte entry, beyond any count kept here.
 *
 * Exactness: the owner empties the cache whenever the file's tail changes other than by an
 * append (truncation, compaction's segment swap, a failed log, close); retention only moves the
 * log start, below which PartitionLog.read never asks, and `trimBelow` drops what it passed.
 * Entries are copies owned here and never written after creation, so a read may hand out
 * views of them (the response outlives any eviction without harm).
 */
import { batchSize, readBaseOffset, readLastOffset } from '../protocol/record-batch.js';

/** A write larger than this is not copied into the cache (it empties it instead). */
export const APPEND_MAX_BYTES = 64 * 1024;
/** Size of the slabs small writes are copied into. */
export const SLAB_BYTES = 8 * 1024;
/** Default bound of one partition's cached bytes. */
export const PARTITION_MAX_BYTES = 1024 * 1024;
/** Default bound of all partitions' cached bytes in a process. */
export const TOTAL_MAX_BYTES = 64 * 1024 * 1024;

/** Bytes cached by every TailCache sharing this object, and their bound. */
export interface TailCacheBudget {
  maxBytes: number;
  usedBytes: number;
}

/** The budget shared by every partition log that is not given its own. */
export const processTailCacheBudget: TailCacheBudget = { maxBytes: TOTAL_MAX_BYTES, usedBytes: 0 };

/** Memory entries are copied into; freed once no entry lies in it and it is not the current one. */
interface Slab {
  readonly buf: Buffer;
  used: number;
  /** Entries in this slab not yet evicted. */
  live: number;
}

interface Entry {
  /** Base offset of the segment the bytes were written to: a read stops at a segment's end, as a file read does. */
  readonly segmentBaseOffset: number;
  /** Base offset of the entry's first batch. */
  readonly baseOffset: number;
  /** Last offset of its last batch + 1. */
  readonly nextOffset: number;
  /** A view of `slab`. */
  readonly buf: Buffer;
  readonly slab: Slab;
}

const EMPTY = Buffer.alloc(0);

export class TailCache {
  private entries: Array<Entry | undefined> = [];
  private head = 0;
  /** Bytes of the slabs held (what the bounds count). */
  private bytes = 0;
  /** The slab the next small write is copied into. */
  private current: Slab | null = null;

  constructor(
    private readonly budget: TailCacheBudget = processTailCacheBudget,
    private readonly partitionMaxBytes: number = PARTITION_MAX_BYTES,
    private readonly slabBytes: number = SLAB_BYTES,
  ) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  get entryCount(): number {
    return this.entries.length - this.head;
  }

  /** First offset the cache can answer from, or -1 when empty. */
  get firstOffset(): number {
    return this.head < this.entries.length ? this.entries[this.head]!.baseOffset : -1;
  }

  /**
   * Records a write that just reached the file: `chunks` (totalBytes together) are whole
   * batches from `baseOffset` to `nextOffset` - 1, directly after everything cached so far, in
   * the segment starting at `segmentBaseOffset`. Must be called for every write, in log order
   * (else the cache would have a hole).
   */
  onWritten(chunks: readonly Buffer[], totalBytes: number, segmentBaseOffset: number, baseOffset: number, nextOffset: number): void {
    if (totalBytes > APPEND_MAX_BYTES || totalBytes > this.partitionMaxBytes) {
      this.clear();
      return;
    }
    const fits = this.current !== null && this.current.buf.length - this.current.used >= totalBytes;
    const newSlabBytes = fits ? 0 : Math.max(this.slabBytes, totalBytes);
    while (this.head < this.entries.length && (this.bytes + newSlabBytes > this.partitionMaxBytes || this.budget.usedBytes + newSlabBytes > this.budget.maxBytes)) {
      this.evictOldest();
    }
    if (this.bytes + newSlabBytes > this.partitionMaxBytes || this.budget.usedBytes + newSlabBytes > this.budget.maxBytes) {
      this.clear();
      return;
    }
    if (!fits) {
      this.releaseCurrentIfEmpty();
      this.current = { buf: Buffer.allocUnsafeSlow(newSlabBytes), used: 0, live: 0 };
      this.bytes += newSlabBytes;
      this.budget.usedBytes += newSlabBytes;
    }
    // One copy per write (a few hundred bytes at a time for a latency-bound producer): the
    // chunks are views of request frames whose memory is not ours to keep.
    const slab = this.current!;
    const start = slab.used;
    let at = start;
    for (const c of chunks) at += c.copy(slab.buf, at);
    slab.used = at;
    slab.live++;
    this.entries.push({ segmentBaseOffset, baseOffset, nextOffset, buf: slab.buf.subarray(start, at), slab });
  }

  /**
   * Whole batches starting with the one holding `fromOffset` (or the next one), at most
   * `maxBytes` (at least one batch with minOneBatch, else an empty buffer when the first does
   * not fit), none but the first starting at or after `limitOffset`, all in one segment: the answer
   * SegmentReader.readFromSegment would give. Null when the cache does not hold fromOffset.
   */
  read(fromOffset: number, maxBytes: number, minOneBatch: boolean, limitOffset: number): Buffer | null {
    const n = this.entries.length;
    if (this.head === n || fromOffset < this.entries[this.head]!.baseOffset || fromOffset >= this.entries[n - 1]!.nextOffset) return null;
    // A tailing reader asks near the end: search from the newest entry back.
    let e = n - 1;
    while (e > this.head && this.entries[e - 1]!.nextOffset > fromOffset) e--;
    let entry = this.entries[e]!;
    let pos = 0;
    while (readLastOffset(entry.buf, pos) < fromOffset) pos += batchSize(entry.buf, pos);
    let first: Buffer | null = null;
    let parts: Buffer[] | null = null;
    let total = 0;
    for (;;) {
      const start = pos;
      while (pos < entry.buf.length) {
        const size = batchSize(entry.buf, pos);
        if (total > 0 && readBaseOffset(entry.buf, pos) >= limitOffset) break;
        if (total + size > maxBytes) {
          if (total > 0) break;
          if (!minOneBatch) return EMPTY;
          total += size;
          pos += size;
          break;
        }
        total += size;
        pos += size;
      }
      if (pos > start) {
        const part = entry.buf.subarray(start, pos);
        const last: Buffer | null = parts === null ? first : parts[parts.length - 1]!;
        if (last === null) first = part;
        else if (last.buffer === part.buffer && last.byteOffset + last.length === part.byteOffset) {
          // Entries written one after another into one slab are adjacent: one wider view.
          const joined: Buffer = Buffer.from(last.buffer, last.byteOffset, last.length + part.length);
          if (parts === null) first = joined;
          else parts[parts.length - 1] = joined;
        } else (parts ??= [first!]).push(part);
      }
      // Stopped inside this entry (a limit), or the last entry is done, or the next one is in
      // another segment (one read covers one segment, as SegmentReader's does).
      if (pos < entry.buf.length || total >= maxBytes || ++e === n || this.entries[e]!.segmentBaseOffset !== entry.segmentBaseOffset) break;
      entry = this.entries[e]!;
      pos = 0;
    }
    if (parts !== null) return Buffer.concat(parts, total);
    return first ?? EMPTY;
  }

  /** Drops entries wholly below `offset` (the log start moved past them). */
  trimBelow(offset: number): void {
    while (this.head < this.entries.length && this.entries[this.head]!.nextOffset <= offset) this.evictOldest();
  }

  /** Forgets everything (the file's tail changed other than by an append, or the log closed). */
  clear(): void {
    this.budget.usedBytes -= this.bytes;
    this.bytes = 0;
    this.entries = [];
    this.head = 0;
    this.current = null;
  }

  private releaseCurrentIfEmpty(): void {
    const slab = this.current;
    if (slab !== null && slab.live === 0) this.freeSlab(slab);
    this.current = null;
  }

  private freeSlab(slab: Slab): void {
    this.bytes -= slab.buf.length;
    this.budget.usedBytes -= slab.buf.length;
  }

  private evictOldest(): void {
    const entry = this.entries[this.head]!;
    this.entries[this.head++] = undefined;
    // The current slab stays (counted) for the next write even when emptied.
    if (--entry.slab.live === 0 && entry.slab !== this.current) this.freeSlab(entry.slab);
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
