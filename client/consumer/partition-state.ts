/**
 * What the consumer knows about one assigned partition (PartitionState: fetch position,
 * decoded chunks waiting for the app — message-chunk.ts —, processing and error state).
 * Shared by the fetcher, which fills it, and the consumer's delivery, which drains it.
 */
import { partitionKey } from '../topic-partition.js';
import type { OffsetSpec, TopicPartitions } from '../types.js';
import type { MessageChunk } from './message-chunk.js';

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
  /**
   * The chunk a run() worker is delivering right now (null: none). A field rather than a
   * Map<PartitionState, chunk> in the ring: a set and a delete per chunk re-made the Map's
   * table every few chunks, garbage that the long-lived Map kept past scavenges.
   */
  inHand: MessageChunk | null = null;

  constructor(topic: string, partition: number, fetchSizeBytes: number) {
    this.topic = topic;
    this.partition = partition;
    this.key = partitionKey(topic, partition);
    this.fetchSizeBytes = fetchSizeBytes;
  }
}

/** Resolves whoever waits for `st` to go idle, once nothing of it is being processed. */
export function wakeIdleWaiters(st: PartitionState): void {
  if (st.processing !== 0 || st.idleWaiters.length === 0) return;
  const waiters = st.idleWaiters;
  st.idleWaiters = [];
  for (const w of waiters) w();
}

/** The state of an assigned partition; RangeError when it is not assigned. */
export function assignedState(partitions: ReadonlyMap<string, PartitionState>, topic: string, partition: number): PartitionState {
  const st = partitions.get(partitionKey(topic, partition));
  if (st === undefined) throw new RangeError(`${topic}[${partition}] is not assigned to this consumer`);
  return st;
}

/** The assigned partitions `list` names (every partition of a topic whose `partitions` is omitted). */
export function matchingStates(partitions: ReadonlyMap<string, PartitionState>, list: TopicPartitions[]): PartitionState[] {
  const out: PartitionState[] = [];
  for (const { topic, partitions: wanted } of list) {
    for (const st of partitions.values()) {
      if (st.topic === topic && (wanted === undefined || wanted.includes(st.partition))) out.push(st);
    }
  }
  return out;
}
