/**
 * The pure planning of offset reset: strategies, clamping, ISO-8601 durations and date-times
 * (Java's Duration.parse and Kafka's --to-datetime rules), topic scopes, CSV plans.
 */
import { describe, expect, it } from 'vitest';
import {
  buildResetPlan,
  clampOffset,
  formatResetPlanCsv,
  mergeScopes,
  parseIsoDatetime,
  parseIsoDuration,
  parseResetPlanCsv,
  parseTopicScope,
  resolveStrategy,
  type PartitionOffsetState,
} from '../../../client/admin/offset-reset.js';
import { RillError } from '../../../protocol/errors.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** Three partitions: committed mid-log, nothing committed, committed below the log start (retention moved on). */
function states(extra: Partial<PartitionOffsetState> = {}): PartitionOffsetState[] {
  return [
    { topic: 'b', partition: 0, committedOffset: 50, logStartOffset: 10, logEndOffset: 100, ...extra },
    { topic: 'a', partition: 1, committedOffset: null, logStartOffset: 0, logEndOffset: 20, ...extra },
    { topic: 'a', partition: 0, committedOffset: 3, logStartOffset: 5, logEndOffset: 7, ...extra },
  ];
}

function plan(strategy: Parameters<typeof resolveStrategy>[0], s = states()) {
  return buildResetPlan(resolveStrategy(strategy, NOW), s).map((p) => [p.topic, p.partition, p.oldOffset, p.newOffset]);
}

describe('clampOffset', () => {
  it('keeps offsets inside [start, end] and moves the others to the nearest bound', () => {
    expect(clampOffset(5, 0, 10)).toBe(5);
    expect(clampOffset(-3, 2, 10)).toBe(2);
    expect(clampOffset(11, 2, 10)).toBe(10);
    expect(clampOffset(10, 10, 10)).toBe(10);
  });
});

