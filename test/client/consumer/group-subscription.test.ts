import { describe, expect, it } from 'vitest';
import { parseSubscription } from '../../../client/consumer/group/subscription.js';

describe('parseSubscription', () => {
  it('takes names, a RegExp, or both, sorted and without duplicates', () => {
    expect(parseSubscription(['b', 'a', 'b'])).toEqual({ names: ['a', 'b'], regex: null, fromBeginning: undefined });
    expect(parseSubscription('orders')).toEqual({ names: ['orders'], regex: null, fromBeginning: undefined });
    expect(parseSubscription(/orders\..*/)).toEqual({ names: [], regex: 'orders\\..*', fromBeginning: undefined });
    expect(parseSubscription({ topics: ['x', /y.*/], fromBeginning: true })).toEqual({ names: ['x'], regex: 'y.*', fromBeginning: true });
  });

  it('joins several RegExps into one alternation', () => {
    const sub = parseSubscription([/a\..*/, /b|c/]);
    expect(sub.regex).toBe('(?:a\\..*)|(?:b|c)');
    const whole = new RegExp(`^(?:${sub.regex})$`);
    expect(['a.x', 'b', 'c'].every((t) => whole.test(t))).toBe(true);
    expect(['xa.x', 'bc'].some((t) => whole.test(t))).toBe(false);
  });

  it('refuses what the coordinator could not match as meant', () => {
    expect(() => parseSubscription(/orders/i)).toThrow(/without flags/);
    expect(() => parseSubscription([])).toThrow(/at least one/);
    expect(() => parseSubscription([''])).toThrow(/Topic name is empty/);
    expect(() => parseSubscription(['x'.repeat(250)])).toThrow(/maximum is 249/);
    expect(() => parseSubscription([42 as unknown as string])).toThrow(TypeError);
    expect(() => parseSubscription({ topics: ['t'], fromBeginning: 'yes' as unknown as boolean })).toThrow(TypeError);
  });
});
