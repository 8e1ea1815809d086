/**
 * The ONE error table shared by broker and client.
 *
 * Codes follow Apache Kafka's numbering where the concept is the same, so operators can look a
 * code up in Kafka's documentation; rill's own codes start at 1000. The broker puts `code` into `errorCode` fields; the client
 * turns a non-zero code into a typed `RillError` subclass via `errorFromCode`.
 *
 * `retriable` means: the same request may succeed if sent again later (possibly after a
 * metadata refresh or a reconnect); the client's retry loops key off this flag only.
 */

export const ERRORS = {
  UNKNOWN_SERVER_ERROR: { code: -1, retriable: false, message: 'The server experienced an unexpected error when processing the request.' },
  NONE: { code: 0, retriable: false, message: 'No error.' },
  OFFSET_OUT_OF_RANGE: { code: 1, retriable: false, message: 'The requested offset is not within the range of offsets maintained by the server.' },
  CORRUPT_MESSAGE: { code: 2, retriable: true, message: 'The record batch failed its CRC check, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.' },
  UNKNOWN_TOPIC_OR_PARTITION: { code: 3, retriable: true, message: 'This server does not host this topic-partition.' },
  INVALID_FETCH_SIZE: { code: 4, retriable: false, message: 'The requested fetch size is invalid.' },
  LEADER_NOT_AVAILABLE: { code: 5, retriable: true, message: 'There is no leader for this topic-partition as we are in the middle of a leadership election.' },
  NOT_LEADER_OR_FOLLOWER: { code: 6, retriable: true, message: 'This server is not the leader for that topic-partition.' },
  REQUEST_TIMED_OUT: { code: 7, retriable: true, message: 'The request timed out.' },
  MESSAGE_TOO_LARGE: { code: 10, retriable: false, message: 'The request included a message larger than the max message size the server will accept.' },
  NETWORK_EXCEPTION: { code: 13, retriable: true, message: 'The server disconnected before a response was received.' },
  COORDINATOR_LOAD_IN_PROGRESS: { code: 14, retriable: true, message: 'The coordinator is loading and hence can\'t process requests.' },
  COORDINATOR_NOT_AVAILABLE: { code: 15, retriable: true, message: 'The coordinator is not available.' },
  NOT_COORDINATOR: { code: 16, retriable: true, message: 'This is not the correct coordinator.' },
  INVALID_TOPIC_EXCEPTION: { code: 17, retriable: false, message: 'The request attempted to perform an operation on an invalid topic.' },
  RECORD_LIST_TOO_LARGE: { code: 18, retriable: false, message: 'The request included a record batch larger than the max message size the server will accept.' },
  INVALID_REQUIRED_ACKS: { code: 21, retriable: false, message: 'Produce request specified an invalid value for required acks.' },
  NOT_ENOUGH_REPLICAS: { code: 19, retriable: true, message: 'Messages are rejected since there are fewer in-sync replicas than required.' },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { code: 20, retriable: true, message: 'Messages are written to the log, but to fewer in-sync replicas than required.' },
  ILLEGAL_GENERATION: { code: 22, retriable: false, message: 'Specified group generation id is not valid.' },
  INCONSISTENT_GROUP_PROTOCOL: { code: 23, retriable: false, message: "The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list." },
  INVALID_GROUP_ID: { code: 24, retriable: false, message: 'The configured groupId is invalid.' },
  UNKNOWN_MEMBER_ID: { code: 25, retriable: false, message: 'The coordinator is not aware of this member.' },
  INVALID_SESSION_TIMEOUT: { code: 26, retriable: false, message: 'The session timeout is not within the range allowed by the broker.' },
  REBALANCE_IN_PROGRESS: { code: 27, retriable: false, message: 'The group is rebalancing, so a rejoin is needed.' },
  INVALID_COMMIT_OFFSET_SIZE: { code: 28, retriable: false, message: 'The committing offset data size is not valid.' },
  INVALID_TIMESTAMP: { code: 32, retriable: false, message: 'The timestamp of the message is out of acceptable range.' },
  UNSUPPORTED_VERSION: { code: 35, retriable: false, message: 'The version of API is not supported.' },
  TOPIC_ALREADY_EXISTS: { code: 36, retriable: false, message: 'Topic with this name already exists.' },
  INVALID_PARTITIONS: { code: 37, retriable: false, message: 'Number of partitions is below 1.' },
  INVALID_REPLICATION_FACTOR: { code: 38, retriable: false, message: 'Replication factor is below 1 or larger than the number of available brokers.' },
  INVALID_REPLICA_ASSIGNMENT: { code: 39, retriable: false, message: 'Replica assignment is invalid.' },
  INVALID_CONFIG: { code: 40, retriable: false, message: 'Configuration is invalid.' },
  NOT_CONTROLLER: { code: 41, retriable: true, message: 'This is not the correct controller for this cluster.' },
  INVALID_REQUEST: { code: 42, retriable: false, message: 'This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker.' },
  POLICY_VIOLATION: { code: 44, retriable: false, message: 'Request parameters do not satisfy the configured policy.' },
  OUT_OF_ORDER_SEQUENCE_NUMBER: { code: 45, retriable: false, message: 'The broker received an out of order sequence number.' },
  DUPLICATE_SEQUENCE_NUMBER: { code: 46, retriable: false, message: 'The broker received a duplicate sequence number.' },
  INVALID_PRODUCER_EPOCH: { code: 47, retriable: false, message: 'Producer attempted to produce with an old epoch.' },
  KAFKA_STORAGE_ERROR: { code: 56, retriable: true, message: 'Disk error when trying to access log file on the disk.' },
  UNKNOWN_PRODUCER_ID: { code: 59, retriable: false, message: 'The broker could not locate the producer metadata associated with the producer id.' },
  NON_EMPTY_GROUP: { code: 68, retriable: false, message: 'The group is not empty.' },
  GROUP_ID_NOT_FOUND: { code: 69, retriable: false, message: 'The group id does not exist.' },
  FENCED_LEADER_EPOCH: { code: 74, retriable: true, message: 'The leader epoch in the request is older than the epoch on the broker.' },
  UNKNOWN_LEADER_EPOCH: { code: 75, retriable: true, message: 'The leader epoch in the request is newer than the epoch on the broker.' },
  UNSUPPORTED_COMPRESSION_TYPE: { code: 76, retriable: false, message: 'The requesting client does not support the compression type of given partition.' },
  MEMBER_ID_REQUIRED: { code: 79, retriable: false, message: 'The group member needs to have a valid member id before actually entering a consumer group.' },
  PREFERRED_LEADER_NOT_AVAILABLE: { code: 80, retriable: true, message: 'The preferred leader was not available.' },
  GROUP_MAX_SIZE_REACHED: { code: 81, retriable: false, message: 'The consumer group has reached its max size.' },
  FENCED_INSTANCE_ID: { code: 82, retriable: false, message: 'The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.' },
  ELIGIBLE_LEADERS_NOT_AVAILABLE: { code: 83, retriable: true, message: 'Eligible topic partition leaders are not available.' },
  // Not retriable here (Kafka files it under InvalidMetadataException): the partition is already
  // led as asked, so asking again changes nothing.
  ELECTION_NOT_NEEDED: { code: 84, retriable: false, message: 'Leader election not needed for topic partition.' },
  INVALID_RECORD: { code: 87, retriable: false, message: 'This record has failed the validation on broker and hence will be rejected.' },
  THROTTLING_QUOTA_EXCEEDED: { code: 89, retriable: true, message: 'The throttling quota has been exceeded.' },
  FENCED_MEMBER_EPOCH: { code: 110, retriable: false, message: 'The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin.' },
  INCONSISTENT_CLUSTER_ID: { code: 104, retriable: false, message: 'The clusterId in the request does not match that found on the server.' },
  DUPLICATE_BROKER_REGISTRATION: { code: 101, retriable: false, message: 'This broker id is already registered by another live broker.' },
  UNSUPPORTED_ASSIGNOR: { code: 112, retriable: false, message: 'The assignor or its version range is not supported by the consumer group.' },
  STALE_MEMBER_EPOCH: { code: 113, retriable: false, message: 'The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API.' },
  // rill's own codes, from 1000 up (as rill's own API keys are), for conditions Kafka has no code for.
  DATA_DIR_LOCKED: { code: 1000, retriable: false, message: 'The data dir is locked by another broker.' },
  // Client-side only (Kafka's clients raise SslAuthenticationException, which has no wire code).
  TLS_HANDSHAKE_FAILED: { code: 1001, retriable: false, message: "The TLS handshake with the broker failed: its certificate is not trusted or names another host, or it refused this client's certificate or TLS version." },
} as const;

