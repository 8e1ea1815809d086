/**
 * Where an admin request goes, and its retries: cluster-wide requests to the controller when
 * Metadata names one (any broker otherwise); ListOffsets to each partition's leader; group
 * requests to the group's coordinator (FindCoordinator, cached per group and looked up again
 * after a coordinator or connection error). topics.ts, groups.ts and offsets.ts call through it.
 */
import type { Logger } from 'pino';
import type { ListOffsetsResponse } from '../../protocol/apis/index.js';
import { ErrorCode, errorFromCode, rillError } from '../../protocol/errors.js';
import { BrokerPool } from '../broker-pool.js';
import type { Connection } from '../connection.js';
import type { ClientContext } from '../context.js';
import { partitionErrors } from '../errors.js';
import { Metadata } from '../metadata.js';
import { retryOptions, withRetry } from '../retry.js';
import type { RetryOptions } from '../types.js';

export class AdminChannel {
  readonly log: Logger;
  readonly pool: BrokerPool;
  readonly metadata: Metadata;
  readonly retry: RetryOptions;
  readonly requestTimeoutMs: number;
  /** Set when a controller call failed: the next one asks Metadata where the controller is now. */
  private controllerStale = false;
  /** groupId -> node id of its coordinator; forgotten before a group call is retried. */
  private readonly coordinators = new Map<string, number>();

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
      tls: ctx.tls ?? null,
      ...(ctx.knownBrokers !== undefined ? { knownBrokers: ctx.knownBrokers } : {}),
    });
    this.metadata = new Metadata(this.pool, { logger: this.log, retry: this.retry, allowAutoTopicCreation: false });
  }

  /** After a group is deleted its coordinator may change: look it up again next time. */
  forgetCoordinator(groupId: string): void {
    this.coordinators.delete(groupId);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** The controller's connection (or any broker's before the controller is known). */
  async controller(signal?: AbortSignal): Promise<Connection> {
    if (this.controllerStale || this.metadata.controller < 0 || !this.pool.hasNode(this.metadata.controller)) {
      await this.metadata.refresh([], signal);
      this.controllerStale = false;
    }
    const id = this.metadata.controller;
    return id >= 0 && this.pool.hasNode(id) ? this.pool.forNode(id) : this.pool.any(signal);
  }

  call<T>(signal: AbortSignal | undefined, fn: (conn: Connection) => Promise<T>): Promise<T> {
    return withRetry(this.retry, async () => fn(await this.controller(signal)), {
      signal,
      // NOT_CONTROLLER or a lost connection: the controller may have moved.
      onRetry: () => {
        this.controllerStale = true;
      },
    });
  }

  /** The connection to a group's coordinator (FindCoordinator, cached). */
  async coordinatorOf(groupId: string, signal?: AbortSignal): Promise<Connection> {
    const cached = this.coordinators.get(groupId);
    if (cached !== undefined && this.pool.hasNode(cached)) return this.pool.forNode(cached);
    const conn = await this.controller(signal);
    const response = await conn.request('FindCoordinator', { keyType: 0, keys: [groupId] }, { signal });
    const c = response.coordinators.find((x) => x.key === groupId);
    if (c === undefined) throw rillError('COORDINATOR_NOT_AVAILABLE', `no coordinator was named for group '${groupId}'`);
    if (c.errorCode !== ErrorCode.NONE) throw errorFromCode(c.errorCode, c.errorMessage ?? `no coordinator for group '${groupId}'`);
    if (!this.pool.hasNode(c.nodeId)) await this.metadata.refresh([], signal);
    if (!this.pool.hasNode(c.nodeId)) throw rillError('COORDINATOR_NOT_AVAILABLE', `the coordinator of group '${groupId}' (broker ${c.nodeId}) is not in the cluster metadata`);
    this.coordinators.set(groupId, c.nodeId);
    return this.pool.forNode(c.nodeId);
  }

  /** Runs a request on a group's coordinator; retriable failures look the coordinator up again. */
  groupCall<T>(groupId: string, signal: AbortSignal | undefined, fn: (conn: Connection) => Promise<T>): Promise<T> {
    return withRetry(this.retry, async () => fn(await this.coordinatorOf(groupId, signal)), {
      signal,
      onRetry: () => {
        this.coordinators.delete(groupId);
        // FindCoordinator goes to the controller: it may be the broker that went away.
        this.controllerStale = true;
      },
    });
  }

  /**
   * ListOffsets per leader; returns "topic\0partition" -> offset. Throws naming every failed
   * partition. Leaders come from `metadata.topic()`, which refuses a topic with any leaderless
   * partition, unless the caller passes `leaderOf` (and leaves such partitions out itself).
   */
  async listOffsets(
    requests: Array<{ topic: string; partition: number; timestamp: number }>,
    signal?: AbortSignal,
    leaderOf?: (topic: string, partition: number) => Promise<number>,
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (requests.length === 0) return out;
    await withRetry(
      this.retry,
      async () => {
        const byNode = new Map<number, Map<string, Array<{ partition: number; currentLeaderEpoch: number; timestamp: number }>>>();
        for (const r of requests) {
          if (out.has(`${r.topic}\u0000${r.partition}`)) continue;
          const leader = leaderOf !== undefined ? await leaderOf(r.topic, r.partition) : ((await this.metadata.topic(r.topic, { signal })).partitions[r.partition]?.leader ?? -1);
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
          list.push({ partition: r.partition, currentLeaderEpoch: this.metadata.leaderEpochOf(r.topic, r.partition), timestamp: r.timestamp });
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
}
