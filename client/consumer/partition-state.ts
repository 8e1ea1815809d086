/**
 * What the consumer knows about one assigned partition (PartitionState: fetch position,
 * decoded chunks waiting for the app, processing and error state), and the chunk of
 * messages one fetch answer decodes into (MessageChunk). Shared by the fetcher, which fills
 * it, and the consumer's delivery, which drains it.
 */
import { partitionKey } from '../topic-partition.js';
import type { ConsumedMessage, OffsetSpec } from '../types.js';

/** Decoded messages of one partition from one fetch response; `next` is the delivery cursor. */
export interface MessageChunk {
  messages: ConsumedMessage[];
  next: number;
  bytes: number;
  epoch: number;
  highWatermark: number;
}

/** Everything the consumer knows about one assigned partition. */
export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** Next offset to fetch; -1 while the start position is being resolved. */
  fetchOffset = -1;
  /** A start position waiting for ListOffsets ('earliest' | 'latest' | { timestamp }). */
  pendingStart: Exclude<OffsetSpec, number> | null = null;
  /** The position came from an explicit offset: out of range is an error, not a reset. */
  strict = false;
  paused = false;
  /** Being revoked (group rebalance): no more fetches or deliveries. */
  revoking = false;
  removed = false;
  /** Bumped by every seek; chunks and answers of older epochs are dropped. */
  epoch = 0;
  /** In a Fetch in flight (a partition is in at most one). */
  fetching = false;
  /**
   * The last answer left it at the log's end (fetch offset >= high watermark): it goes in a
   * long poll of its own, never in a Fetch with partitions that have data, whose answer it
   * would otherwise hold back for up to maxWaitMs.
   */
  caughtUp = false;
  resolving = false;
  failures = 0;
  retryAtMs = 0;
  /** partitionMaxBytes of the next fetch (grows when a single batch does not fit). */
  fetchSizeBytes: number;
  /** Chunks decoded and not yet started by the app, oldest first. */
  readonly chunks: MessageChunk[] = [];
  bufferedBytes = 0;
  highWatermark = -1;
  logStartOffset = -1;
  /** A non-retriable failure, surfaced to the app once; fetching stops until seek(). */
  error: Error | null = null;
  errorReported = false;
  /** Offset after the last message the app finished processing; -1 before any is known. */
  processedOffset = -1;
  /** Messages (or batches) handed to the app and not finished yet. */
  processing = 0;
  /** Resolved when `processing` drops to 0 (revocation waits on it). */
  idleWaiters: Array<() => void> = [];
  /** In the consumer's ready ring. */
  inRing = false;

  constructor(topic: string, partition: number, fetchSizeBytes: number) {
    this.topic = topic;
    this.partition = partition;
    this.key = partitionKey(topic, partition);
    this.fetchSizeBytes = fetchSizeBytes;
  }
}
