/**
 * At most one 'abort' listener per AbortSignal, for every call that watches it.
 *
 * Why: apps pass one long-lived signal to many calls (`send({ signal })`, `commit({ signal })`,
 * admin calls, consumer waits). Adding a listener per call and removing it when the call
 * settles looks free, but Node's EventTarget keeps a signal's listeners in a linked list whose
 * removed nodes keep their `next` pointer. Once one node has been promoted to old space, it
 * keeps every later node -- and what its closure holds: the pending request, its promise, the
 * response, the socket chunk -- alive into old space too: steady promotion and Mark-Compacts
 * (docs/BENCHMARKS.md, issue 8 session 15, "listener chain"). So calls never add a listener of
 * their own: the signal's first watch adds one (`{ once: true }`), and calls register in a slot
 * array of ours, where unwatching is O(1) and leaves nothing behind that points at the call.
 *
 * - Lists live in a WeakMap keyed by the signal: nothing keeps a signal alive but its own
 *   listener. Node holds a signal from AbortSignal.timeout() or AbortSignal.any() strongly while
 *   it has an 'abort' listener (until the timeout fires; a composite one until it aborts). So
 *   during a signal's first DETACH_WHILE_WATCHES_UNDER watches the listener is removed whenever
 *   the list empties, and the list gives way to its watch count (a number in the WeakMap): a
 *   signal made per call is left with no listener and nothing of ours once its call settles, as
 *   before (an AbortSignal.timeout() signal outlives its call until its timer fires, and with
 *   it whatever it holds). From then on the listener stays for the signal's life (a long-lived signal pays that
 *   many removed nodes once, not one per call). The cost: a timeout signal watched that often
 *   lives until its timeout fires, and a composite one that never aborts lives as long as its
 *   sources.
 * - A watcher is any object with `onAbort()` (a pending request implements it itself, so the
 *   hot path allocates no closure). `watchAbort` returns a slot number; `unwatchAbort` with the
 *   same slot and watcher frees it (a stale or repeated unwatch finds another occupant, or none,
 *   and does nothing). Freed slots are reused (a free stack); when the last live watcher goes,
 *   the list starts again from slot 0 without touching its arrays, so a loop of sequential
 *   calls reuses one slot and allocates nothing per call.
 * - On abort every watcher still registered runs once (order not promised). A watcher
 *   registered after the signal aborted runs on a microtask, unless unwatched first -- unlike a
 *   listener added to an aborted EventTarget, which never runs (callers check `aborted` first
 *   anyway; this keeps a late watch from hanging).
 */

export interface AbortWatcher {
  /** The signal aborted; runs once, at most, per watch. */
  onAbort(): void;
}

/** Past this many slots, a list that empties drops its arrays rather than keep a burst's peak. */
const KEEP_SLOTS_MAX = 1024;

/**
 * A signal's first watches remove the listener when the list empties; from this many on, it
 * stays. A signal made per call (AbortSignal.timeout(), AbortSignal.any()) sees a few watches
 * and is then held by nobody -- but Node holds a timeout or composite signal strongly while it
 * has an 'abort' listener, a composite one until it aborts, so a listener left on it would keep
 * it (and its list) for the timeout, or for good. A long-lived signal pays at most this many
 * removed listener nodes, once: a bounded chain, not one per call.
 */
const DETACH_WHILE_WATCHES_UNDER = 8;

export class AbortWatchList {
  /** Slots [0, used) are live watchers or null (freed); beyond `used` all null. */
  private slots: Array<AbortWatcher | null> | null = null;
  private used = 0;
  /** Freed slot numbers below `used`, a stack of `freeTop` entries (made when first needed). */
  private free: number[] | null = null;
  private freeTop = 0;
  private live = 0;
  /** The signal aborted and the list ran (or runs) its watchers. */
  private fired = false;
  private flushQueued = false;
  /**
   * The one listener, added while `attached` (the same function every time). A function, not
   * the list as a handleEvent object: Node wraps such an object in an async closure per add.
   */
  private readonly listener = (): void => this.abort();
  private attached = false;

  constructor(
    private readonly signal: AbortSignal,
    /** Watches so far, counted up to DETACH_WHILE_WATCHES_UNDER. */
    private watches: number,
  ) {}

  /** Watchers registered and not yet unwatched or run. */
  get size(): number {
    return this.live;
  }

