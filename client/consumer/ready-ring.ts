/**
 * Which partition the app gets next: partitions with decoded chunks (or an error) to deliver,
 * round robin, and the bookkeeping both delivery paths share — the iterator's chunk in hand
 * (`current`), run() workers' chunks in hand (PartitionState's `inHand`), the wait for data, and the end of a
 * message's (or batch's) processing (`finish`), which moves the processed offset that a group
 * commits.
 */
import type { ConsumedMessage } from '../types.js';
import type { Fetcher } from './fetcher.js';
import type { MessageChunk } from './message-chunk.js';
import { wakeIdleWaiters, type PartitionState } from './partition-state.js';

export interface TakenChunk {
  st: PartitionState;
  chunk: MessageChunk;
}

export class ReadyRing {
  /** Partitions with chunks (or an error) to deliver, in turn order. */
  private ring: PartitionState[] = [];
  /** The chunk the iterator is delivering message by message. */
  current: TakenChunk | null = null;
  /** Set by pull(): where the message it returned came from. */
  pulledState: PartitionState | null = null;
  pulledEpoch = 0;
  private dataWaiters: Array<() => void> = [];

  constructor(private readonly fetcher: Fetcher) {}

  enqueue(st: PartitionState): void {
    if (st.inRing || st.removed) return;
    st.inRing = true;
    this.ring.push(st);
  }

  /**
   * Resolves at the next wake() (data, an error, a stop). A caller that also ends on an
   * AbortSignal keeps one listener on it that calls wake() (run(), the iterator), rather than a
   * listener per wait: Node's EventTarget links its listeners in a list whose removed nodes keep
   * their `next` pointer, so a listener added and removed per wait (per Fetch answer at lingerMs
   * 0) chained each one to the next, and one that reached old space held all later ones there
   * until a Mark-Compact (fetcher.ts, FETCH_WITHOUT_SIGNAL).
   */
  waitForData(): Promise<void> {
    return new Promise((resolve) => {
      this.dataWaiters.push(resolve);
    });
  }

  wake(): void {
    if (this.dataWaiters.length === 0) return;
    const waiters = this.dataWaiters;
    this.dataWaiters = [];
    for (const w of waiters) w();
  }

  /** Forgets the iterator's chunk if it belongs to `st` (the partition moved or went away). */
  forget(st: PartitionState): void {
    if (this.current !== null && this.current.st === st) this.current = null;
  }

  /** run() takes over from the iterator: the chunk it was in the middle of goes back to its partition. */
  returnCurrent(): void {
    const cur = this.current;
    this.current = null;
    if (cur === null) return;
    this.fetcher.putBack(cur.st, cur.chunk);
    if (cur.st.chunks.length > 0) this.enqueue(cur.st);
  }

  /** The offset of the next message to deliver from `st`'s chunks in hand or buffered, or undefined. */
  nextOffsetOf(st: PartitionState): number | undefined {
    const cur = this.current;
    if (cur !== null && cur.st === st && cur.chunk.epoch === st.epoch && cur.chunk.next < cur.chunk.count) {
      return cur.chunk.offsetAt(cur.chunk.next);
    }
    const held = st.inHand;
    if (held !== null && held.epoch === st.epoch && held.next < held.count) return held.offsetAt(held.next);
    const head = st.chunks[0];
    if (head !== undefined) return head.offsetAt(head.next);
    return undefined;
  }

  /** The iterator's next message, or null when nothing is buffered. Throws a partition's error. */
  pull(): ConsumedMessage | null {
    for (;;) {
      const cur = this.current;
      if (cur !== null) {
        const { st, chunk } = cur;
        if (st.removed || chunk.epoch !== st.epoch) {
          this.current = null;
          continue;
        }
        if (st.paused || st.revoking) {
          this.fetcher.putBack(st, chunk);
          this.current = null;
          continue;
        }
        if (chunk.next < chunk.count) {
          const m = chunk.take();
          if (chunk.next === chunk.count) this.current = null;
          this.pulledState = st;
          this.pulledEpoch = chunk.epoch;
          return m;
        }
        this.current = null;
      }
      const next = this.nextChunk();
      if (next === null) return null;
      this.current = next;
    }
  }

  /** The next partition's next chunk, round robin. Throws a partition error once, after its buffered data. */
  private nextChunk(): TakenChunk | null {
    while (this.ring.length > 0) {
      const st = this.ring.shift()!;
      st.inRing = false;
      if (st.removed || st.paused || st.revoking) continue;
      const chunk = this.fetcher.takeChunk(st);
      if (chunk === undefined) {
        if (st.error !== null && !st.errorReported) {
          st.errorReported = true;
          throw st.error;
        }
        continue;
      }
      if (st.chunks.length > 0 || (st.error !== null && !st.errorReported)) this.enqueue(st);
      if (chunk.epoch !== st.epoch) continue;
      return { st, chunk };
    }
    return null;
  }

  /** The next chunk of the first ready partition that no run() worker is handling (round robin). */
  takeForWorker(): TakenChunk | null {
    for (let i = 0; i < this.ring.length; i++) {
      const st = this.ring[i]!;
      if (st.inHand !== null) continue;
      this.ring.splice(i, 1);
      i--;
      st.inRing = false;
      if (st.removed || st.paused || st.revoking) continue;
      const chunk = this.fetcher.takeChunk(st);
      if (chunk === undefined) {
        if (st.error !== null && !st.errorReported) {
          st.errorReported = true;
          throw st.error;
        }
        continue;
      }
      if (chunk.epoch !== st.epoch) {
        if (st.chunks.length > 0) this.enqueue(st);
        continue;
      }
      return { st, chunk };
    }
    return null;
  }
}

/** One message (or batch) of processing finished; `nextOffset` < 0 means it failed (position unchanged). */
export function finishProcessing(st: PartitionState, epoch: number, nextOffset: number): void {
  st.processing--;
  if (nextOffset >= 0 && epoch === st.epoch && !st.removed && nextOffset > st.processedOffset) st.processedOffset = nextOffset;
  wakeIdleWaiters(st);
}
