/**
 * The time index of one segment: for a timestamp, an offset from where scanning the log finds
 * the first record at or after it. Written beside each offset-index entry when the largest
 * timestamp seen so far grew, and once more when the segment stops being active (so its last
 * entry holds the segment's largest timestamp).
 *
 *   entry (TIME_INDEX_ENTRY_BYTES = 12), big-endian:
 *     timestamp      : i64   the largest record timestamp in the segment up to that batch (ms)
 *     relativeOffset : u32   baseOffset of the batch holding that timestamp - segment baseOffset
 *
 * Timestamps strictly increase, relative offsets never decrease. Entry (T, O) promises: every
 * record before the batch at O has a timestamp <= T. So `lookupBefore(t)`, the last entry with
 * T < t, is a safe place to start scanning for the first record with timestamp >= t.
 */
import assert from 'node:assert';
import { IndexBase } from './index-base.js';
import { MAX_RELATIVE_OFFSET } from './offset-index.js';

export const TIME_INDEX_ENTRY_BYTES = 12;
const TIMESTAMP_POS = 0;
const RELATIVE_OFFSET_POS = 8;

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

export class TimeIndex extends IndexBase {
  constructor(path: string, baseOffset: number) {
    super(path, baseOffset, TIME_INDEX_ENTRY_BYTES);
  }

  timestampAt(i: number): number {
    return Number(this.data.readBigInt64BE(i * TIME_INDEX_ENTRY_BYTES + TIMESTAMP_POS));
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.data.readUInt32BE(i * TIME_INDEX_ENTRY_BYTES + RELATIVE_OFFSET_POS);
  }

  /** The last entry, or undefined when empty. */
  lastEntry(): TimestampOffset | undefined {
    if (this.entryCount === 0) return undefined;
    return { timestamp: this.timestampAt(this.entryCount - 1), offset: this.offsetAt(this.entryCount - 1) };
  }

  /** Adds (timestamp, offset) when timestamp is larger than the last entry's; returns whether it did. */
  maybeAppend(timestamp: number, offset: number): boolean {
    const last = this.lastEntry();
    if (last !== undefined && timestamp <= last.timestamp) return false;
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= MAX_RELATIVE_OFFSET, `offset ${offset} outside segment ${this.baseOffset}`);
    assert(Number.isSafeInteger(timestamp), `timestamp ${timestamp} is not a safe integer`);
    if (last !== undefined) assert(offset >= last.offset, `time index offsets must not decrease: ${offset} after ${last.offset}`);
    const at = this.allocateEntry();
    this.data.writeBigInt64BE(BigInt(timestamp), at + TIMESTAMP_POS);
    this.data.writeUInt32BE(relative, at + RELATIVE_OFFSET_POS);
    return true;
  }

  /** The offset of the last entry with timestamp < target, or the segment's base offset. */
  lookupBefore(targetTimestamp: number): number {
    const i = this.largestAtMost((j) => this.timestampAt(j), targetTimestamp, true);
    return i < 0 ? this.baseOffset : this.offsetAt(i);
  }

  /** Why the entries cannot describe a segment holding offsets below `nextOffset`, or null. */
  sanityCheck(nextOffset: number): string | null {
    let prevTimestamp = -Infinity;
    let prevOffset = this.baseOffset;
    for (let i = 0; i < this.entryCount; i++) {
      const timestamp = this.timestampAt(i);
      const offset = this.offsetAt(i);
      if (timestamp <= prevTimestamp) return `entry ${i}: timestamp ${timestamp} is not after ${prevTimestamp}`;
      if (offset < prevOffset) return `entry ${i}: offset ${offset} is before ${prevOffset}`;
      if (offset >= nextOffset) return `entry ${i}: offset ${offset} is past the log end ${nextOffset}`;
      prevTimestamp = timestamp;
      prevOffset = offset;
    }
    return null;
  }

  truncateToOffset(offset: number): void {
    let keep = this.entryCount;
    while (keep > 0 && this.offsetAt(keep - 1) >= offset) keep--;
    this.truncateToEntries(keep);
  }
}
