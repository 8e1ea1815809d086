/**
 * The shared base of the offset index and the time index: a file of fixed-size big-endian
 * entries, sorted, kept whole in memory (a Buffer that grows by doubling) and written behind.
 *
 *   file = entry[0] entry[1] ... entry[n-1]        size = n * entryBytes, no header, no padding
 *
 * The file is not preallocated: its size is always an exact multiple of the entry size, which is
 * the first thing `load` checks. Entries are appended in memory by the segment's single writer
 * and reach the file in `persist()` (on flush, on roll, on close); an index is therefore
 * trusted only for the part of the log below the recovery point, and recovery rebuilds it for
 * the rest. Every index is checked on open (size multiple, ordering, bounds: `sanityCheck`) and
 * against the batches actually in the log; one that fails is rebuilt, never trusted.
 *
 * Memory: entryBytes per `index.interval.bytes` of log (8 + 12 bytes per 4 KiB by default,
 * 5 MiB per GiB of log).
 */
import assert from 'node:assert';
import { constants as fsConstants } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { unlinkIfExists } from './checkpoint.js';

const INITIAL_CAPACITY_ENTRIES = 64;

export abstract class IndexBase {
  /** Bytes of one entry on disk and in memory. */
  readonly entryBytes: number;
  readonly baseOffset: number;
  path: string;
  protected data: Buffer;
  protected entryCount = 0;
  /** Leading bytes of `data` known to be in the file already. */
  private persistedBytes = 0;
  /** The file may hold bytes past `sizeBytes` (after a truncation or a rebuild). */
  private fileNeedsTruncate = false;
  private persisting: Promise<void> = Promise.resolve();

  protected constructor(path: string, baseOffset: number, entryBytes: number) {
    this.path = path;
    this.baseOffset = baseOffset;
    this.entryBytes = entryBytes;
    this.data = Buffer.alloc(INITIAL_CAPACITY_ENTRIES * entryBytes);
  }

  get entries(): number {
    return this.entryCount;
  }

  get sizeBytes(): number {
    return this.entryCount * this.entryBytes;
  }

  /** Entries not yet written to the file. */
  get unpersistedEntries(): number {
    return this.entryCount - this.persistedBytes / this.entryBytes;
  }

  /**
   * Reads the whole file into memory. Returns null when the file is usable so far, or the reason
   * it is not (the index is then left empty and must be rebuilt). A missing file is a reason.
   */
  async load(): Promise<string | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.reset();
        return 'missing';
      }
      throw err;
    }
    if (bytes.length % this.entryBytes !== 0) {
      this.reset();
      return `size ${bytes.length} is not a multiple of the ${this.entryBytes}-byte entry`;
    }
    this.data = bytes.length > 0 ? bytes : Buffer.alloc(INITIAL_CAPACITY_ENTRIES * this.entryBytes);
    this.entryCount = bytes.length / this.entryBytes;
    this.persistedBytes = bytes.length;
    this.fileNeedsTruncate = false;
    return null;
  }

  /** Drops every entry (the file is rewritten by the next persist). */
  reset(): void {
    this.entryCount = 0;
    this.persistedBytes = 0;
    this.fileNeedsTruncate = true;
  }

  /**
   * Takes over another index's entries. With `persisted`, they are what the file already holds
   * (the other index was loaded from this index's file); otherwise the file is rewritten.
   */
  replaceEntriesWith(other: IndexBase, persisted: boolean): void {
    assert(other.entryBytes === this.entryBytes && other.baseOffset === this.baseOffset, 'incompatible index');
    this.data = Buffer.from(other.data.subarray(0, other.sizeBytes));
    if (this.data.length === 0) this.data = Buffer.alloc(INITIAL_CAPACITY_ENTRIES * this.entryBytes);
    this.entryCount = other.entryCount;
    this.persistedBytes = persisted ? other.sizeBytes : 0;
    this.fileNeedsTruncate = !persisted;
  }

  /** Keeps the first n entries. */
  truncateToEntries(n: number): void {
    if (n < 0 || n > this.entryCount) throw new RangeError(`cannot truncate ${this.entryCount} entries to ${n}`);
    if (n === this.entryCount) return;
    this.entryCount = n;
    if (this.persistedBytes > n * this.entryBytes) {
      this.persistedBytes = n * this.entryBytes;
      this.fileNeedsTruncate = true;
    }
  }

  /**
   * Writes the entries not yet in the file (and cuts the file to size when it was truncated or
   * rebuilt); with `sync`, fdatasyncs it. Index files have no fd between persists.
   */
  async persist(sync: boolean): Promise<void> {
    // Serialized: two overlapping persists would race on persistedBytes.
    const run = this.persisting.then(() => this.persistNow(sync));
    this.persisting = run.catch(() => undefined);
    return run;
  }

  private async persistNow(sync: boolean): Promise<void> {
    const size = this.sizeBytes;
    if (this.persistedBytes === size && !this.fileNeedsTruncate && !sync) return;
    const fh = await open(this.path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
    try {
      if (this.fileNeedsTruncate) {
        await fh.truncate(this.persistedBytes);
        this.fileNeedsTruncate = false;
      }
      let pos = this.persistedBytes;
      while (pos < size) {
        const { bytesWritten } = await fh.write(this.data, pos, size - pos, pos);
        pos += bytesWritten;
      }
      this.persistedBytes = size;
      if (sync) await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  async renameFile(path: string): Promise<void> {
    try {
      await rename(this.path, path);
    } catch (err) {
      // An index that was never persisted has no file; the next persist creates it under the new name.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.persistedBytes = 0;
      this.fileNeedsTruncate = true;
    }
    this.path = path;
  }

  async deleteFile(): Promise<void> {
    await unlinkIfExists(this.path);
  }

  /** Why the loaded entries cannot be trusted, or null; subclasses add their ordering rules. */
  abstract sanityCheck(...args: number[]): string | null;

  /** Removes every entry whose offset is >= offset (used when the log is truncated). */
  abstract truncateToOffset(offset: number): void;

  /** Room for one more entry; returns the byte position to write it at. */
  protected allocateEntry(): number {
    const pos = this.entryCount * this.entryBytes;
    if (pos + this.entryBytes > this.data.length) {
      const grown = Buffer.alloc(Math.max(this.data.length * 2, INITIAL_CAPACITY_ENTRIES * this.entryBytes));
      this.data.copy(grown, 0, 0, pos);
      this.data = grown;
    }
    this.entryCount++;
    return pos;
  }

  /**
   * The largest i with keyAt(i) <= target (keys ascending), or -1. `strict` makes it keyAt(i) < target.
   */
  protected largestAtMost(keyAt: (i: number) => number, target: number, strict: boolean): number {
    let lo = 0;
    let hi = this.entryCount - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keyAt(mid);
      if (strict ? k < target : k <= target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}