describe('buildResetPlan', () => {
  it('to earliest / latest: the log start / end, sorted by topic then partition', () => {
    expect(plan({ toEarliest: true })).toEqual([
      ['a', 0, 3, 5],
      ['a', 1, null, 0],
      ['b', 0, 50, 10],
    ]);
    expect(plan({ toLatest: true })).toEqual([
      ['a', 0, 3, 7],
      ['a', 1, null, 20],
      ['b', 0, 50, 100],
    ]);
  });

  it('to current: the committed offset (clamped), the log end where nothing is committed', () => {
    expect(plan({ toCurrent: true })).toEqual([
      ['a', 0, 3, 5],
      ['a', 1, null, 20],
      ['b', 0, 50, 50],
    ]);
  });

  it('to offset: clamped into every partition\'s log', () => {
    expect(plan({ toOffset: 15 })).toEqual([
      ['a', 0, 3, 7],
      ['a', 1, null, 15],
      ['b', 0, 50, 15],
    ]);
    expect(plan({ toOffset: 0 }).map((r) => r[3])).toEqual([5, 0, 10]);
  });

  it('shift by: from the committed offset, both directions, clamped', () => {
    const committedOnly = states().filter((s) => s.committedOffset !== null);
    expect(plan({ shiftBy: -45 }, committedOnly)).toEqual([
      ['a', 0, 3, 5],
      ['b', 0, 50, 10],
    ]);
    expect(plan({ shiftBy: 30 }, committedOnly)).toEqual([
      ['a', 0, 3, 7],
      ['b', 0, 50, 80],
    ]);
    expect(plan({ shiftBy: 0 }, committedOnly).map((r) => r[3])).toEqual([5, 50]);
  });

  it('shift by refuses partitions without a committed offset, naming them all', () => {
    let err: unknown;
    try {
      plan({ shiftBy: 1 }, [...states(), { topic: 'c', partition: 4, committedOffset: null, logStartOffset: 0, logEndOffset: 1 }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('INVALID_REQUEST');
    expect((err as Error).message).toContain('a[1], c[4]');
  });

  it('to a time: the offset ListOffsets found, the log end where no record is that recent', () => {
    const s = states();
    s[0]!.timestampOffset = 60;
    s[1]!.timestampOffset = -1;
    s[2]!.timestampOffset = 2; // below the log start: clamped
    expect(plan({ toDatetime: new Date(NOW - 1000) }, s)).toEqual([
      ['a', 0, 3, 5],
      ['a', 1, null, 20],
      ['b', 0, 50, 60],
    ]);
    expect(() => plan({ toDatetime: NOW }, states())).toThrow(/no offset for the timestamp/);
  });

  it('from a plan: its offsets, clamped', () => {
    const rows = [
      { topic: 'a', partition: 0, offset: 6 },
      { topic: 'a', partition: 1, offset: 99 },
      { topic: 'b', partition: 0, offset: 0 },
    ];
    expect(plan({ fromPlan: rows })).toEqual([
      ['a', 0, 3, 6],
      ['a', 1, null, 20],
      ['b', 0, 50, 10],
    ]);
  });

  it('an empty partition list is an empty plan', () => {
    expect(buildResetPlan(resolveStrategy({ toEarliest: true }, NOW), [])).toEqual([]);
  });
});

describe('resolveStrategy', () => {
  it('needs exactly one known strategy with a valid value', () => {
    expect(() => resolveStrategy({} as never, NOW)).toThrow(/exactly one/);
    expect(() => resolveStrategy({ toEarliest: true, toLatest: true } as never, NOW)).toThrow(/exactly one.*toEarliest, toLatest/);
    expect(() => resolveStrategy({ toSomewhere: 1 } as never, NOW)).toThrow(/exactly one/);
    expect(() => resolveStrategy({ toEarliest: false } as never, NOW)).toThrow(/toEarliest must be true/);
    expect(() => resolveStrategy({ toOffset: -1 }, NOW)).toThrow(/toOffset must be an integer >= 0/);
    expect(() => resolveStrategy({ toOffset: 1.5 }, NOW)).toThrow(RangeError);
    expect(() => resolveStrategy({ shiftBy: Number.NaN }, NOW)).toThrow(/shiftBy/);
    expect(() => resolveStrategy({ toDatetime: new Date('nope') }, NOW)).toThrow(/toDatetime/);
    expect(() => resolveStrategy({ fromPlan: [] }, NOW)).toThrow(/empty/);
    expect(() =>
      resolveStrategy({ fromPlan: [{ topic: 't', partition: 0, offset: 1 }, { topic: 't', partition: 0, offset: 2 }] }, NOW),
    ).toThrow(/twice/);
    expect(() => resolveStrategy({ fromPlan: [{ topic: 'bad topic', partition: 0, offset: 1 }] }, NOW)).toThrow(/invalid topic/);
  });

  it('turns dates, epoch ms and durations into one timestamp', () => {
    expect(resolveStrategy({ toDatetime: new Date(NOW - 5) }, NOW)).toEqual({ kind: 'timestamp', timestampMs: NOW - 5 });
    expect(resolveStrategy({ toDatetime: NOW - 7 }, NOW)).toEqual({ kind: 'timestamp', timestampMs: NOW - 7 });
    expect(resolveStrategy({ byDuration: 'PT1H30M' }, NOW)).toEqual({ kind: 'timestamp', timestampMs: NOW - 90 * 60_000 });
    expect(resolveStrategy({ shiftBy: -3 }, NOW)).toEqual({ kind: 'shift', by: -3 });
  });
});

describe('parseIsoDuration (Java Duration.parse rules)', () => {
  it.each([
    ['PT0S', 0],
    ['PT15M', 15 * 60_000],
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['P2DT3H4M5S', 2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5000],
    ['PT0.5S', 500],
    ['PT1,25S', 1250],
    ['PT1.123456789S', 1123],
    ['PT1.S', 1000],
    ['pt10m', 600_000],
    ['+PT1M', 60_000],
    ['PT1H-15M', 45 * 60_000],
    // The fraction takes the sign of its seconds, as in Java: -1.5 s, not -0.5 s.
    ['PT2M-1.5S', 120_000 - 1500],
    // A leading sign negates the whole: -(1 day - 25 hours) is one hour.
    ['-P1DT-25H', 3_600_000],
  ])('%s', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each([
    ['', /not a duration/],
    ['P', /no field/],
    ['PT', /'T' must be followed/],
    ['1H', /not a duration/],
    ['P1Y', /years, months and weeks/],
    ['P1M', /years, months and weeks/],
    ['P2W', /years, months and weeks/],
    ['PT1H2D', /not a duration/],
    ['-PT5M', /negative/],
    ['P-1D', /negative/],
    ['PT1.1234567890S', /not a duration/],
  ])('refuses %j', (text, why) => {
    expect(() => parseIsoDuration(text)).toThrow(why);
    expect(() => parseIsoDuration(text)).toThrow(RangeError);
  });
});

describe('parseIsoDatetime (Kafka --to-datetime rules)', () => {
  it.each([
    ['2026-01-15T12:00:00.000', Date.UTC(2026, 0, 15, 12)],
    ['2026-01-15T12:00:00', Date.UTC(2026, 0, 15, 12)],
    ['2026-01-15T12:00', Date.UTC(2026, 0, 15, 12)],
    ['2026-01-15T12:00:00.123Z', Date.UTC(2026, 0, 15, 12, 0, 0, 123)],
    ['2026-01-15T12:00:00.1234567Z', Date.UTC(2026, 0, 15, 12, 0, 0, 123)],
    ['2026-01-15T12:00:00+02:00', Date.UTC(2026, 0, 15, 10)],
    ['2026-01-15T12:00:00-0530', Date.UTC(2026, 0, 15, 17, 30)],
    ['2026-01-15T12:00:00-05', Date.UTC(2026, 0, 15, 17)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('%s', (text, ms) => {
    expect(parseIsoDatetime(text)).toBe(ms);
  });

  it.each([
    ['2026-01-15', /not a date-time/],
    ['2026-01-15 12:00:00', /not a date-time/],
    ['yesterday', /not a date-time/],
    ['2026-13-01T00:00:00', /out of range/],
    ['2026-01-15T24:00:00', /out of range/],
    ['2025-02-29T00:00:00', /does not exist/],
    ['2026-01-15T12:00:00+19:00', /zone offset/],
    ['1969-12-31T23:59:59Z', /before 1970/],
  ])('refuses %j', (text, why) => {
    expect(() => parseIsoDatetime(text)).toThrow(why);
  });
});

describe('topic scopes', () => {
  it('parses topic and topic:p,p,p', () => {
    expect(parseTopicScope('orders')).toEqual({ topic: 'orders' });
    expect(parseTopicScope('orders.eu-1:2,0,2')).toEqual({ topic: 'orders.eu-1', partitions: [0, 2] });
    expect(() => parseTopicScope('orders:')).toThrow(/invalid partition ''/);
    expect(() => parseTopicScope('orders:1,x')).toThrow(/invalid partition 'x'/);
    expect(() => parseTopicScope('orders:-1')).toThrow(/invalid partition/);
    expect(() => parseTopicScope('bad/topic:1')).toThrow(/invalid topic/);
    expect(() => parseTopicScope(':1')).toThrow(/invalid topic/);
  });

  it('merges repeated topics; a whole-topic scope wins', () => {
    expect(mergeScopes([{ topic: 'b', partitions: [3] }, { topic: 'a', partitions: [1] }, { topic: 'b', partitions: [1, 3] }, { topic: 'a' }])).toEqual([
      { topic: 'a' },
      { topic: 'b', partitions: [1, 3] },
    ]);
    expect(() => mergeScopes([{ topic: 'a', partitions: [-1] }])).toThrow(/invalid partition/);
  });
});

describe('CSV plans', () => {
  const rows = [
    { topic: 'a', partition: 0, offset: 5 },
    { topic: 'b.x', partition: 12, offset: 0 },
  ];

  it('round-trips topic,partition,offset', () => {
    const csv = formatResetPlanCsv(rows);
    expect(csv).toBe('a,0,5\nb.x,12,0\n');
    expect(parseResetPlanCsv(csv)).toEqual(rows);
    expect(formatResetPlanCsv([{ topic: 'a', partition: 1, oldOffset: 3, newOffset: 9 } as never])).toBe('a,1,9\n');
  });

  it('accepts CRLF, blank lines, spaces and a header line', () => {
    expect(parseResetPlanCsv('topic,partition,offset\r\n\r\n a , 0 , 5 \r\nb.x,12,0')).toEqual(rows);
  });

  it("reads Kafka's group,topic,partition,offset form, keeping the group's rows", () => {
    const csv = 'g1,a,0,5\ng2,a,0,7\ng1,b.x,12,0\n';
    expect(parseResetPlanCsv(csv, 'g1')).toEqual(rows);
    expect(parseResetPlanCsv(csv, 'g2')).toEqual([{ topic: 'a', partition: 0, offset: 7 }]);
    expect(() => parseResetPlanCsv(csv, 'g3')).toThrow("the plan has no rows for group 'g3'");
  });

  it.each([
    ['', /empty/],
    ['topic,partition,offset\n', /empty/],
    ['a,0\n', /plan line 1: expected topic,partition,offset/],
    ['a,0,5\nb,1,2,3,4\n', /plan line 2: expected/],
    ['a,0,5\ng,b,1,2\n', /plan line 2: has 4 columns, earlier lines 3/],
    ['a,x,5\n', /plan line 1: partition must be an integer/],
    ['a,0,-5\n', /plan line 1: offset must be an integer/],
    ['a,0,5\n\na,0,6\n', /plan line 3: a\[0\] appears twice/],
    ['bad topic,0,5\n', /invalid topic/],
  ])('refuses %j', (text, why) => {
    expect(() => parseResetPlanCsv(text, 'g')).toThrow(why);
  });
});
