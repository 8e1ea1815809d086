/**
 * PendingRequests (client/pending-requests.ts): answers looked up by correlation id in sending
 * order, tombstones for requests settled out of turn (a late answer finds nothing), a list
 * that stays bounded when a request at the front lives long, and one timer that expires every
 * overdue request, in sending order, and re-arms for the next deadline.
 */
import { describe, expect, it } from 'vitest';
import { PendingRequests, type PendingEntry } from '../../client/pending-requests.js';

interface Entry extends PendingEntry {
  name: string;
}

function entry(correlationId: number, timeoutMs = 60_000): Entry {
  return { correlationId, deadlineMs: performance.now() + timeoutMs, settled: false, name: `r${correlationId}` };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('PendingRequests', () => {
  it('hands out answers in sending order and forgets them', () => {
    const expired: Entry[] = [];
    const p = new PendingRequests<Entry>((e) => expired.push(e));
    const [a, b, c] = [entry(1), entry(2), entry(3)];
    p.add(a);
    p.add(b);
    p.add(c);
    expect(p.size).toBe(3);
    expect(p.take(1)).toBe(a);
    expect(a.settled).toBe(true);
    expect(p.take(1)).toBeUndefined();
    expect(p.take(2)).toBe(b);
    expect(p.take(3)).toBe(c);
    expect(p.size).toBe(0);
    expect(p.take(4)).toBeUndefined();
    p.stop();
    expect(expired).toEqual([]);
  });

  it('drops the late answer of a request settled out of turn, and still finds the ones after it', () => {
    const p = new PendingRequests<Entry>(() => undefined);
    const [a, b, c] = [entry(10), entry(11), entry(12)];
    p.add(a);
    p.add(b);
    p.add(c);
    expect(p.settle(b)).toBe(true);
    expect(p.settle(b)).toBe(false);
    expect(p.size).toBe(2);
    expect(p.take(10)).toBe(a);
    expect(p.take(11)).toBeUndefined();
    expect(p.take(12)).toBe(c);
    expect(p.size).toBe(0);
    p.stop();
  });

  it('stays bounded while a long-lived request at the front holds many settled ones behind it', () => {
    const p = new PendingRequests<Entry>(() => undefined);
    const front = entry(1);
    p.add(front);
    for (let id = 2; id < 10_002; id++) {
      const e = entry(id);
      p.add(e);
      // acks=0 style: settled when written, never answered.
      expect(p.settle(e)).toBe(true);
    }
    expect(p.size).toBe(1);
    expect((p as unknown as { entries: unknown[] }).entries.length).toBeLessThan(100);
    const last = entry(10_002);
    p.add(last);
    expect(p.take(1)).toBe(front);
    expect(p.take(10_002)).toBe(last);
    expect(p.size).toBe(0);
    p.stop();
  });

  it('expires overdue requests in sending order with one timer, and re-arms for a later deadline', async () => {
    const expired: string[] = [];
    const p = new PendingRequests<Entry>((e) => expired.push(e.name));
    const slow = entry(1, 200);
    const fastA = entry(2, 20);
    const answered = entry(3, 20);
    const fastB = entry(4, 30);
    p.add(slow);
    p.add(fastA);
    p.add(answered);
    p.add(fastB);
    // Not at the front, still found by its id (an answer that overtook: settled before it expires).
    expect(p.take(3)).toBe(answered);
    await sleep(80);
    expect(expired).toEqual(['r2', 'r4']);
    expect(fastA.settled && fastB.settled).toBe(true);
    expect(slow.settled).toBe(false);
    expect(p.size).toBe(1);
    await sleep(200);
    expect(expired).toEqual(['r2', 'r4', 'r1']);
    expect(p.size).toBe(0);
    p.stop();
  });

  it('drain settles and returns every waiting request in order; the timer then finds nothing', async () => {
    const expired: Entry[] = [];
    const p = new PendingRequests<Entry>((e) => expired.push(e));
    const [a, b, c] = [entry(1, 10), entry(2, 10), entry(3, 10)];
    p.add(a);
    p.add(b);
    p.add(c);
    p.settle(b);
    expect(p.drain()).toEqual([a, c]);
    expect(p.size).toBe(0);
    await sleep(40);
    expect(expired).toEqual([]);
    p.stop();
  });
});
