/**
 * The SDK's public types. Option names are camelCase with units last (`lingerMs`,
 * `batchBytes`); offsets and timestamps are JS numbers (safe integers, see docs/PROTOCOL.md).
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { MetricsConfig } from './metrics.js';

export interface RetryOptions {
  /** Attempts after the first one; 0 disables retrying. */
  retries: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export interface RillConfig {
  /** Bootstrap brokers as `host:port`; any one of them is enough to discover the cluster. */
  brokers: string[];
  clientId?: string;
  /** How long a TCP connect plus the ApiVersions handshake may take. Default 10,000. */
  connectionTimeoutMs?: number;
  /** How long to wait for any response (a long-polling fetch adds its maxWaitMs). Default 30,000. */
  requestTimeoutMs?: number;
  /** Retry policy for retriable errors (and for reconnect backoff). */
  retry?: Partial<RetryOptions>;
  logger?: Logger;
  /** Expose client metrics in this prom-client registry (client/metrics.ts). Default: none, at no cost. */
  metrics?: MetricsConfig;
  /**
   * TLS to brokers whose listener is SSL (as KafkaJS's `ssl`): `true` = node's defaults (the
   * broker's certificate checked against node's CA list and the host name), or node
   * tls.ConnectionOptions: `ca` (the CA that signed the brokers' certificates), `cert` + `key`
   * (a client certificate, for ssl.client.auth), `servername`, `rejectUnauthorized`. Every
   * connection the client opens uses it. Default: plain TCP.
   */
  ssl?: boolean | TlsConnectionOptions;
}

/** `-1` and `'all'` are the same thing: acked once the broker has the batch per its flush policy. */
export type Acks = -1 | 0 | 1 | 'all';
/** Kafka's compression.type values: the codec of every batch a producer sends. */
export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export type HeaderValue = Buffer | string;
export type MessageHeaders = Record<string, HeaderValue>;

export interface Message {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: MessageHeaders;
  /** Create time in ms since the epoch; default Date.now() at send(). */
  timestamp?: number;
  /** Explicit partition; otherwise the partitioner picks one. */
  partition?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  /** Per-send override of the producer's acks (only -1/'all' on an idempotent producer). */
  acks?: Acks;
}

/** Options of one `send()`. */
export interface SendOptions {
  /**
   * Aborting rejects this send() with the signal's reason (an AbortError by default). It only
   * stops the waiting: records already in a batch that was sent are not un-sent (they may still
   * be written); records still in a batch not yet sent, or not yet appended, are dropped.
   */
  signal?: AbortSignal;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The message's offset; -1 when acks is 0 (nobody answered) or the broker only said "duplicate". */
  offset: number;
}

export interface PartitionerArgs {
  topic: string;
  partitionCount: number;
  key: Buffer | null;
  value: Buffer | null;
}
export type Partitioner = (args: PartitionerArgs) => number;

export interface ProducerConfig {
  /** How long a batch waits for more records before it is sent. Default 5. */
  lingerMs?: number;
  /** A batch is sent once it holds this many bytes. Default 1 MiB. */
  batchBytes?: number;
  /** Total bytes of records buffered or in flight; send() waits while it is full. Default 32 MiB. */
  bufferMemoryBytes?: number;
  /** Longest send() waits for room in bufferMemoryBytes before failing with BufferExhaustedError. Default 60,000. */
  maxBlockMs?: number;
  acks?: Acks;
  /** Default true (when acks is all): retries can neither duplicate nor reorder. */
  idempotent?: boolean;
  /** Codec of the batches sent (Kafka's compression.type; framings in docs/PROTOCOL.md). Default 'none'. */
  compression?: CompressionType;
  /** Unacknowledged batches per partition; at most 5 when idempotent. Default 5. */
  maxInFlightRequests?: number;
  retry?: Partial<RetryOptions>;
  /**
   * Upper bound on the time from a record's batch being created to its send() settling
   * (Kafka's delivery.timeout.ms): retriable failures (a leader change, NOT_ENOUGH_REPLICAS,
   * a lost connection) are retried until `retry.retries` or this, whichever comes first.
   * Default 120,000.
   */
  deliveryTimeoutMs?: number;
  partitioner?: Partitioner;
  /** Create unknown topics on first send (the broker's auto.create.topics.enable decides). Default true. */
  allowAutoTopicCreation?: boolean;
}

