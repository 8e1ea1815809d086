/**
 * The pure half of offset reset (`admin.resetOffsets`, `rill groups reset-offsets`), mirroring
 * Kafka's `kafka-consumer-groups --reset-offsets`: parsing strategies, ISO-8601 datetimes and
 * durations, `topic:p,p` scopes and CSV plans, and turning what the cluster reported (committed
 * offsets, log start/end, offsets for a timestamp) into a plan. No I/O here; admin.ts fetches
 * the numbers and executes the plan.
 *
 * Every target is clamped into [log start, log end], as Kafka's tool does: a group can neither
 * point below what retention kept nor past the next offset to be written.
 *
 * CSV plan format (what `--export` prints and `--from-file` reads, as Kafka's tool):
 *   topic,partition,offset              one row per partition, no header
 *   group,topic,partition,offset        Kafka's multi-group form: rows of other groups are ignored
 * Blank lines are skipped; a first line naming the columns is accepted as a header.
 */
import { isValidTopicName } from '../../protocol/topic-name.js';
import { rillError } from '../../protocol/errors.js';

/** One partition's new offset in a saved plan (`--from-file`, `fromPlan`). */
export interface PlanOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** One line of a reset plan: where the group is now and where it will be. */
export interface PlannedOffset {
  topic: string;
  partition: number;
  /** The group's committed offset before the reset; null when it has none there. */
  oldOffset: number | null;
  newOffset: number;
}

/** Where to move the group's offsets: exactly one of these keys. */
export type ResetStrategy =
  | { toEarliest: true }
  | { toLatest: true }
  | { toCurrent: true }
  | { toOffset: number }
  | { shiftBy: number }
  | { toDatetime: Date | number }
  | { byDuration: string }
  | { fromPlan: ReadonlyArray<PlanOffset> };

/** Which partitions to reset: a whole topic, or some of its partitions. */
export interface TopicScope {
  topic: string;
  /** Every partition of the topic when omitted. */
  partitions?: number[];
}

/** A strategy with its inputs checked and times turned into one timestamp. */
export type ResolvedStrategy =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'current' }
  | { kind: 'offset'; offset: number }
  | { kind: 'shift'; by: number }
  /** toDatetime, or byDuration as now - duration: the first offset at or after `timestampMs`. */
  | { kind: 'timestamp'; timestampMs: number }
  | { kind: 'plan'; offsets: Map<string, PlanOffset> };

/** What the cluster says about one partition, the input of `buildResetPlan`. */
export interface PartitionOffsetState {
  topic: string;
  partition: number;
  committedOffset: number | null;
  logStartOffset: number;
  logEndOffset: number;
  /** For the timestamp strategy: ListOffsets' answer for it (-1 or null: no record that recent). */
  timestampOffset?: number | null;
}

const STRATEGY_KEYS = ['toEarliest', 'toLatest', 'toCurrent', 'toOffset', 'shiftBy', 'toDatetime', 'byDuration', 'fromPlan'] as const;
const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
/** Java's Duration (and so Kafka's --by-duration) counts a day as exactly 24 hours. */
const MS_PER_DAY = 24 * MS_PER_HOUR;

