/**
 * Topic-level log configuration: Kafka's names on the wire and in files (`retention.ms`),
 * camelCase inside the code (`retentionMs`). Defaults are Kafka's.
 *
 * The table `LOG_CONFIG_KEYS` is the single declaration of every key: its wire name, its field,
 * its type, its validator and its documentation. `parseLogConfig` (wire strings → LogConfig) and
 * `logConfigToStrings` (LogConfig → wire strings) are both driven by it, and docs/OPERATIONS.md
 * lists the same keys.
 *
 * Kafka's "Long.MAX_VALUE" defaults (flush.messages, flush.ms) are Number.MAX_SAFE_INTEGER here;
 * an integer string beyond 2^53-1 (such as "9223372036854775807") parses to that same value.
 */
import { rillError } from '../protocol/errors.js';

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface LogConfig {
  /** Roll the active segment when it would grow past this many bytes. */
  segmentBytes: number;
  /** Roll the active segment when its first record is older than this. */
  segmentMs: number;
  /** Delete closed segments whose newest record is older than this; -1 = keep forever. */
  retentionMs: number;
  /** Delete the oldest closed segments while the log stays at least this big; -1 = no limit. */
  retentionBytes: number;
  cleanupPolicy: CleanupPolicy;
  /** How long a compacted tombstone (null value) stays readable. */
  deleteRetentionMs: number;
  /** Records newer than this are never compacted. */
  minCompactionLagMs: number;
  /** Largest record batch (including its 12-byte log overhead) accepted by append. */
  maxMessageBytes: number;
  /** Bytes of log between two offset-index entries. */
  indexIntervalBytes: number;
  /** fdatasync after this many messages; 1 = every append resolves only after fdatasync. */
  flushMessages: number;
  /** fdatasync when the last flush is older than this. */
  flushMs: number;
  messageTimestampType: TimestampType;
}

/** Kafka's Long.MAX_VALUE, as the largest integer a JS number holds exactly. */
export const LONG_MAX = Number.MAX_SAFE_INTEGER;
/** Kafka's Int.MAX_VALUE: segment positions are stored as u32, segment.bytes is an int. */
export const INT_MAX = 2 ** 31 - 1;
/** Kafka's lower bound for segment.bytes (a v0 record's overhead). */
export const SEGMENT_BYTES_MIN = 14;

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  deleteRetentionMs: DAY_MS,
  minCompactionLagMs: 0,
  maxMessageBytes: 1048588,
  indexIntervalBytes: 4096,
  flushMessages: LONG_MAX,
  flushMs: LONG_MAX,
  messageTimestampType: 'CreateTime',
});

type Validated = { ok: true; value: LogConfig[keyof LogConfig] } | { ok: false; expected: string };

export interface LogConfigKey {
  /** The wire/file name, e.g. 'retention.ms'. */
  readonly name: string;
  /** The LogConfig field. */
  readonly key: keyof LogConfig;
  readonly type: 'int' | 'long' | 'list' | 'string';
  /** Parses and range-checks a wire string. */
  readonly validate: (raw: string) => Validated;
  readonly doc: string;
}

function integer(min: number, max: number): (raw: string) => Validated {
  const expected = max === LONG_MAX ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
  return (raw) => {
    const s = raw.trim();
    if (!/^-?\d+$/.test(s)) return { ok: false, expected };
    let n = Number(s);
    // Kafka's Long.MAX_VALUE and friends: clamp to the largest exact JS integer.
    if (n > LONG_MAX) n = LONG_MAX;
    if (n < -LONG_MAX) return { ok: false, expected };
    if (n < min || n > max) return { ok: false, expected };
    return { ok: true, value: n };
  };
}

function oneOf(values: readonly string[]): (raw: string) => Validated {
  return (raw) => {
    const s = raw.trim();
    if ((values as readonly string[]).includes(s)) return { ok: true, value: s as LogConfig[keyof LogConfig] };
    return { ok: false, expected: `one of ${values.join(', ')}` };
  };
}

function cleanupPolicy(raw: string): Validated {
  const parts = raw.split(',').map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0);
  const set = new Set(parts);
  const expected = "'delete', 'compact' or 'compact,delete'";
  if (set.size === 0 || parts.length !== set.size) return { ok: false, expected };
  for (const p of set) if (p !== 'delete' && p !== 'compact') return { ok: false, expected };
  const value: CleanupPolicy = set.size === 2 ? 'compact,delete' : set.has('compact') ? 'compact' : 'delete';
  return { ok: true, value };
}

