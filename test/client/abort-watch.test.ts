/**
 * abort-watch.ts: one 'abort' listener per signal, watchers kept in our own slots. No broker
 * here: the signal and its listeners are the whole subject (events.getEventListeners).
 */
import { getEventListeners } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  abortWatchList,
  onAbortOf,
  raceAbort,
  stopWatching,
  unwatchAbort,
  watchAbort,
  type AbortWatcher,
} from '../../client/abort-watch.js';
import { abortError } from '../../client/errors.js';
import { sleep } from '../../client/retry.js';

/** A watcher that counts its runs. */
function counter(): AbortWatcher & { runs: number } {
  return {
    runs: 0,
    onAbort() {
      this.runs++;
    },
  };
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** A full GC on demand (the test runner's process was not started with --expose-gc). */
function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Watches `signal` `times` times in sequence, each unwatched before the next. */
function watchInSequence(signal: AbortSignal, times: number): void {
  for (let i = 0; i < times; i++) {
    const w = counter();
    unwatchAbort(signal, watchAbort(signal, w), w);
  }
}

describe('abort-watch', () => {
  it('adds one listener for any number of watches, and never removes it while the signal lives', () => {
    const ac = new AbortController();
    expect(listeners(ac.signal)).toBe(0);
    const ws = Array.from({ length: 100 }, counter);
    const slots = ws.map((w) => watchAbort(ac.signal, w));
    expect(listeners(ac.signal)).toBe(1);
    expect(abortWatchList(ac.signal).size).toBe(100);
    ws.forEach((w, i) => unwatchAbort(ac.signal, slots[i]!, w));
    expect(abortWatchList(ac.signal).size).toBe(0);
    expect(listeners(ac.signal)).toBe(1);
    ac.abort();
    expect(ws.every((w) => w.runs === 0)).toBe(true);
  });

  it('runs every watcher still registered exactly once on abort, and none that unwatched', () => {
    const ac = new AbortController();
    const ws = Array.from({ length: 10 }, counter);
    const slots = ws.map((w) => watchAbort(ac.signal, w));
    for (const i of [1, 4, 9]) unwatchAbort(ac.signal, slots[i]!, ws[i]!);
    ac.abort();
    ac.abort();
    expect(ws.map((w) => w.runs)).toEqual([1, 0, 1, 1, 0, 1, 1, 1, 1, 0]);
    expect(abortWatchList(ac.signal).size).toBe(0);
    // Unwatching after the run is harmless.
    ws.forEach((w, i) => unwatchAbort(ac.signal, slots[i]!, w));
    expect(ws.map((w) => w.runs)).toEqual([1, 0, 1, 1, 0, 1, 1, 1, 1, 0]);
  });

  it('reuses freed slots; a double or stale unwatch leaves the slot\'s new occupant alone', () => {
    const ac = new AbortController();
    const a = counter();
    const b = counter();
    const c = counter();
    const keep = counter();
    watchAbort(ac.signal, keep);
    const slotA = watchAbort(ac.signal, a);
    unwatchAbort(ac.signal, slotA, a);
    const slotB = watchAbort(ac.signal, b);
    expect(slotB).toBe(slotA);
    // a's second unwatch names b's slot now: b stays registered.
    unwatchAbort(ac.signal, slotA, a);
    unwatchAbort(ac.signal, 999, c);
    unwatchAbort(ac.signal, -1, c);
    expect(abortWatchList(ac.signal).size).toBe(2);
    ac.abort();
    expect([keep.runs, a.runs, b.runs, c.runs]).toEqual([1, 0, 1, 0]);
  });

  it('a sequential loop of watch/unwatch keeps reusing slot 0', () => {
    const ac = new AbortController();
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const w = counter();
      const slot = watchAbort(ac.signal, w);
      seen.add(slot);
      unwatchAbort(ac.signal, slot, w);
    }
    expect([...seen]).toEqual([0]);
    expect(listeners(ac.signal)).toBe(1);
  });

  it('a burst of concurrent watchers, unwatched in any order, leaves an empty list that starts again at slot 0', () => {
    const ac = new AbortController();
    const ws = Array.from({ length: 5000 }, counter);
    const slots = ws.map((w) => watchAbort(ac.signal, w));
    expect(new Set(slots).size).toBe(5000);
    // Every other one, then the rest backwards.
    for (let i = 0; i < ws.length; i += 2) unwatchAbort(ac.signal, slots[i]!, ws[i]!);
    for (let i = ws.length - 1; i >= 1; i -= 2) unwatchAbort(ac.signal, slots[i]!, ws[i]!);
    expect(abortWatchList(ac.signal).size).toBe(0);
    const next = counter();
    expect(watchAbort(ac.signal, next)).toBe(0);
    ac.abort();
    expect(next.runs).toBe(1);
    expect(ws.every((w) => w.runs === 0)).toBe(true);
  });

  it('a watcher registered after the abort runs on a microtask, unless unwatched first', async () => {
    const ac = new AbortController();
    ac.abort();
    const late = counter();
    const cancelled = counter();
    watchAbort(ac.signal, late);
    const slot = watchAbort(ac.signal, cancelled);
    unwatchAbort(ac.signal, slot, cancelled);
    expect(late.runs).toBe(0);
    await Promise.resolve();
    expect([late.runs, cancelled.runs]).toEqual([1, 0]);
    // An already-aborted signal gets no listener at all (it would never fire).
    const pre = AbortSignal.abort();
    const w = counter();
    watchAbort(pre, w);
    expect(listeners(pre)).toBe(0);
    await Promise.resolve();
    expect(w.runs).toBe(1);
  });

  it('a watcher may unwatch others or watch again while the abort runs', async () => {
    const ac = new AbortController();
    const victim = counter();
    const again = counter();
    let victimSlot = -1;
    const first: AbortWatcher = {
      onAbort() {
        unwatchAbort(ac.signal, victimSlot, victim);
        watchAbort(ac.signal, again);
      },
    };
    watchAbort(ac.signal, first);
    victimSlot = watchAbort(ac.signal, victim);
    ac.abort();
    await Promise.resolve();
    // victim (registered after first) was taken out of its slot before its turn came.
    expect(victim.runs).toBe(0);
    expect(again.runs).toBe(1);
  });

  it('keeps separate lists for many signals', () => {
    const controllers = Array.from({ length: 200 }, () => new AbortController());
    const ws = controllers.map((ac) => {
      const w = counter();
      watchAbort(ac.signal, w);
      return w;
    });
    for (let i = 0; i < controllers.length; i += 3) controllers[i]!.abort();
    expect(ws.map((w) => w.runs)).toEqual(controllers.map((_, i) => (i % 3 === 0 ? 1 : 0)));
    expect(controllers.every((ac) => listeners(ac.signal) <= 1)).toBe(true);
  });

  it('onAbortOf runs its callback once; stopWatching before the abort cancels it', () => {
    const ac = new AbortController();
    let ran = 0;
    let cancelledRan = 0;
    onAbortOf(ac.signal, () => ran++);
    const handle = onAbortOf(ac.signal, () => cancelledRan++);
    stopWatching(handle);
    stopWatching(handle);
    ac.abort();
    expect([ran, cancelledRan]).toEqual([1, 0]);
  });

  it('raceAbort settles with the promise, or with the abort error, and leaves no watch behind', async () => {
    const ac = new AbortController();
    for (let i = 0; i < 1000; i++) await raceAbort(Promise.resolve(i), ac.signal, abortError);
    await expect(raceAbort(Promise.reject(new Error('inner')), ac.signal, abortError)).rejects.toThrow('inner');
    expect(abortWatchList(ac.signal).size).toBe(0);
    const never = new Promise<number>(() => undefined);
    const raced = raceAbort(never, ac.signal, abortError);
    ac.abort(new Error('stop'));
    await expect(raced).rejects.toThrow('stop');
    await expect(raceAbort(never, ac.signal, abortError)).rejects.toThrow('stop');
    expect(listeners(ac.signal)).toBe(0);
  });

  it('sleep() with one signal many times keeps one listener, and the abort still ends a sleep', async () => {
    const ac = new AbortController();
    for (let i = 0; i < 200; i++) await sleep(0, ac.signal);
    expect(listeners(ac.signal)).toBe(1);
    expect(abortWatchList(ac.signal).size).toBe(0);
    const long = sleep(60_000, ac.signal);
    ac.abort();
    await expect(long).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a signal\'s first few watches leave no listener once they end; a signal watched often keeps its one listener', () => {
    const ac = new AbortController();
    watchInSequence(ac.signal, 3);
    expect(listeners(ac.signal)).toBe(0);
    const w = counter();
    const slot = watchAbort(ac.signal, w);
    expect(listeners(ac.signal)).toBe(1);
    unwatchAbort(ac.signal, slot, w);
    watchInSequence(ac.signal, 20);
    expect(listeners(ac.signal)).toBe(1);
    watchInSequence(ac.signal, 1000);
    expect(listeners(ac.signal)).toBe(1);
    // Re-attached watches still run on abort.
    const last = counter();
    watchAbort(ac.signal, last);
    ac.abort();
    expect(last.runs).toBe(1);
  });

  it('a composite signal watched by one call is not kept alive once the call ends (Node holds one with a listener)', async () => {
    const gc = fullGc();
    const source = new AbortController();
    let briefly: WeakRef<AbortSignal>;
    let often: WeakRef<AbortSignal>;
    let strong: AbortSignal | null = AbortSignal.any([source.signal]);
    {
      briefly = new WeakRef(strong);
      watchInSequence(strong, 2);
      strong = AbortSignal.any([source.signal]);
      often = new WeakRef(strong);
      watchInSequence(strong, 50);
      strong = null;
    }
    // WeakRefs hold their target until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(briefly.deref()).toBeUndefined();
    // The documented cost: watched often, it keeps its listener, and Node keeps it while its
    // source lives and has not aborted.
    expect(often.deref()).toBeDefined();
    source.abort();
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(often.deref()).toBeUndefined();
  });
});