/** "topic\0partition": a map key for one partition. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Checks a strategy (exactly one key, valid values) and fixes the timestamp of time-based ones at `nowMs`. */
export function resolveStrategy(strategy: ResetStrategy, nowMs: number): ResolvedStrategy {
  if (strategy === null || typeof strategy !== 'object') throw new TypeError('strategy must be an object such as { toEarliest: true }');
  const keys = Object.keys(strategy).filter((k) => (strategy as Record<string, unknown>)[k] !== undefined);
  const known = keys.filter((k): k is (typeof STRATEGY_KEYS)[number] => (STRATEGY_KEYS as readonly string[]).includes(k));
  if (keys.length !== 1 || known.length !== 1) {
    throw new RangeError(`strategy needs exactly one of ${STRATEGY_KEYS.join(', ')}; got ${keys.length === 0 ? 'none' : keys.join(', ')}`);
  }
  const s = strategy as Record<string, unknown>;
  const key = known[0]!;
  if ((key === 'toEarliest' || key === 'toLatest' || key === 'toCurrent') && s[key] !== true) throw new RangeError(`${key} must be true, got ${String(s[key])}`);
  switch (key) {
    case 'toEarliest':
      return { kind: 'earliest' };
    case 'toLatest':
      return { kind: 'latest' };
    case 'toCurrent':
      return { kind: 'current' };
    case 'toOffset':
      return { kind: 'offset', offset: offsetValue('toOffset', s.toOffset) };
    case 'shiftBy': {
      const by = s.shiftBy;
      if (typeof by !== 'number' || !Number.isSafeInteger(by)) throw new RangeError(`shiftBy must be an integer, got ${String(by)}`);
      return { kind: 'shift', by };
    }
    case 'toDatetime': {
      const v = s.toDatetime;
      const ms = v instanceof Date ? v.getTime() : v;
      if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`toDatetime must be a Date or ms since the epoch, got ${String(v)}`);
      return { kind: 'timestamp', timestampMs: ms };
    }
    case 'byDuration': {
      if (typeof s.byDuration !== 'string') throw new RangeError(`byDuration must be an ISO-8601 duration such as 'PT1H', got ${String(s.byDuration)}`);
      return { kind: 'timestamp', timestampMs: Math.max(0, nowMs - parseIsoDuration(s.byDuration)) };
    }
    case 'fromPlan': {
      if (!Array.isArray(s.fromPlan)) throw new RangeError('fromPlan must be an array of { topic, partition, offset }');
      const offsets = new Map<string, PlanOffset>();
      for (const row of s.fromPlan as PlanOffset[]) {
        const checked = checkPlanRow(row, 'fromPlan');
        const key = partitionKey(checked.topic, checked.partition);
        if (offsets.has(key)) throw new RangeError(`fromPlan names ${checked.topic}[${checked.partition}] twice`);
        offsets.set(key, checked);
      }
      if (offsets.size === 0) throw new RangeError('fromPlan is empty');
      return { kind: 'plan', offsets };
    }
  }
}

/** A value clamped into [logStartOffset, logEndOffset]. */
export function clampOffset(offset: number, logStartOffset: number, logEndOffset: number): number {
  return Math.min(Math.max(offset, logStartOffset), logEndOffset);
}

/**
 * The plan: for every partition, its target per the strategy, clamped into the log, sorted by
 * topic then partition. Shifting a partition without a committed offset has nothing to shift
 * from: that is refused (as Kafka), naming every such partition.
 */
export function buildResetPlan(strategy: ResolvedStrategy, partitions: ReadonlyArray<PartitionOffsetState>): PlannedOffset[] {
  const unshiftable: string[] = [];
  const plan: PlannedOffset[] = [];
  for (const p of partitions) {
    let target: number;
    switch (strategy.kind) {
      case 'earliest':
        target = p.logStartOffset;
        break;
      case 'latest':
        target = p.logEndOffset;
        break;
      case 'current':
        // Kafka's --to-current: no committed offset yet means the log end.
        target = p.committedOffset ?? p.logEndOffset;
        break;
      case 'offset':
        target = strategy.offset;
        break;
      case 'shift':
        if (p.committedOffset === null) {
          unshiftable.push(`${p.topic}[${p.partition}]`);
          continue;
        }
        target = p.committedOffset + strategy.by;
        break;
      case 'timestamp':
        if (p.timestampOffset === undefined) throw new Error(`no offset for the timestamp was looked up for ${p.topic}[${p.partition}]`);
        // No record at or after the time: the log end (Kafka's rule).
        target = p.timestampOffset === null || p.timestampOffset < 0 ? p.logEndOffset : p.timestampOffset;
        break;
      case 'plan': {
        const row = strategy.offsets.get(partitionKey(p.topic, p.partition));
        if (row === undefined) throw new Error(`the plan has no offset for ${p.topic}[${p.partition}]`);
        target = row.offset;
        break;
      }
    }
    plan.push({ topic: p.topic, partition: p.partition, oldOffset: p.committedOffset, newOffset: clampOffset(target, p.logStartOffset, p.logEndOffset) });
  }
  if (unshiftable.length > 0) {
    throw rillError(
      'INVALID_REQUEST',
      `cannot shift ${unshiftable.join(', ')}: the group has no committed offset there (reset them to the earliest, the latest or an explicit offset first)`,
    );
  }
  return plan.sort(comparePartitions);
}

export function comparePartitions(a: { topic: string; partition: number }, b: { topic: string; partition: number }): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

