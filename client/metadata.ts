/**
 * Cluster metadata cache: brokers and, per topic, each partition's leader.
 *
 * Refreshed on demand: when a topic is first used, when a caller marks it stale after
 * UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER / a connection error, and after
 * `maxAgeMs`. Concurrent refreshes for the same topics share one Metadata request. Producers
 * ask with `allowAutoTopicCreation` so a first send can create its topic (the broker's
 * `auto.create.topics.enable` decides).
 *
 * Leader epochs (KIP-320): a partition's cached leaderEpoch never moves backwards. In a
 * cluster every broker answers Metadata from its own copy of the cluster state, and a broker
 * that has not yet seen a leader change would otherwise send the client back to the old leader;
 * its answer is ignored for each partition where the cache already knows a newer epoch.
 */
import type { Logger } from 'pino';
import type { MetadataResponse } from '../protocol/apis/index.js';
import { ErrorCode, RillError, errorFromCode, isRetriable, rillError } from '../protocol/errors.js';
import type { BrokerPool } from './broker-pool.js';
import { unknownTopic } from './errors.js';
import { withRetry } from './retry.js';
import type { RetryOptions } from './types.js';

export interface PartitionInfo {
  partition: number;
  /** Node id of the leader, -1 when there is none right now. */
  leader: number;
  leaderEpoch: number;
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  isInternal: boolean;
  /** Indexed by partition number. */
  partitions: PartitionInfo[];
}

export interface MetadataOptions {
  logger: Logger;
  retry: RetryOptions;
  allowAutoTopicCreation: boolean;
  /** Cached entries older than this are refreshed on next use. Default 5 minutes. */
  maxAgeMs?: number;
}

export interface TopicLookupOptions {
  signal?: AbortSignal | undefined;
  /**
   * Retry UNKNOWN_TOPIC_OR_PARTITION (the topic may be being created) instead of failing at
   * once. Producers and consumers do; admin lookups do not.
   */
  waitForTopic?: boolean;
}

interface CachedTopic {
  info: TopicInfo;
  fetchedAtMs: number;
}

export class Metadata {
  private readonly pool: BrokerPool;
  private readonly opts: MetadataOptions;
  private readonly maxAgeMs: number;
  private readonly topics = new Map<string, CachedTopic>();
  private readonly stale = new Set<string>();
  private readonly refreshing = new Map<string, Promise<MetadataResponse>>();
  private controllerId = -1;
  private clusterId = '';

  constructor(pool: BrokerPool, opts: MetadataOptions) {
    this.pool = pool;
    this.opts = opts;
    this.maxAgeMs = opts.maxAgeMs ?? 300_000;
  }

  get controller(): number {
    return this.controllerId;
  }

  get cluster(): string {
    return this.clusterId;
  }

  /** The cached topic, if fresh; never does I/O. */
  cached(topic: string): TopicInfo | undefined {
    const c = this.topics.get(topic);
    if (c === undefined || this.stale.has(topic)) return undefined;
    return c.info;
  }

  /** Leader node of a partition from the cache, or -1 when unknown. */
  leaderOf(topic: string, partition: number): number {
    const c = this.topics.get(topic);
    return c?.info.partitions[partition]?.leader ?? -1;
  }

  /** The leader epoch the cache knows for a partition, or -1 (sent as "unknown": no check). */
  leaderEpochOf(topic: string, partition: number): number {
    const c = this.topics.get(topic);
    return c?.info.partitions[partition]?.leaderEpoch ?? -1;
  }

  markStale(topic: string): void {
    this.stale.add(topic);
  }

