/**
 * The segments of one partition, sorted by base offset (strictly increasing). The last one is
 * the active segment, the only one appended to. Lookups are binary searches; changes happen
 * synchronously (in one tick), so a reader that looked a segment up and retained it in the same
 * tick always holds a consistent view.
 */
import assert from 'node:assert';
import type { Segment } from './segment.js';

export class SegmentList {
  private segments: Segment[] = [];

  get size(): number {
    return this.segments.length;
  }

  /** A snapshot copy, oldest first. */
  toArray(): Segment[] {
    return this.segments.slice();
  }

  first(): Segment | undefined {
    return this.segments[0];
  }

  /** The active segment. */
  last(): Segment | undefined {
    return this.segments[this.segments.length - 1];
  }

  /** Index of the last segment whose base offset is <= offset, or -1. */
  floorIndex(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** The segment that would hold offset (last with base <= offset). */
  floor(offset: number): Segment | undefined {
    const i = this.floorIndex(offset);
    return i < 0 ? undefined : this.segments[i];
  }

  /** The first segment whose base offset is > offset. */
  higher(offset: number): Segment | undefined {
    const i = this.floorIndex(offset);
    return this.segments[i + 1];
  }

  indexOf(segment: Segment): number {
    const i = this.floorIndex(segment.baseOffset);
    return i >= 0 && this.segments[i] === segment ? i : -1;
  }

  /** Adds a segment after the last one. */
  append(segment: Segment): void {
    const last = this.last();
    assert(last === undefined || segment.baseOffset > last.baseOffset, `segment ${segment.baseOffset} is not after ${last?.baseOffset}`);
    this.segments.push(segment);
  }

  /** Removes the oldest n segments and returns them. */
  removeOldest(n: number): Segment[] {
    assert(n >= 0 && n < this.segments.length, `cannot remove ${n} of ${this.segments.length} segments (the active one stays)`);
    return this.segments.splice(0, n);
  }

  /** Removes the segments from index `from` to the end (a follower's truncation) and returns them. */
  removeFrom(from: number): Segment[] {
    assert(from >= 0 && from <= this.segments.length, `cannot remove from ${from} of ${this.segments.length} segments`);
    return this.segments.splice(from);
  }

  /**
   * Replaces the consecutive segments `old` (in order, currently in the list) by `replacement`,
   * which takes the first one's base offset (compaction).
   */
  replace(old: Segment[], replacement: Segment): void {
    assert(old.length > 0, 'nothing to replace');
    const start = this.indexOf(old[0]!);
    assert(start >= 0, `segment ${old[0]!.baseOffset} is not in the list`);
    for (let k = 0; k < old.length; k++) assert(this.segments[start + k] === old[k], 'replaced segments must be consecutive');
    assert(replacement.baseOffset === old[0]!.baseOffset, 'a replacement keeps the first base offset');
    assert(start + old.length < this.segments.length, 'the active segment is never replaced');
    this.segments.splice(start, old.length, replacement);
  }

  totalBytes(): number {
    let sum = 0;
    for (const s of this.segments) sum += s.sizeBytes;
    return sum;
  }

  [Symbol.iterator](): IterableIterator<Segment> {
    return this.segments[Symbol.iterator]();
  }
}
