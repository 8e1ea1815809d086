import { describe, expect, it } from 'vitest';
import { RequestSlots } from '../../client/request-slots.js';
import { TimeoutError } from '../../protocol/errors.js';

describe('RequestSlots', () => {
  it('grants up to max at once, then hands released slots to waiters in FIFO order', async () => {
    const slots = new RequestSlots(2);
    expect(slots.tryTake()).toBe(true);
    expect(slots.tryTake()).toBe(true);
    expect(slots.tryTake()).toBe(false);
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => Promise.resolve(slots.take(`request ${n}`, undefined, 10_000)).then(() => order.push(n)));
    expect(slots.waiting).toBe(3);
    // A caller arriving now must not overtake the waiters even once a slot frees up.
    slots.release();
    expect(slots.tryTake()).toBe(false);
    slots.release();
    slots.release();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    expect(slots.inUse).toBe(2);
    expect(slots.waiting).toBe(0);
  });

  it('a waiter gives up after its timeout or on abort, and later waiters keep their place', async () => {
    const slots = new RequestSlots(1);
    slots.force();
    const timedOut = Promise.resolve(slots.take('slow one', undefined, 20));
    const controller = new AbortController();
    const aborted = Promise.resolve(slots.take('aborted one', controller.signal, 10_000));
    const patient = Promise.resolve(slots.take('patient one', undefined, 10_000));
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    await expect(timedOut).rejects.toBeInstanceOf(TimeoutError);
    expect(slots.waiting).toBe(1);
    slots.release();
    await patient;
    expect(slots.inUse).toBe(1);
  });

  it('fails every waiter when the connection closes', async () => {
    const slots = new RequestSlots(1);
    slots.force();
    const waits = [Promise.resolve(slots.take('a', undefined, 10_000)), Promise.resolve(slots.take('b', undefined, 10_000))];
    slots.failWaiters(new Error('closed'));
    for (const r of await Promise.allSettled(waits)) expect(r.status).toBe('rejected');
    expect(slots.waiting).toBe(0);
  });
});