export type ErrorName = keyof typeof ERRORS;

export interface ErrorEntry {
  readonly name: ErrorName;
  readonly code: number;
  readonly retriable: boolean;
  readonly message: string;
}

/** `ErrorCode.OFFSET_OUT_OF_RANGE === 1`, for use in handlers and tests. */
export const ErrorCode = Object.fromEntries(
  Object.entries(ERRORS).map(([name, e]) => [name, e.code]),
) as { readonly [K in ErrorName]: (typeof ERRORS)[K]['code'] };

const BY_CODE = new Map<number, ErrorEntry>();
for (const [name, e] of Object.entries(ERRORS)) {
  BY_CODE.set(e.code, { name: name as ErrorName, ...e });
}

export function errorEntry(code: number): ErrorEntry {
  return BY_CODE.get(code) ?? { name: 'UNKNOWN_SERVER_ERROR', code, retriable: false, message: `Unknown error code ${code}.` };
}

export interface ErrorContext {
  topic?: string;
  partition?: number;
  /** Every failing partition of a multi-partition request, not only the first. */
  partitions?: Array<{ topic: string; partition: number; errorCode: number }>;
  cause?: unknown;
}

/**
 * Base class of every error rill raises for a protocol-level condition. `code` and `retriable`
 * come from the table; `name` is the table name (e.g. 'OFFSET_OUT_OF_RANGE').
 */
