/**
 * The SDK's public types. Option names are camelCase with units last (`lingerMs`,
 * `batchBytes`); offsets and timestamps are JS numbers (safe integers, see docs/PROTOCOL.md).
 */
import type { Logger } from 'pino';

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
}

/** `-1` and `'all'` are the same thing: acked once the broker has the batch per its flush policy. */
export type Acks = -1 | 0 | 1 | 'all';
export type CompressionType = 'none' | 'gzip';
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
  acks?: Acks;
  /** Default true (when acks is all): retries can neither duplicate nor reorder. */
  idempotent?: boolean;
  compression?: CompressionType;
  /** Unacknowledged batches per partition; at most 5 when idempotent. Default 5. */
  maxInFlightRequests?: number;
  retry?: Partial<RetryOptions>;
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
  retry?: Partial<RetryOptions>;
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
}

export interface ITopicConfig {
  topic: string;
  /** -1 or omitted: the broker's num.partitions. */
  numPartitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  logStartOffset: number;
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