/**
 * An ISO-8601 duration as Java's `Duration.parse` reads it (what Kafka's --by-duration takes):
 * `PnDTnHnMn.nS`, days of exactly 24 hours, per-field signs, fractional seconds (kept to the
 * millisecond, truncated). Returns milliseconds. A negative total is refused: the duration is
 * how far back from now to go. Years, months and weeks are refused, as Java refuses them.
 */
export function parseIsoDuration(text: string): number {
  const m = /^([-+]?)P(?:([-+]?\d+)D)?(T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+)(?:[.,](\d{0,9}))?S)?)?$/i.exec(text.trim());
  const bad = (why: string): RangeError => new RangeError(`invalid ISO-8601 duration '${text}': ${why} (format PnDTnHnMn.nS, e.g. PT30M, P1DT12H, PT0.5S)`);
  if (m === null) {
    if (/^[-+]?P.*[YW]/i.test(text.trim()) || /^[-+]?P[^T]*\d+M/i.test(text.trim())) throw bad('years, months and weeks are not durations of fixed length; use days');
    throw bad('not a duration');
  }
  const [, sign, days, timePart, hours, minutes, seconds, fraction] = m;
  if (days === undefined && timePart === undefined) throw bad('no field');
  if (timePart !== undefined && hours === undefined && minutes === undefined && seconds === undefined) throw bad("'T' must be followed by hours, minutes or seconds");
  let ms = 0;
  if (days !== undefined) ms += Number(days) * MS_PER_DAY;
  if (hours !== undefined) ms += Number(hours) * MS_PER_HOUR;
  if (minutes !== undefined) ms += Number(minutes) * MS_PER_MINUTE;
  if (seconds !== undefined) {
    const secondsMs = Math.abs(Number(seconds)) * MS_PER_SECOND + Number(((fraction ?? '') + '000').slice(0, 3));
    // As in Java, the fraction takes the sign of its seconds: PT-1.5S is -1500 ms.
    ms += seconds.startsWith('-') ? -secondsMs : secondsMs;
  }
  if (sign === '-') ms = -ms;
  if (!Number.isSafeInteger(ms)) throw bad('too long');
  if (ms < 0) throw bad('negative; it is how far back from now to go');
  return ms;
}

/**
 * An ISO-8601 date-time as Kafka's --to-datetime takes it: `YYYY-MM-DDTHH:mm[:ss[.sss]]` with
 * an optional zone (`Z`, `+02:00`, `+0200`, `-05`); without a zone it is UTC (Kafka appends
 * 'Z'). Fractions beyond milliseconds are truncated. Returns ms since the epoch.
 */
export function parseIsoDatetime(text: string): number {
  const s = text.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(s);
  const bad = (why: string): RangeError => new RangeError(`invalid ISO-8601 date-time '${text}': ${why} (format YYYY-MM-DDTHH:mm:ss.sss, optionally with Z or +hh:mm; UTC when no zone is given)`);
  if (m === null) throw bad('not a date-time');
  const [, y, mo, d, h, mi, sec, fraction, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec ?? '0');
  const millis = Number(((fraction ?? '') + '000').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) throw bad('a field is out of range');
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 02-30 over to 03-01: a round trip catches days the month does not have.
  if (new Date(utc).getUTCDate() !== day) throw bad(`day ${day} does not exist in ${y}-${mo}`);
  let offsetMs = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const zh = Number(zm[2]);
    const zmin = Number(zm[3] ?? '0');
    if (zh > 18 || zmin > 59) throw bad('the zone offset is out of range');
    offsetMs = (zm[1] === '-' ? -1 : 1) * (zh * MS_PER_HOUR + zmin * MS_PER_MINUTE);
  }
  const ms = utc - offsetMs;
  if (ms < 0) throw bad('before 1970');
  return ms;
}

/** `orders` or `orders:0,1,2` (Kafka's --topic form) as a scope. */
export function parseTopicScope(spec: string): TopicScope {
  const colon = spec.indexOf(':');
  const topic = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  if (!isValidTopicName(topic)) throw new RangeError(`invalid topic '${topic}' in '${spec}' (topic names are 1-249 of [a-zA-Z0-9._-])`);
  if (colon < 0) return { topic };
  const list = spec.slice(colon + 1).split(',').map((p) => p.trim());
  const partitions: number[] = [];
  for (const p of list) {
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(Number(p)) || Number(p) > 2147483647) throw new RangeError(`invalid partition '${p}' in '${spec}' (expected topic:0,1,2)`);
    partitions.push(Number(p));
  }
  return { topic, partitions: [...new Set(partitions)].sort((a, b) => a - b) };
}

