/**
 * Admin: topics (create, delete, list, describe with log start/end offsets), topic configs,
 * and offsets by time. Cluster-wide requests go to the controller when Metadata names one
 * (any broker otherwise); ListOffsets goes to each partition's leader.
 *
 * Every failing topic or partition of a request is reported in one RillError (the first
 * failure's code; the message names them all).
 */
import type { Logger } from 'pino';
import type { ListOffsetsResponse } from '../protocol/apis/index.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../protocol/apis/index.js';
import { ErrorCode, errorFromCode } from '../protocol/errors.js';
import { BrokerPool } from './broker-pool.js';
import type { Connection } from './connection.js';
import type { ClientContext } from './context.js';
import { partitionErrors, topicErrors, unknownTopic } from './errors.js';
import { Metadata } from './metadata.js';
import { retryOptions, withRetry } from './retry.js';
import type { ConfigDescription, ITopicConfig, PartitionOffsets, RetryOptions, TopicDescription } from './types.js';

export interface CreateTopicsOptions {
  topics: ITopicConfig[];
  validateOnly?: boolean;
  timeoutMs?: number;
}

export interface AdminCallOptions {
  signal?: AbortSignal;
}

export class Admin {
  private readonly log: Logger;
  private readonly pool: BrokerPool;
  private readonly metadata: Metadata;
  private readonly retry: RetryOptions;
  private readonly requestTimeoutMs: number;

  constructor(ctx: ClientContext, config: { retry?: Partial<RetryOptions> } = {}) {
    this.log = ctx.logger.child({ component: 'admin' });
    this.retry = retryOptions(ctx.retry, config.retry);
    this.requestTimeoutMs = ctx.requestTimeoutMs;
    this.pool = new BrokerPool(ctx.brokers, {
      clientId: ctx.clientId,
      connectionTimeoutMs: ctx.connectionTimeoutMs,
      requestTimeoutMs: ctx.requestTimeoutMs,
      retry: this.retry,
      logger: this.log,
    });
    this.metadata = new Metadata(this.pool, { logger: this.log, retry: this.retry, allowAutoTopicCreation: false });
  }

  async connect(opts: AdminCallOptions = {}): Promise<void> {
    await this.controller(opts.signal);
  }

  /** Creates topics; rejects naming every topic that failed (e.g. TOPIC_ALREADY_EXISTS). */
  async createTopics(opts: CreateTopicsOptions & AdminCallOptions): Promise<void> {
    const topics = opts.topics.map((t) => ({
      name: t.topic,
      numPartitions: t.numPartitions ?? -1,
      replicationFactor: t.replicationFactor ?? -1,
      configs: t.configs ?? {},
    }));
    const response = await this.call(opts.signal, async (conn) =>
      conn.request('CreateTopics', { topics, timeoutMs: opts.timeoutMs ?? this.requestTimeoutMs, validateOnly: opts.validateOnly ?? false }, { signal: opts.signal }),
    );
    for (const t of topics) this.metadata.markStale(t.name);
    const err = topicErrors(response.topics);
    if (err !== null) throw err;
  }

  async deleteTopics(opts: { topics: string[]; timeoutMs?: number } & AdminCallOptions): Promise<void> {
    const response = await this.call(opts.signal, async (conn) =>
      conn.request('DeleteTopics', { topics: opts.topics, timeoutMs: opts.timeoutMs ?? this.requestTimeoutMs }, { signal: opts.signal }),
    );
    for (const t of opts.topics) this.metadata.markStale(t);
    const err = topicErrors(
      response.topics.map((t) => (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && t.errorMessage === null ? { ...t, errorMessage: 'topic does not exist' } : t)),
    );
    if (err !== null) throw err;
  }

  /** Every topic name, sorted. */
  async listTopics(opts: AdminCallOptions = {}): Promise<string[]> {
    const response = await withRetry(this.retry, () => this.metadata.refresh(null, opts.signal), { signal: opts.signal });
    return response.topics.filter((t) => t.errorCode === ErrorCode.NONE).map((t) => t.name).sort();
  }