  /** A topic's metadata, from the cache when fresh, else from the cluster. */
  async topic(name: string, opts: TopicLookupOptions = {}): Promise<TopicInfo> {
    const c = this.topics.get(name);
    if (c !== undefined && !this.stale.has(name) && Date.now() - c.fetchedAtMs < this.maxAgeMs) return c.info;
    return withRetry(
      this.opts.retry,
      async () => {
        const response = await this.refresh([name], opts.signal);
        const t = response.topics.find((x) => x.name === name);
        if (t === undefined) throw unknownTopic(name);
        if (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw unknownTopic(name);
        if (t.errorCode !== ErrorCode.NONE) throw errorFromCode(t.errorCode, `metadata for topic '${name}' unavailable`, { topic: name });
        const cached = this.topics.get(name);
        if (cached === undefined) throw unknownTopic(name);
        if (cached.info.partitions.some((p) => p.leader < 0)) {
          throw rillError('LEADER_NOT_AVAILABLE', `topic '${name}' has partitions without a leader`, { topic: name });
        }
        return cached.info;
      },
      {
        signal: opts.signal,
        onRetry: () => this.markStale(name),
        // A missing topic is worth waiting for only when something may be creating it.
        shouldRetry: (err) => isRetriable(err) && (opts.waitForTopic === true || !(err instanceof RillError && err.is('UNKNOWN_TOPIC_OR_PARTITION'))),
      },
    );
  }

  /**
   * One Metadata request (shared with any identical one in flight). `topics` null asks for
   * every topic; the cache is updated with what came back.
   */
  refresh(topics: string[] | null, signal?: AbortSignal): Promise<MetadataResponse> {
    const key = topics === null ? '\u0000all' : [...topics].sort().join('\u0000');
    let p = this.refreshing.get(key);
    if (p === undefined) {
      p = this.doRefresh(topics, signal).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, p);
    }
    return p;
  }

  private async doRefresh(topics: string[] | null, signal?: AbortSignal): Promise<MetadataResponse> {
    const conn = await this.pool.any(signal);
    const response = await conn.request(
      'Metadata',
      { topics, allowAutoTopicCreation: this.opts.allowAutoTopicCreation },
      { signal },
    );
    this.pool.setBrokers(response.brokers);
    this.controllerId = response.controllerId;
    this.clusterId = response.clusterId;
    const now = Date.now();
    for (const t of response.topics) {
      if (t.errorCode === ErrorCode.NONE) {
        const { partitions, ignored } = mergePartitions(this.topics.get(t.name)?.info.partitions, t.partitions);
        if (ignored.length > 0) this.opts.logger.debug({ topic: t.name, partitions: ignored }, 'metadata older than the cache ignored for these partitions');
        this.topics.set(t.name, { info: { name: t.name, isInternal: t.isInternal, partitions }, fetchedAtMs: now });
        this.stale.delete(t.name);
      } else if (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        this.topics.delete(t.name);
      }
    }
    this.opts.logger.debug({ topics: topics ?? 'all', brokers: response.brokers.length }, 'metadata refreshed');
    return response;
  }
}

/** A partition as a Metadata response describes it. */
export interface AnsweredPartition {
  partition: number;
  leader: number;
  leaderEpoch: number;
  errorCode: number;
}

/**
 * A topic's partitions from a Metadata answer, merged over what the cache had: a partition
 * whose answered leader epoch is older than the cached one keeps the cached entry (the
 * answering broker has not yet seen the leader change). -1 epochs (a standalone broker) are
 * never older: without epochs there is nothing to compare. A hole in the answer (the broker
 * skipped a partition) becomes a leaderless entry. `ignored` lists the partitions kept.
 */
export function mergePartitions(
  previous: readonly PartitionInfo[] | undefined,
  answered: readonly AnsweredPartition[],
): { partitions: PartitionInfo[]; ignored: number[] } {
  const partitions: PartitionInfo[] = [];
  const ignored: number[] = [];
  for (const p of answered) {
    const known = previous?.[p.partition];
    if (known !== undefined && p.leaderEpoch >= 0 && known.leaderEpoch >= 0 && p.leaderEpoch < known.leaderEpoch) {
      partitions[p.partition] = known;
      ignored.push(p.partition);
      continue;
    }
    partitions[p.partition] = { partition: p.partition, leader: p.errorCode === ErrorCode.NONE ? p.leader : -1, leaderEpoch: p.leaderEpoch, errorCode: p.errorCode };
  }
  for (let i = 0; i < partitions.length; i++) {
    partitions[i] ??= { partition: i, leader: -1, leaderEpoch: -1, errorCode: ErrorCode.LEADER_NOT_AVAILABLE };
  }
  return { partitions, ignored };
}