/** Where a partition starts reading. */
export type OffsetSpec = number | 'earliest' | 'latest' | { timestamp: number };

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: OffsetSpec;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitions {
  topic: string;
  /** Every assigned partition of the topic when omitted. */
  partitions?: number[];
}

/** What a consumer reads. key/value/header values are Buffers (views of the fetched bytes). */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null>;
  timestamp: number;
}

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface ConsumerConfig {
  /** Bytes a fetch asks for per partition (a single larger batch is still returned). Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Bytes a fetch response may carry in total. Default 16 MiB. */
  maxBytes?: number;
  /** How long the broker parks a fetch waiting for minBytes. Default 500. */
  maxWaitMs?: number;
  minBytes?: number;
  /** Decoded-but-undelivered record bytes across partitions; fetching stops above it. Default 32 MiB. */
  maxPrefetchBytes?: number;
  /**
   * What to do when a fetch position falls outside the log (e.g. retention deleted it):
   * 'earliest' (default) or 'latest' jump there, 'none' raises OFFSET_OUT_OF_RANGE.
   * An explicit numeric offset given to assign()/seek() that is out of range always raises.
   */
  autoOffsetReset?: AutoOffsetReset;
  /**
   * Request retries and reconnect backoff; with a groupId or a deadLetterTopic also how often
   * and how patiently a failing handler is retried (docs/CLIENT.md, "Consumer groups").
   */
  retry?: Partial<RetryOptions>;

  // ---- consumer groups (subscribe()); docs/CLIENT.md "## Consumer groups" ----

  /** Joins this consumer group on subscribe(); without it the consumer is assigned manually. */
  groupId?: string;
  /** Where a partition without a committed offset starts: true = earliest, false (default) = latest. */
  fromBeginning?: boolean;
  /** Sent to the coordinator: silent this long, the member is expelled. Default 45,000 (1,000..1,800,000). */
  sessionTimeoutMs?: number;
  /** Heartbeat interval until the coordinator's first answer; its `heartbeatIntervalMs` wins after that. Default 3,000. */
  heartbeatIntervalMs?: number;
  /** How long the member may take to give up revoked partitions before it is expelled. Default: the broker's (300,000). */
  rebalanceTimeoutMs?: number;
  /** Commit processed offsets every autoCommitIntervalMs, before giving partitions up, and on close(). Default true. */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Messages whose eachMessage still fails after the retries go here (with rill.dlq.* headers), and consumption moves on. */
  deadLetterTopic?: string;
  /** Partitions whose messages are handled at the same time by run() (each partition in order). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Called with newly assigned partitions before they are fetched. */
  onAssign?: (partitions: TopicPartition[]) => Promise<void> | void;
  /**
   * Called with partitions the consumer gives up (rebalance, close()) or lost (fenced, session
   * expired), after their in-flight messages finished and (with autoCommit) were committed,
   * before the coordinator is told.
   */
  onRevoke?: (partitions: RevokedPartition[]) => Promise<void> | void;
  /** How often the 'lag' event fires while someone listens to it. Default 5,000. */
  lagIntervalMs?: number;
}

/** A partition given up or lost, with the offset after its last processed message (null when none). */
export interface RevokedPartition {
  topic: string;
  partition: number;
  /** The next offset to read: what a commit of it stores. */
  offset: number | null;
  /** true when the partition was lost (fenced or session expired) rather than handed over. */
  lost: boolean;
}

/** What `subscribe()` takes: topic names, a RegExp (whole-name match), or both with a start rule. */
export type SubscriptionTopics = string | RegExp | Array<string | RegExp>;
export interface SubscribeOptions {
  topics: SubscriptionTopics;
  /** Overrides the consumer's fromBeginning for partitions without a committed offset. */
  fromBeginning?: boolean;
}

/** An offset to commit: `offset` is the next message to read (the one after the last processed). */
export interface TopicPartitionCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
}

export interface GroupJoinEvent {
  groupId: string;
  memberId: string;
  memberEpoch: number;
}