/** Merges scopes naming the same topic (a whole-topic scope absorbs partition lists). */
export function mergeScopes(scopes: ReadonlyArray<TopicScope>): TopicScope[] {
  const byTopic = new Map<string, Set<number> | 'all'>();
  for (const s of scopes) {
    if (typeof s?.topic !== 'string' || !isValidTopicName(s.topic)) throw new RangeError(`invalid topic in scope: ${JSON.stringify(s?.topic)}`);
    const current = byTopic.get(s.topic);
    if (s.partitions === undefined) {
      byTopic.set(s.topic, 'all');
      continue;
    }
    for (const p of s.partitions) if (!Number.isInteger(p) || p < 0 || p > 2147483647) throw new RangeError(`invalid partition ${p} of topic '${s.topic}'`);
    if (current === 'all') continue;
    const set = current ?? new Set<number>();
    for (const p of s.partitions) set.add(p);
    byTopic.set(s.topic, set);
  }
  return [...byTopic.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([topic, ps]) => (ps === 'all' ? { topic } : { topic, partitions: [...ps].sort((a, b) => a - b) }));
}

/** The plan as CSV `topic,partition,offset` lines (Kafka's --export format). */
export function formatResetPlanCsv(rows: ReadonlyArray<{ topic: string; partition: number; offset?: number; newOffset?: number }>): string {
  return rows.map((r) => `${r.topic},${r.partition},${r.newOffset ?? r.offset}\n`).join('');
}

/**
 * Reads a CSV plan (see the header). With Kafka's 4-column form only `groupId`'s rows are
 * kept. Errors name the line.
 */
export function parseResetPlanCsv(text: string, groupId?: string): PlanOffset[] {
  const rows: PlanOffset[] = [];
  const seen = new Set<string>();
  let columns = 0;
  let otherGroups = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0) continue;
    const at = `plan line ${i + 1}`;
    const fields = line.split(',').map((f) => f.trim());
    if (rows.length === 0 && otherGroups === 0 && columns === 0 && /^(group,)?topic,partition,offset$/i.test(fields.join(','))) continue;
    if (fields.length !== 3 && fields.length !== 4) throw new RangeError(`${at}: expected topic,partition,offset (or group,topic,partition,offset), got '${line}'`);
    if (columns !== 0 && fields.length !== columns) throw new RangeError(`${at}: has ${fields.length} columns, earlier lines ${columns}`);
    columns = fields.length;
    if (fields.length === 4) {
      if (groupId !== undefined && fields[0] !== groupId) {
        otherGroups++;
        continue;
      }
      fields.shift();
    }
    const row = checkPlanRow({ topic: fields[0]!, partition: integerField(fields[1]!, `${at}: partition`), offset: integerField(fields[2]!, `${at}: offset`) }, at);
    const key = partitionKey(row.topic, row.partition);
    if (seen.has(key)) throw new RangeError(`${at}: ${row.topic}[${row.partition}] appears twice`);
    seen.add(key);
    rows.push(row);
  }
  if (rows.length === 0) throw new RangeError(otherGroups > 0 ? `the plan has no rows for group '${groupId}'` : 'the plan is empty');
  return rows;
}

function integerField(text: string, what: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new RangeError(`${what} must be an integer >= 0, got '${text}'`);
  return Number(text);
}

function checkPlanRow(row: PlanOffset, where: string): PlanOffset {
  if (row === null || typeof row !== 'object') throw new RangeError(`${where}: a row must be { topic, partition, offset }`);
  if (typeof row.topic !== 'string' || !isValidTopicName(row.topic)) throw new RangeError(`${where}: invalid topic '${String(row.topic)}'`);
  if (!Number.isInteger(row.partition) || row.partition < 0 || row.partition > 2147483647) throw new RangeError(`${where}: invalid partition ${String(row.partition)}`);
  return { topic: row.topic, partition: row.partition, offset: offsetValue(`${where}: offset`, row.offset) };
}

function offsetValue(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be an integer >= 0, got ${String(v)}`);
  return v;
}
