/**
 * The consumer's option checks and defaults: every bad option is refused when the consumer
 * is made, with the option's name in the error.
 */
import type { AutoOffsetReset, ConsumerConfig } from '../types.js';
import type { GroupSettings } from './group/group-session.js';

export const DEFAULT_SESSION_TIMEOUT_MS = 45_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
export const DEFAULT_AUTO_COMMIT_INTERVAL_MS = 5_000;
export const DEFAULT_LAG_INTERVAL_MS = 5_000;
/**
 * The broker parks a fetch with nothing to return this long. Long polls have sockets of their
 * own (long-poll-connections.ts), so it delays nothing but the answer to an idle partition.
 */
export const DEFAULT_MAX_WAIT_MS = 500;
/** The broker answers as soon as any requested partition has a byte: data never waits. */
export const DEFAULT_MIN_BYTES = 1;
export const DEFAULT_MAX_BYTES_PER_PARTITION = 1024 * 1024;
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_PREFETCH_BYTES = 32 * 1024 * 1024;
/** Kafka's limit on a group id. */
const MAX_GROUP_ID_LENGTH = 255;

export function validatePartition(tp: { topic: string; partition: number }): void {
  if (typeof tp.topic !== 'string' || tp.topic.length === 0) throw new RangeError('a topic name is required');
  if (!Number.isInteger(tp.partition) || tp.partition < 0) throw new RangeError(`partition must be a non-negative integer, got ${tp.partition}`);
}

export function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

export function nonNegative(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

export function groupSettingsOf(config: ConsumerConfig): GroupSettings {
  const groupId = config.groupId!;
  if (typeof groupId !== 'string' || groupId.length === 0 || groupId.length > MAX_GROUP_ID_LENGTH) {
    throw new RangeError(`groupId must be a string of 1..${MAX_GROUP_ID_LENGTH} characters`);
  }
  if (config.fromBeginning !== undefined && typeof config.fromBeginning !== 'boolean') throw new TypeError('fromBeginning must be a boolean');
  if (config.autoCommit !== undefined && typeof config.autoCommit !== 'boolean') throw new TypeError('autoCommit must be a boolean');
  if (config.onAssign !== undefined && typeof config.onAssign !== 'function') throw new TypeError('onAssign must be a function');
  if (config.onRevoke !== undefined && typeof config.onRevoke !== 'function') throw new TypeError('onRevoke must be a function');
  return {
    groupId,
    fromBeginning: config.fromBeginning ?? false,
    sessionTimeoutMs: positive('sessionTimeoutMs', config.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS),
    heartbeatIntervalMs: positive('heartbeatIntervalMs', config.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS),
    rebalanceTimeoutMs: config.rebalanceTimeoutMs === undefined ? 0 : positive('rebalanceTimeoutMs', config.rebalanceTimeoutMs),
    autoCommit: config.autoCommit ?? true,
    autoCommitIntervalMs: positive('autoCommitIntervalMs', config.autoCommitIntervalMs ?? DEFAULT_AUTO_COMMIT_INTERVAL_MS),
    onAssign: config.onAssign,
    onRevoke: config.onRevoke,
  };
}

export interface FetchSettings {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  maxBytesPerPartition: number;
  maxPrefetchBytes: number;
  autoOffsetReset: AutoOffsetReset;
}

/** The fetcher's options, checked, with their defaults. */
export function fetchSettingsOf(config: ConsumerConfig): FetchSettings {
  const maxBytesPerPartition = positive('maxBytesPerPartition', config.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION);
  const maxBytes = positive('maxBytes', config.maxBytes ?? DEFAULT_MAX_BYTES);
  const autoOffsetReset = config.autoOffsetReset ?? 'earliest';
  if (autoOffsetReset !== 'earliest' && autoOffsetReset !== 'latest' && autoOffsetReset !== 'none') {
    throw new RangeError(`autoOffsetReset must be 'earliest', 'latest' or 'none', got '${String(autoOffsetReset)}'`);
  }
  return {
    maxWaitMs: nonNegative('maxWaitMs', config.maxWaitMs ?? DEFAULT_MAX_WAIT_MS),
    minBytes: nonNegative('minBytes', config.minBytes ?? DEFAULT_MIN_BYTES),
    maxBytes,
    maxBytesPerPartition: Math.min(maxBytesPerPartition, maxBytes),
    maxPrefetchBytes: positive('maxPrefetchBytes', config.maxPrefetchBytes ?? DEFAULT_MAX_PREFETCH_BYTES),
    autoOffsetReset,
  };
}