  add(watcher: AbortWatcher): number {
    let slot: number;
    if (this.freeTop > 0) slot = this.free![--this.freeTop]!;
    else slot = this.used++;
    // Made with the first watch, one element long: most signals made per call see one or two.
    if (this.slots === null) this.slots = [watcher];
    else if (slot === this.slots.length) this.slots.push(watcher);
    else this.slots[slot] = watcher;
    this.live++;
    if (this.watches < DETACH_WHILE_WATCHES_UNDER) this.watches++;
    if (!this.attached && !this.fired) {
      if (this.signal.aborted) this.fired = true;
      else {
        this.signal.addEventListener('abort', this.listener, ONCE);
        this.attached = true;
      }
    }
    if (this.fired && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.runAll();
      });
    }
    return slot;
  }

  remove(slot: number, watcher: AbortWatcher): void {
    if (slot < 0 || slot >= this.used || this.slots![slot] !== watcher) return;
    this.slots![slot] = null;
    this.freeSlot(slot);
  }

  /** The listener: the signal aborted. */
  private abort(): void {
    this.attached = false;
    this.fired = true;
    this.runAll();
  }

  private freeSlot(slot: number): void {
    if (--this.live === 0) {
      // Every slot below `used` is null now: start again from slot 0.
      this.used = 0;
      this.freeTop = 0;
      if (this.slots!.length > KEEP_SLOTS_MAX) {
        this.slots = null;
        this.free = null;
      }
      if (this.attached && this.watches < DETACH_WHILE_WATCHES_UNDER) {
        this.signal.removeEventListener('abort', this.listener);
        this.attached = false;
        // Only the count stays (a number, no object): a per-call signal that outlives its call
        // (an AbortSignal.timeout() until its timer fires) keeps nothing of ours in old space.
        lists.set(this.signal, this.watches);
      }
      return;
    }
    if (this.free === null) this.free = [slot];
    else if (this.freeTop === this.free.length) this.free.push(slot);
    else this.free[this.freeTop] = slot;
    this.freeTop++;
  }

  /** Runs every registered watcher once; a throw in one does not stop the others. */
  private runAll(): void {
    let firstError: unknown = null;
    // A watcher may unwatch others (their slots are nulled here first, so that is a no-op) or
    // watch again (a slot past `end`, or a freed one: runs on the queued microtask).
    // (A list that empties drops a big array: the loop keeps to the one it started with.)
    const slots = this.slots;
    if (slots === null) return;
    const end = this.used;
    for (let i = 0; i < end && this.live > 0; i++) {
      const w = slots[i];
      if (w === null || w === undefined) continue;
      slots[i] = null;
      this.freeSlot(i);
      try {
        w.onAbort();
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== null) queueMicrotask(() => {
      throw firstError;
    });
  }
}

const ONCE = Object.freeze({ once: true });

/** Per signal, its list; or, after the list emptied and let go of the listener, its watch count. */
const lists = new WeakMap<AbortSignal, AbortWatchList | number>();

/** The signal's list, made on first use (it adds the listener with its first watch). */
export function abortWatchList(signal: AbortSignal): AbortWatchList {
  const known = lists.get(signal);
  if (typeof known === 'object') return known;
  const list = new AbortWatchList(signal, known ?? 0);
  lists.set(signal, list);
  return list;
}

/** Registers `watcher` to run once when `signal` aborts; returns its slot for unwatchAbort. */
export function watchAbort(signal: AbortSignal, watcher: AbortWatcher): number {
  return abortWatchList(signal).add(watcher);
}

/** Unregisters a watch in O(1) (the listener stays, unless a young list empties); repeated or stale calls do nothing. */
export function unwatchAbort(signal: AbortSignal, slot: number, watcher: AbortWatcher): void {
  const list = lists.get(signal);
  if (typeof list === 'object') list.remove(slot, watcher);
}

/** A watcher that watches one signal at a time and keeps its own list and slot (no handle object). */
export interface SignalWatcher extends AbortWatcher {
  abortList: AbortWatchList | null;
  abortSlot: number;
}

/** `watcher` watches `signal` (one listener per signal, however many watch it). */
export function startWatching(watcher: SignalWatcher, signal: AbortSignal): void {
  const list = abortWatchList(signal);
  watcher.abortList = list;
  watcher.abortSlot = list.add(watcher);
}

/** `watcher` stops watching (O(1); a no-op when it does not watch, or its watch already ran). */
export function stopWatching(watcher: SignalWatcher): void {
  const list = watcher.abortList;
  if (list === null) return;
  watcher.abortList = null;
  list.remove(watcher.abortSlot, watcher);
}

/**
 * Runs `callback` once when `signal` aborts, unless stopWatching(the handle) comes first: for
 * a watch per loop or run, where one closure is no cost (per-call hot paths implement
 * SignalWatcher on an object they already have).
 */
export function onAbortOf(signal: AbortSignal, callback: () => void): SignalWatcher {
  const watch = new CallbackWatch(callback);
  startWatching(watch, signal);
  return watch;
}

class CallbackWatch implements SignalWatcher {
  abortList: AbortWatchList | null = null;
  abortSlot = -1;

  constructor(private readonly callback: () => void) {}

  onAbort(): void {
    this.abortList = null;
    this.callback();
  }
}

/**
 * `promise`, or `abortErrorOf(signal)` as soon as `signal` aborts (the promise itself runs
 * on); one watch on the signal, gone when either settles.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, abortErrorOf: (signal: AbortSignal) => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(abortErrorOf(signal));
  return new AbortRace<T>(signal, abortErrorOf).race(promise);
}

/** One race of a promise against a signal; subclasses add what an abort must undo (onAbort). */
export class AbortRace<T> implements SignalWatcher {
  abortList: AbortWatchList | null = null;
  abortSlot = -1;
  private reject: (err: Error) => void = noop;

  constructor(
    readonly signal: AbortSignal,
    private readonly abortErrorOf: (signal: AbortSignal) => Error,
  ) {}

  /** `promise`, unless the signal aborts first (the caller checked it is not aborted yet). */
  race(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.reject = reject;
      startWatching(this, this.signal);
      promise.then(
        (v) => {
          stopWatching(this);
          resolve(v);
        },
        (err: unknown) => {
          stopWatching(this);
          reject(err as Error);
        },
      );
    });
  }

  onAbort(): void {
    this.abortList = null;
    this.reject(this.abortErrorOf(this.signal));
  }
}

function noop(): void {}
