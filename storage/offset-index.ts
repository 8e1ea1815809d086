/**
 * The sparse offset index of one segment: which byte position of the .log holds the batch
 * that starts at an offset. One entry per `index.interval.bytes` of log (the first batch after
 * the interval is crossed gets one).
 *
 *   entry (OFFSET_INDEX_ENTRY_BYTES = 8), big-endian:
 *     relativeOffset : u32   batch baseOffset - segment baseOffset
 *     position       : u32   byte position of that batch in the segment's .log
 *
 * Entries are strictly increasing in both fields. `lookup(offset)` gives the last entry at or
 * below the offset (or the segment start), from where a scan of batch headers finds the batch.
 */
import assert from 'node:assert';
import { IndexBase } from './index-base.js';

export const OFFSET_INDEX_ENTRY_BYTES = 8;
const RELATIVE_OFFSET_POS = 0;
const POSITION_POS = 4;
/** Relative offsets and positions are u32. */
export const MAX_RELATIVE_OFFSET = 0xffffffff;

export interface OffsetPosition {
  offset: number;
  position: number;
}

export class OffsetIndex extends IndexBase {
  constructor(path: string, baseOffset: number) {
    super(path, baseOffset, OFFSET_INDEX_ENTRY_BYTES);
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.data.readUInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + RELATIVE_OFFSET_POS);
  }

  positionAt(i: number): number {
    return this.data.readUInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + POSITION_POS);
  }

  get lastOffset(): number {
    return this.entryCount === 0 ? this.baseOffset : this.offsetAt(this.entryCount - 1);
  }

  get lastPosition(): number {
    return this.entryCount === 0 ? 0 : this.positionAt(this.entryCount - 1);
  }

  /** Adds an entry; offsets and positions must strictly increase. */
  append(offset: number, position: number): void {
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= MAX_RELATIVE_OFFSET, `offset ${offset} outside segment ${this.baseOffset}`);
    assert(position >= 0 && position <= 0xffffffff, `position ${position} is not a u32`);
    if (this.entryCount > 0) {
      assert(offset > this.lastOffset, `index offsets must increase: ${offset} after ${this.lastOffset}`);
      assert(position > this.lastPosition, `index positions must increase: ${position} after ${this.lastPosition}`);
    }
    const at = this.allocateEntry();
    this.data.writeUInt32BE(relative, at + RELATIVE_OFFSET_POS);
    this.data.writeUInt32BE(position, at + POSITION_POS);
  }

  /** The last entry with offset <= target, or {baseOffset, 0} when there is none. */
  lookup(targetOffset: number): OffsetPosition {
    const i = this.largestAtMost((j) => this.offsetAt(j), targetOffset, false);
    return i < 0 ? { offset: this.baseOffset, position: 0 } : { offset: this.offsetAt(i), position: this.positionAt(i) };
  }

  /** Why the entries cannot describe a .log of `logSizeBytes`, or null. */
  sanityCheck(logSizeBytes: number): string | null {
    let prevOffset = -1;
    let prevPosition = -1;
    for (let i = 0; i < this.entryCount; i++) {
      const offset = this.offsetAt(i);
      const position = this.positionAt(i);
      if (offset <= prevOffset || position <= prevPosition) return `entry ${i} (${offset} @ ${position}) is not after (${prevOffset} @ ${prevPosition})`;
      if (position >= logSizeBytes) return `entry ${i} points at position ${position}, past the log's ${logSizeBytes} bytes`;
      prevOffset = offset;
      prevPosition = position;
    }
    return null;
  }

  truncateToOffset(offset: number): void {
    const keep = this.largestAtMost((j) => this.offsetAt(j), offset, true) + 1;
    this.truncateToEntries(keep);
  }
}
