/**
 * The client's view of the shared error table: every non-zero `errorCode` in a response
 * becomes a `RillError` (from protocol/errors.ts) carrying the code, `retriable` and which
 * topics/partitions failed — all of them, not only the first.
 */
import { ErrorCode, RillError, TimeoutError, errorEntry, errorFromCode, rillError } from '../protocol/errors.js';

export {
  ConnectionError,
  TlsHandshakeError,
  ERRORS,
  ErrorCode,
  FrameTooLargeError,
  RillError,
  TimeoutError,
  codeOf,
  errorEntry,
  errorFromCode,
  isRetriable,
  rillError,
} from '../protocol/errors.js';
export type { ErrorContext, ErrorEntry, ErrorName } from '../protocol/errors.js';

interface TopicsWithPartitionErrors {
  name: string;
  partitions: ReadonlyArray<{ partition: number; errorCode: number }>;
}

/**
 * One error for every failing partition of a response, or null when none failed. The error's
 * code is the first failure's; `partitions` lists them all and the message names each one.
 */
export function partitionErrors(topics: ReadonlyArray<TopicsWithPartitionErrors>, what: string): RillError | null {
  const failed: Array<{ topic: string; partition: number; errorCode: number }> = [];
  for (const t of topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE) failed.push({ topic: t.name, partition: p.partition, errorCode: p.errorCode });
    }
  }
  if (failed.length === 0) return null;
  const first = failed[0]!;
  const list = failed.map((f) => `${f.topic}[${f.partition}] ${errorEntry(f.errorCode).name}`).join(', ');
  return errorFromCode(first.errorCode, `${what} failed for ${failed.length} partition(s): ${list}`, {
    topic: first.topic,
    partition: first.partition,
    partitions: failed,
  });
}

interface NamedResult {
  name: string;
  errorCode: number;
  errorMessage?: string | null;
}

/**
 * One error for every failing topic-level result (CreateTopics, DeleteTopics, configs), or
 * null. The message names each topic with the broker's message, e.g.
 * `topic 'x': Topic with this name already exists.`
 */
export function topicErrors(results: ReadonlyArray<NamedResult>, kind = 'topic'): RillError | null {
  const failed = results.filter((r) => r.errorCode !== ErrorCode.NONE);
  if (failed.length === 0) return null;
  const first = failed[0]!;
  const message = failed
    .map((r) => {
      const text = r.errorMessage ?? errorEntry(r.errorCode).message;
      // The broker often names the topic itself; do not say it twice.
      return text.includes(`'${r.name}'`) ? text : `${kind} '${r.name}': ${text}`;
    })
    .join('; ');
  return errorFromCode(first.errorCode, message, { topic: first.name });
}

/** UNKNOWN_TOPIC_OR_PARTITION worded for a person: `topic 'x' does not exist`. */
export function unknownTopic(topic: string): RillError {
  return rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' does not exist`, { topic });
}

/** Errors after which cached leaders may be wrong: refresh metadata before retrying. */
export function needsMetadataRefresh(err: unknown): boolean {
  if (!(err instanceof RillError)) return false;
  switch (err.errorName) {
    case 'UNKNOWN_TOPIC_OR_PARTITION':
    case 'NOT_LEADER_OR_FOLLOWER':
    case 'LEADER_NOT_AVAILABLE':
    case 'FENCED_LEADER_EPOCH':
    case 'NETWORK_EXCEPTION':
    case 'REQUEST_TIMED_OUT':
      return true;
    default:
      return false;
  }
}

/**
 * Partition error codes after which the cached leader is wrong. FENCED_LEADER_EPOCH: our epoch
 * is older than the broker's, so the leader moved. Not UNKNOWN_LEADER_EPOCH: there our
 * metadata is newer than the broker's, which has yet to learn of the change; the caller backs
 * off and retries with the metadata it has.
 */
export function codeNeedsMetadataRefresh(code: number): boolean {
  return (
    code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
    code === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
    code === ErrorCode.LEADER_NOT_AVAILABLE ||
    code === ErrorCode.FENCED_LEADER_EPOCH
  );
}

/** The error a caller's AbortSignal produced, as an Error (DOMException-like reasons kept). */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(typeof reason === 'string' ? reason : 'The operation was aborted');
  err.name = 'AbortError';
  return err;
}

/**
 * A fetched record batch the consumer cannot decode: its CRC fails, or its records are
 * malformed behind a valid CRC (written before the broker checked record framing, or damaged
 * on disk). The consumer delivers every record before it, then raises this once for that
 * partition, which stays stopped until the app seeks — past it, to `lastOffset + 1`, to skip it.
 * `lastOffset` comes from the batch's header; when the header itself is unreadable it is
 * `baseOffset`.
 */
export class CorruptBatchError extends RillError {
  declare readonly topic: string;
  declare readonly partition: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** What is wrong with the batch, e.g. "record 0: length 14 does not fit the 13 bytes left". */
  readonly reason: string;

  constructor(topic: string, partition: number, baseOffset: number, lastOffset: number, reason: string) {
    super(ErrorCode.CORRUPT_MESSAGE, `${corruptBatchSummary(topic, partition, baseOffset, lastOffset, reason)}; seek to offset ${lastOffset + 1} to skip it`, { topic, partition });
    this.name = 'CorruptBatchError';
    this.baseOffset = baseOffset;
    this.lastOffset = lastOffset;
    this.reason = reason;
  }

  /** The message without the advice on how to skip the batch (callers word their own). */
  get summary(): string {
    return corruptBatchSummary(this.topic, this.partition, this.baseOffset, this.lastOffset, this.reason);
  }
}

function corruptBatchSummary(topic: string, partition: number, baseOffset: number, lastOffset: number, reason: string): string {
  return `topic ${topic} partition ${partition}: record batch at offsets ${baseOffset}..${lastOffset} is corrupt: ${reason}`;
}

/**
 * The producer's buffer (`bufferMemoryBytes`) stayed full for `maxBlockMs`: send() gave up
 * waiting for room (Java's BufferExhaustedException, a TimeoutException). Nothing of that
 * send() that was not yet in a batch is sent.
 */
export class BufferExhaustedError extends TimeoutError {
  constructor(message: string) {
    super(message);
    this.name = 'BufferExhaustedError';
  }
}

/**
 * A connection's queue of requests waiting to be written (for a free in-flight slot or for
 * the socket to drain) is full: the broker or the network is not keeping up. Retriable.
 */
export class RequestQueueFullError extends TimeoutError {
  readonly queuedRequests: number;
  constructor(message: string, queuedRequests: number) {
    super(message);
    this.name = 'RequestQueueFullError';
    this.queuedRequests = queuedRequests;
  }
}
