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
 * entry is evicted (the spare, below, while it is kept). A copy per entry from Node's shared
 * allocation pool would have pinned up to a whole 8 KiB pool per few-hundred-byte entry, beyond
 * any count kept here.
 *
 * Exactness: the owner empties the cache whenever the file's tail changes other than by an
 * append (truncation, compaction's segment swap, a failed log, close); retention only moves the
 * log start, below which PartitionLog.read never asks, and `trimBelow` drops what it passed.
 *
 * Garbage (docs/BENCHMARKS.md, issue 8 session 15). An entry lives until it is evicted, about a
 * second at 20,000 writes/s, so whatever is made per write outlives two scavenges and reaches
 * the old generation, which only a Mark-Compact frees:
 *   - entries are not objects but slots of a ring of parallel typed arrays (offsets, byte
 *     ranges) and one array of slab references;
 *   - slabs are recycled: a slab whose entries are all evicted becomes the spare that the next
 *     slab is taken from (the larger one is kept; a write above SLAB_BYTES gets a slab of whole
 *     SLAB_BYTES multiples, so that writes of about its size reuse it). A fresh slab per 8 KiB was ~3.4 MB/s of new ArrayBuffer memory at
 *     20,000 msgs/s, freed only when a Mark-Compact swept the old slab objects, and V8 counts
 *     external memory allocated since the last Mark-Compact against the old generation's limit:
 *     that alone started a Mark-Compact every 2-3 s.
 * Recycling is what makes reads copy: a read returns a copy of the cached bytes (a few hundred
 * bytes for a tailing consumer, a memcpy; the file read it replaces allocated as much), because
 * a response may sit in a socket's write queue long after its slab is written again.
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

/** Memory entries are copied into; freed (or kept as the spare) once no entry lies in it and it is not the current one. */
interface Slab {
  readonly buf: Buffer;
  used: number;
  /** Entries in this slab not yet evicted. */
  live: number;
}

const EMPTY = Buffer.alloc(0);
/** Ring slots allocated at the first write; the ring doubles when full. */
const INITIAL_SLOTS = 16;

export class TailCache {
  // The entries, oldest at `head`, `count` of them, in a ring of `mask + 1` slots. Slot i holds
  // one write: the base offset of the segment it went to (a read stops at a segment's end, as a
  // file read does), the base offset of its first batch, the last offset of its last batch + 1,
  // and its bytes: slabOf[i].buf from startAt[i] to endAt[i].
  private segmentBase = new Float64Array(0);
  private baseOffsetOf = new Float64Array(0);
  private nextOffsetOf = new Float64Array(0);
  private startAt = new Int32Array(0);
  private endAt = new Int32Array(0);
  private slabOf: Array<Slab | undefined> = [];
  private mask = -1;
  private head = 0;
  private count = 0;
  /** Bytes of the slabs held (what the bounds count). */
  private bytes = 0;
  /** The slab the next small write is copied into. */
  private current: Slab | null = null;
  /** An emptied slab, counted in `bytes`, taken before allocating a new one when it is large enough. */
  private spare: Slab | null = null;
  private allocatedSlabs = 0;

  constructor(
    private readonly budget: TailCacheBudget = processTailCacheBudget,
    private readonly partitionMaxBytes: number = PARTITION_MAX_BYTES,
    private readonly slabBytes: number = SLAB_BYTES,
  ) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  get entryCount(): number {
    return this.count;
  }

  /** Slabs allocated so far (a full cache under steady writes reuses its own instead). */
  get slabAllocations(): number {
    return this.allocatedSlabs;
  }

  /** First offset the cache can answer from, or -1 when empty. */
  get firstOffset(): number {
    return this.count > 0 ? this.baseOffsetOf[this.head]! : -1;
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
    let slab = this.current;
    if (slab === null || slab.buf.length - slab.used < totalBytes) {
      slab = this.newSlab(totalBytes);
      if (slab === null) {
        this.clear();
        return;
      }
    }
    // One copy per write (a few hundred bytes at a time for a latency-bound producer): the
    // chunks are views of request frames whose memory is not ours to keep.
    const start = slab.used;
    let at = start;
    for (let i = 0; i < chunks.length; i++) at += chunks[i]!.copy(slab.buf, at);
    slab.used = at;
    slab.live++;
    if (this.count > this.mask) this.grow();
    const slot = (this.head + this.count) & this.mask;
    this.count++;
    this.segmentBase[slot] = segmentBaseOffset;
    this.baseOffsetOf[slot] = baseOffset;
    this.nextOffsetOf[slot] = nextOffset;
    this.startAt[slot] = start;
    this.endAt[slot] = at;
    this.slabOf[slot] = slab;
  }

  /**
   * Whole batches starting with the one holding `fromOffset` (or the next one), at most
   * `maxBytes` (at least one batch with minOneBatch, else an empty buffer when the first does
   * not fit), none but the first starting at or after `limitOffset`, all in one segment: the answer
   * SegmentReader.readFromSegment would give, copied out of the cache. Null when the cache does
   * not hold fromOffset.
   */
  read(fromOffset: number, maxBytes: number, minOneBatch: boolean, limitOffset: number): Buffer | null {
    const n = this.count;
    const mask = this.mask;
    const head = this.head;
    if (n === 0 || fromOffset < this.baseOffsetOf[head]! || fromOffset >= this.nextOffsetOf[(head + n - 1) & mask]!) return null;
    // A tailing reader asks near the end: search from the newest entry back.
    let e = n - 1;
    while (e > 0 && this.nextOffsetOf[(head + e - 1) & mask]! > fromOffset) e--;
    let slot = (head + e) & mask;
    let buf = this.slabOf[slot]!.buf;
    let pos = this.startAt[slot]!;
    let end = this.endAt[slot]!;
    while (readLastOffset(buf, pos) < fromOffset) pos += batchSize(buf, pos);
    // Where the answer lies: the first slab's range is found first, the copy made once the
    // total is known; a read that crosses slabs (rare: a consumer behind by more than a slab)
    // collects its other ranges in `parts`.
    let parts: Buffer[] | null = null;
    let runBuf: Buffer | null = null;
    let runStart = 0;
    let runEnd = 0;
    let total = 0;
    for (;;) {
      const start = pos;
      while (pos < end) {
        const size = batchSize(buf, pos);
        if (total > 0 && readBaseOffset(buf, pos) >= limitOffset) break;
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
        if (runBuf === buf && runEnd === start) runEnd = pos;
        else {
          if (runBuf !== null) (parts ??= []).push(runBuf.subarray(runStart, runEnd));
          runBuf = buf;
          runStart = start;
          runEnd = pos;
        }
      }
      // Stopped inside this entry (a limit), or the last entry is done, or the next one is in
      // another segment (one read covers one segment, as SegmentReader's does).
      if (pos < end || total >= maxBytes || ++e === n) break;
      const nextSlot = (head + e) & mask;
      if (this.segmentBase[nextSlot] !== this.segmentBase[slot]) break;
      slot = nextSlot;
      buf = this.slabOf[slot]!.buf;
      pos = this.startAt[slot]!;
      end = this.endAt[slot]!;
    }
    if (runBuf === null) return EMPTY;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    if (parts !== null) for (const part of parts) at += part.copy(out, at);
    runBuf.copy(out, at, runStart, runEnd);
    return out;
  }

  /** Drops entries wholly below `offset` (the log start moved past them). */
  trimBelow(offset: number): void {
    while (this.count > 0 && this.nextOffsetOf[this.head]! <= offset) this.evictOldest();
  }

  /** Forgets everything (the file's tail changed other than by an append, or the log closed). */
  clear(): void {
    this.budget.usedBytes -= this.bytes;
    this.bytes = 0;
    // The ring keeps its size (a throughput producer's large writes clear it on every write);
    // only the slab references go, so the slabs can be collected.
    for (let i = 0; i < this.count; i++) this.slabOf[(this.head + i) & this.mask] = undefined;
    this.head = 0;
    this.count = 0;
    this.current = null;
    this.spare = null;
  }

  /**
   * A slab for a write of `totalBytes` that does not fit the current one, making room by
   * evicting the oldest entries; null when even an empty partition has no room for it.
   */
  private newSlab(totalBytes: number): Slab | null {
    const old = this.current;
    this.current = null;
    if (old !== null && old.live === 0) this.retire(old);
    // A write above a slab gets a slab of whole SLAB_BYTES multiples, so that later writes of
    // about its size (a lingering producer's batches) can reuse it.
    const size = totalBytes <= this.slabBytes ? this.slabBytes : Math.max(totalBytes, Math.min(Math.ceil(totalBytes / this.slabBytes) * this.slabBytes, this.partitionMaxBytes));
    for (;;) {
      const spare = this.spare;
      if (spare !== null) {
        if (spare.buf.length >= totalBytes) {
          this.spare = null;
          spare.used = 0;
          this.current = spare;
          return spare;
        }
        // Smaller than this write: its memory goes to the new slab instead.
        this.spare = null;
        this.freeSlab(spare);
      }
      if (this.bytes + size <= this.partitionMaxBytes && this.budget.usedBytes + size <= this.budget.maxBytes) break;
      if (this.count === 0) return null;
      // May free the oldest slab, which becomes the spare.
      this.evictOldest();
    }
    const slab: Slab = { buf: Buffer.allocUnsafeSlow(size), used: 0, live: 0 };
    this.allocatedSlabs++;
    this.bytes += size;
    this.budget.usedBytes += size;
    this.current = slab;
    return slab;
  }

  /** An emptied slab: the spare, if there is none or it is larger than the one there (freed then). */
  private retire(slab: Slab): void {
    const spare = this.spare;
    if (spare !== null && spare.buf.length >= slab.buf.length) {
      this.freeSlab(slab);
      return;
    }
    if (spare !== null) this.freeSlab(spare);
    this.spare = slab;
  }

  private freeSlab(slab: Slab): void {
    this.bytes -= slab.buf.length;
    this.budget.usedBytes -= slab.buf.length;
  }

  private evictOldest(): void {
    const slot = this.head;
    const slab = this.slabOf[slot]!;
    this.slabOf[slot] = undefined;
    this.head = (slot + 1) & this.mask;
    if (--this.count === 0) this.head = 0;
    // The current slab stays (counted) for the next write even when emptied.
    if (--slab.live === 0 && slab !== this.current) this.retire(slab);
  }

  /** Doubles the ring (the only allocation of the entries), oldest entry moved to slot 0. */
  private grow(): void {
    const slots = Math.max(INITIAL_SLOTS, (this.mask + 1) * 2);
    const order = (from: Float64Array | Int32Array, to: Float64Array | Int32Array): void => {
      for (let i = 0; i < this.count; i++) to[i] = from[(this.head + i) & this.mask]!;
    };
    const segmentBase = new Float64Array(slots);
    const baseOffsetOf = new Float64Array(slots);
    const nextOffsetOf = new Float64Array(slots);
    const startAt = new Int32Array(slots);
    const endAt = new Int32Array(slots);
    const slabOf = new Array<Slab | undefined>(slots).fill(undefined);
    order(this.segmentBase, segmentBase);
    order(this.baseOffsetOf, baseOffsetOf);
    order(this.nextOffsetOf, nextOffsetOf);
    order(this.startAt, startAt);
    order(this.endAt, endAt);
    for (let i = 0; i < this.count; i++) slabOf[i] = this.slabOf[(this.head + i) & this.mask];
    this.segmentBase = segmentBase;
    this.baseOffsetOf = baseOffsetOf;
    this.nextOffsetOf = nextOffsetOf;
    this.startAt = startAt;
    this.endAt = endAt;
    this.slabOf = slabOf;
    this.mask = slots - 1;
    this.head = 0;
  }
}