export interface RebalanceEvent {
  groupId: string;
  memberEpoch: number;
  assigned: TopicPartition[];
  revoked: TopicPartition[];
  /** The revoked partitions were lost (fenced, unknown member, session expired): nothing was committed. */
  lost: boolean;
}

export interface CommitEvent {
  groupId: string;
  offsets: Array<{ topic: string; partition: number; offset: number }>;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Offset of the next message to deliver (-1 while the start position is being looked up). */
  position: number;
  /** The log's high watermark from the last fetch response (-1 before any). */
  highWatermark: number;
  /** highWatermark - position, at least 0 (-1 when either is unknown). */
  lag: number;
}

export interface LagEvent {
  partitions: PartitionLag[];
}

/** The consumer's events (it is an EventEmitter). */
export interface ConsumerEventMap {
  'group.join': [GroupJoinEvent];
  rebalance: [RebalanceEvent];
  commit: [CommitEvent];
  lag: [LagEvent];
  error: [Error];
}

export interface Batch {
  topic: string;
  partition: number;
  highWatermark: number;
  messages: ConsumedMessage[];
  firstOffset(): number | null;
  lastOffset(): number | null;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: ConsumedMessage;
}

export interface EachBatchPayload {
  batch: Batch;
  /** Marks messages up to and including `offset` as processed (all are, once eachBatch resolves). */
  resolveOffset(offset: number): void;
  /** False once the consumer is stopping: a long eachBatch should return early. */
  isRunning(): boolean;
  /** True when the partition was seeked, paused or revoked after this batch was handed out. */
  isStale(): boolean;
}

export interface RunConfig {
  eachMessage?: (payload: EachMessagePayload) => Promise<void>;
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  /** Overrides the consumer's partitionsConsumedConcurrently for this run. */
  partitionsConsumedConcurrently?: number;
  /** Aborting it ends the run as stop() does: run() resolves after the handler in progress. */
  signal?: AbortSignal;
}

/** `consumer.iterate({ signal })`: aborting the signal ends the for-await loop (done, no error). */
export interface IterateOptions {
  signal?: AbortSignal;
}

/** `consumer.commit({ offsets, signal })`. */
export interface CommitOptions {
  /** Exactly these; without, every owned partition's processed offset that moved. */
  offsets?: TopicPartitionCommit[];
  /** Ends the wait with its reason; an OffsetCommit already sent may still land. */
  signal?: AbortSignal;
}

/** `consumer.close({ timeoutMs, signal })`: how long to wait for the handler in progress. */
export interface CloseOptions {
  /** Default max(30,000, requestTimeoutMs). */
  timeoutMs?: number;
  /** Aborting it stops the wait for the handler in progress at once. */
  signal?: AbortSignal;
}

export interface ITopicConfig {
  topic: string;
  /** -1 or omitted: the broker's num.partitions. */
  numPartitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
  /**
   * Replicas by hand, KafkaJS's shape: every partition 0..n-1 once, preferred leader first, all
   * lists of one length. numPartitions and replicationFactor follow from it (leave them out).
   */
  replicaAssignment?: Array<{ partition: number; replicas: number[] }>;
}

export interface PartitionDescription {
  partition: number;
  /** -1 when no replica can lead (offline); its offsets are then -1 too. */
  leader: number;
  leaderEpoch: number;
  /** Preferred leader first. */
  replicas: number[];
  /** In-sync replicas: fewer than `replicas` means under-replicated. */
  isr: number[];
  /** Replicas whose broker is down. */
  offlineReplicas: number[];
  logStartOffset: number;
  /** The high watermark: the end of what consumers can read. */
  logEndOffset: number;
}

export interface TopicDescription {
  name: string;
  isInternal: boolean;
  partitions: PartitionDescription[];
}

export interface ConfigDescription {
  name: string;
  value: string | null;
  isDefault: boolean;
  readOnly: boolean;
  source: 'default' | 'topic' | 'broker';
}

export interface PartitionOffsets {
  partition: number;
  /** The log end offset (the next offset to be written), as KafkaJS reports it. */
  offset: number;
  high: number;
  low: number;
}