export class RillError extends Error {
  readonly code: number;
  readonly errorName: ErrorName;
  readonly retriable: boolean;
  readonly topic?: string;
  readonly partition?: number;
  readonly partitions?: ErrorContext['partitions'];

  constructor(code: number, message?: string, ctx: ErrorContext = {}) {
    const entry = errorEntry(code);
    super(message ?? entry.message, ctx.cause !== undefined ? { cause: ctx.cause } : undefined);
    this.name = 'RillError';
    this.code = code;
    this.errorName = entry.name;
    this.retriable = entry.retriable;
    if (ctx.topic !== undefined) this.topic = ctx.topic;
    if (ctx.partition !== undefined) this.partition = ctx.partition;
    if (ctx.partitions !== undefined) this.partitions = ctx.partitions;
  }

  /** Convenience: `err.is('NOT_COORDINATOR')`. */
  is(name: ErrorName): boolean {
    return this.errorName === name;
  }
}

/** Build the error for a code, e.g. from a response's `errorCode`. */
export function errorFromCode(code: number, message?: string, ctx?: ErrorContext): RillError {
  return new RillError(code, message, ctx);
}

/** Shorthand used all over the broker and storage: `throw rillError('OFFSET_OUT_OF_RANGE', '...')`. */
export function rillError(name: ErrorName, message?: string, ctx?: ErrorContext): RillError {
  return new RillError(ERRORS[name].code, message, ctx);
}

export function isRetriable(err: unknown): boolean {
  return err instanceof RillError && err.retriable;
}

/** Map any thrown thing to a wire error code: RillErrors keep theirs, everything else is -1. */
export function codeOf(err: unknown): number {
  return err instanceof RillError ? err.code : ERRORS.UNKNOWN_SERVER_ERROR.code;
}

/**
 * Client-side conditions that never travel on the wire (a connection closed, a frame too big,
 * a request timed out locally). They still carry a table code so retry logic stays uniform.
 */
export class ConnectionError extends RillError {
  constructor(message: string, ctx?: ErrorContext, code: number = ERRORS.NETWORK_EXCEPTION.code) {
    super(code, message, ctx);
    this.name = 'ConnectionError';
  }
}

/**
 * A TLS failure that retrying cannot fix (client/tls-errors.ts): an untrusted or mismatched
 * broker certificate, a refused client certificate or TLS version. A ConnectionError that is
 * not retriable (TLS_HANDSHAKE_FAILED).
 */
export class TlsHandshakeError extends ConnectionError {
  constructor(message: string, ctx?: ErrorContext) {
    super(message, ctx, ERRORS.TLS_HANDSHAKE_FAILED.code);
    this.name = 'TlsHandshakeError';
  }
}

export class TimeoutError extends RillError {
  constructor(message: string, ctx?: ErrorContext) {
    super(ERRORS.REQUEST_TIMED_OUT.code, message, ctx);
    this.name = 'TimeoutError';
  }
}

/** Thrown by the frame decoder for a frame bigger than its configured maximum. */
export class FrameTooLargeError extends RillError {
  readonly sizeBytes: number;
  readonly maxBytes: number;
  constructor(sizeBytes: number, maxBytes: number) {
    super(ERRORS.INVALID_REQUEST.code, `Frame of ${sizeBytes} bytes exceeds the maximum of ${maxBytes} bytes`);
    this.name = 'FrameTooLargeError';
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}