  /** Topics with each partition's leader and log start/end offsets (all topics when `topics` is omitted). */
  async describeTopics(opts: { topics?: string[] } & AdminCallOptions = {}): Promise<TopicDescription[]> {
    const names = opts.topics ?? (await this.listTopics(opts));
    const response = await withRetry(this.retry, () => this.metadata.refresh(names, opts.signal), { signal: opts.signal });
    const out: TopicDescription[] = [];
    for (const name of names) {
      const t = response.topics.find((x) => x.name === name);
      if (t === undefined || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw unknownTopic(name);
      if (t.errorCode !== ErrorCode.NONE) throw errorFromCode(t.errorCode, `cannot describe topic '${name}'`, { topic: name });
      out.push({
        name,
        isInternal: t.isInternal,
        partitions: [...t.partitions]
          .sort((a, b) => a.partition - b.partition)
          .map((p) => ({ partition: p.partition, leader: p.leader, logStartOffset: -1, logEndOffset: -1 })),
      });
    }
    const requests = out.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition })));
    const [earliest, latest] = await Promise.all([
      this.listOffsets(requests.map((r) => ({ ...r, timestamp: EARLIEST_TIMESTAMP })), opts.signal),
      this.listOffsets(requests.map((r) => ({ ...r, timestamp: LATEST_TIMESTAMP })), opts.signal),
    ]);
    for (const t of out) {
      for (const p of t.partitions) {
        p.logStartOffset = earliest.get(`${t.name}\u0000${p.partition}`) ?? -1;
        p.logEndOffset = latest.get(`${t.name}\u0000${p.partition}`) ?? -1;
      }
    }
    return out;
  }

  /** A topic's configs, each with its value and where it comes from. */
  async describeConfigs(opts: { topic: string; configNames?: string[] } & AdminCallOptions): Promise<{ topic: string; configs: ConfigDescription[] }> {
    const response = await this.call(opts.signal, async (conn) =>
      conn.request('DescribeConfigs', { resources: [{ resourceType: 'topic', resourceName: opts.topic, configNames: opts.configNames ?? null }] }, { signal: opts.signal }),
    );
    const r = response.resources[0];
    if (r === undefined) throw unknownTopic(opts.topic);
    if (r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw unknownTopic(opts.topic);
    const err = topicErrors([{ name: r.resourceName, errorCode: r.errorCode, errorMessage: r.errorMessage }]);
    if (err !== null) throw err;
    return { topic: opts.topic, configs: [...r.configs].sort((a, b) => a.name.localeCompare(b.name)) };
  }

  /** Sets topic configs (a null value reverts that config to its default); others are untouched. */
  async alterConfigs(opts: { topic: string; configs: Record<string, string | null>; validateOnly?: boolean } & AdminCallOptions): Promise<void> {
    const configs = Object.entries(opts.configs).map(([name, value]) => ({ name, value }));
    const response = await this.call(opts.signal, async (conn) =>
      conn.request('AlterConfigs', { resources: [{ resourceType: 'topic', resourceName: opts.topic, configs }], validateOnly: opts.validateOnly ?? false }, { signal: opts.signal }),
    );
    const r = response.resources[0];
    if (r === undefined) throw unknownTopic(opts.topic);
    if (r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw unknownTopic(opts.topic);
    const err = topicErrors([{ name: r.resourceName, errorCode: r.errorCode, errorMessage: r.errorMessage }]);
    if (err !== null) throw err;
  }

  /**
   * Per partition, the first offset whose timestamp is >= `timestampMs`, or -1 when no record
   * is that recent (Kafka's offsetsForTimes).
   */
  async offsetsForTimes(topic: string, timestampMs: number, opts: AdminCallOptions = {}): Promise<Array<{ partition: number; offset: number }>> {
    if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new RangeError(`timestampMs must be ms since the epoch, got ${timestampMs}`);
    const info = await this.metadata.topic(topic, { signal: opts.signal });
    const offsets = await this.listOffsets(info.partitions.map((p) => ({ topic, partition: p.partition, timestamp: timestampMs })), opts.signal);
    return info.partitions.map((p) => ({ partition: p.partition, offset: offsets.get(`${topic}\u0000${p.partition}`) ?? -1 }));
  }

  /** Per partition: log start (`low`) and end (`high`, also `offset`) offsets, as KafkaJS reports them. */
  async fetchTopicOffsets(topic: string, opts: AdminCallOptions = {}): Promise<PartitionOffsets[]> {
    const info = await this.metadata.topic(topic, { signal: opts.signal });
    const tps = info.partitions.map((p) => ({ topic, partition: p.partition }));
    const [low, high] = await Promise.all([
      this.listOffsets(tps.map((r) => ({ ...r, timestamp: EARLIEST_TIMESTAMP })), opts.signal),
      this.listOffsets(tps.map((r) => ({ ...r, timestamp: LATEST_TIMESTAMP })), opts.signal),
    ]);
    return info.partitions.map((p) => {
      const k = `${topic}\u0000${p.partition}`;
      const h = high.get(k) ?? -1;
      return { partition: p.partition, offset: h, high: h, low: low.get(k) ?? -1 };
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** ListOffsets per leader; returns "topic\0partition" -> offset. Throws naming every failed partition. */
  private async listOffsets(requests: Array<{ topic: string; partition: number; timestamp: number }>, signal?: AbortSignal): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (requests.length === 0) return out;
    await withRetry(
      this.retry,
      async () => {
        const byNode = new Map<number, Map<string, Array<{ partition: number; timestamp: number }>>>();
        for (const r of requests) {
          if (out.has(`${r.topic}\u0000${r.partition}`)) continue;
          const info = await this.metadata.topic(r.topic, { signal });
          const leader = info.partitions[r.partition]?.leader ?? -1;
          let topics = byNode.get(leader);
          if (topics === undefined) {
            topics = new Map();
            byNode.set(leader, topics);
          }
          let list = topics.get(r.topic);
          if (list === undefined) {
            list = [];
            topics.set(r.topic, list);
          }
          list.push({ partition: r.partition, timestamp: r.timestamp });
        }
        const responses = await Promise.all(
          [...byNode].map(([node, topics]) =>
            this.pool.forNode(node).request('ListOffsets', { topics: [...topics].map(([name, partitions]) => ({ name, partitions })) }, { signal }),
          ),
        );
        const failed: ListOffsetsResponse['topics'] = [];
        for (const response of responses) {
          for (const t of response.topics) {
            const bad = t.partitions.filter((p) => p.errorCode !== ErrorCode.NONE);
            for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) out.set(`${t.name}\u0000${p.partition}`, p.offset);
            if (bad.length > 0) {
              failed.push({ name: t.name, partitions: bad });
              this.metadata.markStale(t.name);
            }
          }
        }
        const err = partitionErrors(failed, 'ListOffsets');
        if (err !== null) throw err;
      },
      { signal },
    );
    return out;
  }

  /** The controller's connection (or any broker's before the controller is known). */
  private async controller(signal?: AbortSignal): Promise<Connection> {
    if (this.metadata.controller < 0 || !this.pool.hasNode(this.metadata.controller)) await this.metadata.refresh([], signal);
    const id = this.metadata.controller;
    return id >= 0 && this.pool.hasNode(id) ? this.pool.forNode(id) : this.pool.any(signal);
  }

  private call<T>(signal: AbortSignal | undefined, fn: (conn: Connection) => Promise<T>): Promise<T> {
    return withRetry(this.retry, async () => fn(await this.controller(signal)), { signal });
  }
}
