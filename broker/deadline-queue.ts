/**
 * Things that wait with a deadline (parked fetches, acks=all produces), kept in a binary
 * min-heap on `deadline` (performance.now() milliseconds) under ONE timer armed for the earliest.
 *
 * Why not a setTimeout per waiter: a purgatory parks hundreds of requests a second, and a timer
 * per park is a Timeout object plus a linked-list insert and delete in Node's timer lists, all
 * garbage; the lists themselves are long-lived, so their churn ends up in V8's old space
 * (docs/BENCHMARKS.md, issue 8 session 15: the fetch purgatory's Mark-Compacts). Here a park
 * is an array push and a sift; the items carry their own heap index, so removing one (answered
 * before its deadline) is O(log n) with no search.
 *
 * When the timer fires, every item whose deadline has passed is handed to `onDue` while still
 * in the queue: the owner answers it and removes it (the owner's own "release" path is then the
 * one way out, whatever the reason). An item `onDue` leaves in place is removed here.
 *
 * The timer is unref'd: whoever waits holds an open connection, which keeps the process alive.
 */
import { performance } from 'node:perf_hooks';

export interface DeadlineItem {
  /** performance.now() at which the item is due. */
  readonly deadline: number;
  /** Place in the queue's heap; -1 when not queued. Maintained by the queue. */
  heapIndex: number;
}

export class DeadlineQueue<T extends DeadlineItem> {
  /** Every queued item, a binary min-heap on `deadline`. */
  private readonly heap: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerDeadline = Number.POSITIVE_INFINITY;
  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerDeadline = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (let first = this.heap[0]; first !== undefined && first.deadline <= now; first = this.heap[0]) {
      this.onDue(first);
      if (this.heap[0] === first) this.remove(first);
    }
    this.arm();
  };

  constructor(private readonly onDue: (item: T) => void) {}

  get size(): number {
    return this.heap.length;
  }

  /** A copy of the queued items, in no particular order (for closing everything). */
  snapshot(): T[] {
    return this.heap.slice();
  }

  push(item: T): void {
    item.heapIndex = this.heap.length;
    this.heap.push(item);
    this.siftUp(item.heapIndex);
    if (item.deadline < this.timerDeadline) this.arm();
  }

  /** Takes an item out; false if it was not queued. */
  remove(item: T): boolean {
    const at = item.heapIndex;
    if (at < 0 || this.heap[at] !== item) return false;
    const last = this.heap.pop()!;
    item.heapIndex = -1;
    if (last !== item) {
      this.heap[at] = last;
      last.heapIndex = at;
      this.siftDown(at);
      this.siftUp(last.heapIndex);
    }
    return true;
  }

  /** Stops the timer; queued items stay (the owner answers them). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = Number.POSITIVE_INFINITY;
  }

  /** Arms the one timer for the earliest deadline. */
  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) {
      // Left to fire: clearing and re-creating it on every empty/non-empty swing would cost
      // more than one idle wake-up per wait.
      return;
    }
    if (this.timer !== null) {
      if (this.timerDeadline <= first.deadline) return;
      clearTimeout(this.timer);
    }
    this.timerDeadline = first.deadline;
    // Node timers may fire up to ~1 ms before performance.now() reaches the deadline (they count
    // from the loop's cached time): onTimer hands out only what is due and re-arms for the rest.
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(first.deadline - performance.now())));
    this.timer.unref();
  }

  private siftUp(at: number): void {
    const h = this.heap;
    const e = h[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = h[parent]!;
      if (p.deadline <= e.deadline) break;
      h[at] = p;
      p.heapIndex = at;
      at = parent;
    }
    h[at] = e;
    e.heapIndex = at;
  }

  private siftDown(at: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[at]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && h[child + 1]!.deadline < h[child]!.deadline) child++;
      const c = h[child]!;
      if (c.deadline >= e.deadline) break;
      h[at] = c;
      c.heapIndex = at;
      at = child;
    }
    h[at] = e;
    e.heapIndex = at;
  }
}