export const LOG_CONFIG_KEYS: readonly LogConfigKey[] = Object.freeze([
  { name: 'segment.bytes', key: 'segmentBytes', type: 'int', validate: integer(SEGMENT_BYTES_MIN, INT_MAX), doc: 'Roll the active segment when appending a batch would grow it past this size.' },
  { name: 'segment.ms', key: 'segmentMs', type: 'long', validate: integer(1, LONG_MAX), doc: 'Roll the active segment when its first record is older than this, even if it is not full.' },
  { name: 'retention.ms', key: 'retentionMs', type: 'long', validate: integer(-1, LONG_MAX), doc: 'Delete closed segments whose newest record timestamp is older than this; -1 keeps them forever.' },
  { name: 'retention.bytes', key: 'retentionBytes', type: 'long', validate: integer(-1, LONG_MAX), doc: 'Delete the oldest closed segments while the partition stays at least this big; -1 means no size limit.' },
  { name: 'cleanup.policy', key: 'cleanupPolicy', type: 'list', validate: cleanupPolicy, doc: "'delete' (retention), 'compact' (keep the latest record per key) or 'compact,delete' (both)." },
  { name: 'delete.retention.ms', key: 'deleteRetentionMs', type: 'long', validate: integer(0, LONG_MAX), doc: 'How long a tombstone (null value) stays readable in a compacted partition before compaction drops it.' },
  { name: 'min.compaction.lag.ms', key: 'minCompactionLagMs', type: 'long', validate: integer(0, LONG_MAX), doc: 'A segment is compacted only once its newest record is at least this old.' },
  { name: 'max.message.bytes', key: 'maxMessageBytes', type: 'int', validate: integer(0, INT_MAX), doc: 'Largest record batch accepted, including its 12-byte log overhead (baseOffset + batchLength).' },
  { name: 'index.interval.bytes', key: 'indexIntervalBytes', type: 'int', validate: integer(0, INT_MAX), doc: 'Bytes of log between two sparse offset-index (and time-index) entries.' },
  { name: 'flush.messages', key: 'flushMessages', type: 'long', validate: integer(1, LONG_MAX), doc: 'fdatasync once this many messages are unflushed; the append that crosses it resolves after the fdatasync. 1 = flush always (group-committed).' },
  { name: 'flush.ms', key: 'flushMs', type: 'long', validate: integer(0, LONG_MAX), doc: 'fdatasync in the background when unflushed data is older than this.' },
  { name: 'message.timestamp.type', key: 'messageTimestampType', type: 'string', validate: oneOf(['CreateTime', 'LogAppendTime']), doc: "'CreateTime' keeps the producer's timestamps; 'LogAppendTime' stamps every batch with the broker's clock at append." },
] satisfies LogConfigKey[]);

const BY_NAME = new Map(LOG_CONFIG_KEYS.map((k) => [k.name, k]));

/** The table entry for a wire name, or undefined for a key that is not a log config. */
export function logConfigKey(name: string): LogConfigKey | undefined {
  return BY_NAME.get(name);
}

/**
 * Applies wire-named overrides on top of `base` (default: Kafka's defaults). Throws
 * INVALID_CONFIG naming the key, what it expects and what it got, e.g.
 * "retention.ms: expected an integer >= -1, got 'abc'". Unknown keys are refused too.
 */
export function parseLogConfig(overrides: Record<string, string>, base: LogConfig = DEFAULT_LOG_CONFIG): LogConfig {
  const cfg: LogConfig = { ...base };
  for (const [name, raw] of Object.entries(overrides)) {
    const entry = BY_NAME.get(name);
    if (entry === undefined) throw rillError('INVALID_CONFIG', `${name}: unknown log config`);
    if (typeof raw !== 'string') throw rillError('INVALID_CONFIG', `${name}: expected a string value, got ${typeof raw}`);
    const r = entry.validate(raw);
    if (!r.ok) throw rillError('INVALID_CONFIG', `${name}: expected ${r.expected}, got '${raw}'`);
    (cfg as unknown as Record<string, unknown>)[entry.key] = r.value;
  }
  return cfg;
}

/** Checks every field of an already-built LogConfig against the same validators. */
export function validateLogConfig(cfg: LogConfig): LogConfig {
  for (const entry of LOG_CONFIG_KEYS) {
    const value = cfg[entry.key];
    const r = entry.validate(String(value));
    if (!r.ok || (typeof value === 'number' && !Number.isSafeInteger(value))) {
      throw rillError('INVALID_CONFIG', `${entry.name}: expected ${r.ok ? 'an integer' : r.expected}, got '${String(value)}'`);
    }
  }
  return cfg;
}

/** The wire form of every key, e.g. { 'retention.ms': '604800000', ... }. */
export function logConfigToStrings(cfg: LogConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of LOG_CONFIG_KEYS) out[entry.name] = String(cfg[entry.key]);
  return out;
}

export function isCompacted(cfg: LogConfig): boolean {
  return cfg.cleanupPolicy !== 'delete';
}

export function isDeleteRetained(cfg: LogConfig): boolean {
  return cfg.cleanupPolicy !== 'compact';
}
