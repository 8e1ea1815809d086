import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { DeadlineQueue, type DeadlineItem } from '../../broker/deadline-queue.js';

interface Item extends DeadlineItem {
  name: string;
}

function item(name: string, inMs: number): Item {
  return { name, deadline: performance.now() + inMs, heapIndex: -1 };
}

describe('DeadlineQueue', () => {
  it('hands out due items earliest first, each once, under one timer', async () => {
    const due: string[] = [];
    const q = new DeadlineQueue<Item>((it) => {
      due.push(it.name);
      q.remove(it);
    });
    // Pushed out of order, with one far in the future.
    const later = item('later', 60_000);
    for (const it of [item('c', 30), item('a', 10), later, item('b', 20)]) q.push(it);
    expect(q.size).toBe(4);
    const until = performance.now() + 5_000;
    while (due.length < 3 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(due).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(1);
    expect(q.snapshot()).toEqual([later]);
    q.stop();
  });

  it('removes an item from anywhere, keeps the heap ordered, and says whether it was queued', () => {
    const q = new DeadlineQueue<Item>(() => undefined);
    const items = Array.from({ length: 200 }, (_, i) => item(`i${i}`, 10_000 + ((i * 7919) % 200)));
    for (const it of items) q.push(it);
    // Remove every third, then check the rest come out in deadline order.
    for (let i = 0; i < items.length; i += 3) expect(q.remove(items[i]!)).toBe(true);
    expect(q.remove(items[0]!)).toBe(false);
    expect(items[0]!.heapIndex).toBe(-1);
    const left = items.filter((_, i) => i % 3 !== 0);
    expect(q.size).toBe(left.length);
    const out: Item[] = [];
    for (;;) {
      const snapshot = q.snapshot();
      if (snapshot.length === 0) break;
      const first = snapshot.reduce((m, x) => (x.deadline < m.deadline ? x : m));
      // The heap's root is the earliest: removing it by its index works from the root.
      expect(first.heapIndex).toBe(0);
      q.remove(first);
      out.push(first);
    }
    expect(out.map((x) => x.deadline)).toEqual(left.map((x) => x.deadline).sort((a, b) => a - b));
    q.stop();
  });

  it('takes out an item its onDue left in place, and re-arms for the rest', async () => {
    const seen: string[] = [];
    const q = new DeadlineQueue<Item>((it) => seen.push(it.name));
    q.push(item('first', 5));
    q.push(item('second', 40));
    const until = performance.now() + 5_000;
    while (seen.length < 2 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['first', 'second']);
    expect(q.size).toBe(0);
  });

  it('an earlier push re-arms the timer; stop() leaves the items to their owner', async () => {
    const seen: string[] = [];
    const q = new DeadlineQueue<Item>((it) => seen.push(it.name));
    q.push(item('slow', 60_000));
    q.push(item('quick', 5));
    const until = performance.now() + 5_000;
    while (seen.length < 1 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['quick']);
    q.stop();
    expect(q.size).toBe(1);
  });
});
