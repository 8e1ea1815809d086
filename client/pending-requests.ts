/**
 * A connection's requests that were sent (or queued to be) and are not settled yet, kept in the
 * order their correlation ids were given out, with one deadline timer for all of them.
 *
 * Why not a Map and a setTimeout per request: on a consumer that fetches once per message
 * (lingerMs 0 producers, 20,000 msgs/s) every request made the Map's hash table again every few
 * requests, and its own Timeout — and Node drops a timer list when its last timer is cleared, so
 * a lone request in flight also made a new list and priority-queue entry each time. The
 * long-lived Map and timer lists kept that garbage reachable across scavenges, where it was
 * copied and promoted (docs/BENCHMARKS.md, issue 8 session 15).
 *
 * - The broker answers a connection's requests in the order they were sent, so the answer to
 *   look up is almost always the oldest entry: `take` scans from the oldest, which is O(1) in
 *   the usual case. Entries settled out of turn (timed out, aborted, acks=0 written) stay as
 *   tombstones until they reach the front, and a late answer that finds its tombstone is
 *   dropped. When tombstones outnumber live entries (a long-lived request at the front holding
 *   many behind it), the list is compacted, so its length stays O(live entries).
 * - One timer, armed for the earliest deadline: it fires, expires every entry whose deadline
 *   has passed (in sending order), and re-arms for the next earliest. A request that ends early
 *   leaves the timer as it is (it fires once for nothing, or for a later entry). The timer is
 *   unref'd: the socket keeps the process alive while requests are out, as before.
 */

/** What the list needs of an entry. */
export interface PendingEntry {
  readonly correlationId: number;
  /** performance.now() after which the request times out. */
  readonly deadlineMs: number;
  /** Answered, timed out, aborted or failed: no longer waiting. */
  settled: boolean;
}

/** Tombstones tolerated beyond the live entries before the list is compacted. */
const COMPACT_SLACK = 32;

export class PendingRequests<E extends PendingEntry> {
  /** Entries in sending order from `head`; those before `head` are gone. */
  private entries: Array<E | null> = [];
  private head = 0;
  private live = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The deadline the timer is armed for (Infinity: not armed). */
  private armedForMs = Number.POSITIVE_INFINITY;

  /** `onExpired` gets each entry whose deadline passed (already settled and out of the list). */
  constructor(private readonly onExpired: (entry: E) => void) {}

  /** Entries not settled yet. */
  get size(): number {
    return this.live;
  }

  /** Adds an entry whose correlation id is above every one added before. */
  add(entry: E): void {
    this.entries.push(entry);
    this.live++;
    if (entry.deadlineMs < this.armedForMs) this.arm(entry.deadlineMs);
  }

  /**
   * The unsettled entry with `correlationId`, settled and removed; undefined when there is none
   * (it timed out or was aborted already, or the id was never given out).
   */
  take(correlationId: number): E | undefined {
    const entries = this.entries;
    for (let i = this.head; i < entries.length; i++) {
      const e = entries[i];
      if (e === null || e === undefined || e.correlationId !== correlationId) continue;
      if (e.settled) return undefined;
      this.settleAt(i, e);
      return e;
    }
    return undefined;
  }

  /** Settles `entry` out of turn (timeout, abort, acks=0 written); false when it was settled already. */
  settle(entry: E): boolean {
    if (entry.settled) return false;
    const i = this.entries.indexOf(entry, this.head);
    if (i < 0) return false;
    this.settleAt(i, entry);
    return true;
  }

  /** Every unsettled entry, in sending order, settled and removed (the socket is gone). */
  drain(): E[] {
    const out: E[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e !== null && e !== undefined && !e.settled) {
        e.settled = true;
        out.push(e);
      }
    }
    this.entries = [];
    this.head = 0;
    this.live = 0;
    return out;
  }

  /** Stops the timer (the connection is closed for good). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedForMs = Number.POSITIVE_INFINITY;
  }

  private settleAt(i: number, entry: E): void {
    entry.settled = true;
    this.live--;
    const entries = this.entries;
    if (i !== this.head) {
      // Out of turn: a tombstone until it reaches the front (a late answer finds it there).
      if (entries.length - this.head - this.live > this.live + COMPACT_SLACK) this.compact();
      return;
    }
    entries[i] = null;
    let head = i + 1;
    while (head < entries.length && entries[head]!.settled) entries[head++] = null;
    if (head === entries.length) {
      entries.length = 0;
      head = 0;
    } else if (head >= 1024 && head * 2 >= entries.length) {
      this.entries = entries.slice(head);
      head = 0;
    }
    this.head = head;
  }

  /** Drops the tombstones behind the front (their late answers will find nothing: dropped all the same). */
  private compact(): void {
    const kept: Array<E | null> = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (!e.settled) kept.push(e);
    }
    this.entries = kept;
    this.head = 0;
  }

  private arm(deadlineMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedForMs = deadlineMs;
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(deadlineMs - performance.now())));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.armedForMs = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let expired: E[] | null = null;
    let next = Number.POSITIVE_INFINITY;
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e === null || e === undefined || e.settled) continue;
      if (e.deadlineMs <= now) (expired ??= []).push(e);
      else if (e.deadlineMs < next) next = e.deadlineMs;
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    if (expired === null) return;
    for (const e of expired) {
      // An earlier one's callback may have settled it (closing the connection, say).
      if (this.settle(e)) this.onExpired(e);
    }
  };
}
