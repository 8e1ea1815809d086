/**
 * Admin: topics (create, delete, list, describe with log start/end offsets), topic configs,
 * offsets by time, and consumer groups (list, describe with lag, delete, committed offsets,
 * offset reset for replay). Cluster-wide requests go to the controller when Metadata names one
 * (any broker otherwise); ListOffsets goes to each partition's leader; group requests go to the
 * group's coordinator (FindCoordinator, cached per group and looked up again after a
 * coordinator or connection error); ListGroups asks every broker and merges.
 *
 * Every failing topic or partition of a request is reported in one RillError (the first
 * failure's code; the message names them all).
 */
import type { Logger } from 'pino';
import type { DescribeGroupsResponse, GroupState, ListOffsetsResponse } from '../protocol/apis/index.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../protocol/apis/index.js';
import { ErrorCode, RillError, errorFromCode, rillError } from '../protocol/errors.js';
import { BrokerPool } from './broker-pool.js';
import type { Connection } from './connection.js';
import type { ClientContext } from './context.js';
import { partitionErrors, topicErrors, unknownTopic } from './errors.js';
import { Metadata } from './metadata.js';
import {
  buildResetPlan,
  comparePartitions,
  mergeScopes,
  partitionKey,
  resolveStrategy,
  type PartitionOffsetState,
  type PlannedOffset,
  type ResetStrategy,
  type TopicScope,
} from './offset-reset.js';
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

export type { GroupState } from '../protocol/apis/index.js';

/** One group as ListGroups reports it. */
export interface GroupOverview {
  groupId: string;
  /** 'empty' | 'assigning' | 'reconciling' | 'stable' (docs/OPERATIONS.md "Consumer groups"). */
  state: GroupState;
}

export interface GroupTopicPartitions {
  topic: string;
  partitions: number[];
}

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  /** Address of the member's connection, as the coordinator saw it. */
  clientHost: string;
  memberEpoch: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  /** Partitions the member holds now (pending revocations included). */
  assignment: GroupTopicPartitions[];
  /** Partitions the coordinator means it to hold once the group is reconciled. */
  targetAssignment: GroupTopicPartitions[];
}

/** One partition the group has committed an offset for or a member holds. */
export interface GroupPartitionDescription {
  topic: string;
  partition: number;
  /** null: nothing committed yet. */
  committedOffset: number | null;
  metadata: string | null;
  /** null when the partition no longer exists (or its end could not be read). */
  logEndOffset: number | null;
  /** max(0, logEndOffset - committedOffset); null without a committed offset or a log end. */
  lag: number | null;
  /** The live member holding the partition, or null. */
  memberId: string | null;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  groupEpoch: number;
  assignmentEpoch: number;
  members: GroupMemberDescription[];
  /** Sorted by topic, then partition. */
  partitions: GroupPartitionDescription[];
}

export interface CommittedOffsets {
  topic: string;
  /** offset null: nothing committed for that partition. */
  partitions: Array<{ partition: number; offset: number | null; metadata: string | null }>;
}

export interface ResetOffsetsOptions extends AdminCallOptions {
  groupId: string;
  /** Topics to reset (every partition, or the listed ones). Exactly one of topics / allTopics (optional with fromPlan, where it filters the plan). */
  topics?: TopicScope[];
  /** Every partition the group has committed offsets for, in topics that still exist. */
  allTopics?: boolean;
  strategy: ResetStrategy;
  /** Write the plan (AlterGroupOffsets). Default false: a dry run that only returns the plan. */
  execute?: boolean;
}

export interface ResetOffsetsResult {
  /** Sorted by topic, then partition; every newOffset clamped into [log start, log end]. */
  plan: PlannedOffset[];
  executed: boolean;
  /** Live members when the plan was made: with any, an execute is refused (NON_EMPTY_GROUP). */
  liveMembers: number;
}

export class Admin {
  private readonly log: Logger;
  private readonly pool: BrokerPool;
  private readonly metadata: Metadata;
  private readonly retry: RetryOptions;
  private readonly requestTimeoutMs: number;
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
    });
    this.metadata = new Metadata(this.pool, { logger: this.log, retry: this.retry, allowAutoTopicCreation: false });
  }

  async connect(opts: AdminCallOptions = {}): Promise<void> {
    await this.controller(opts.signal);
  }

  /**
   * Creates topics; rejects naming every topic that failed (e.g. TOPIC_ALREADY_EXISTS). A topic
   * without numPartitions / replicationFactor gets the broker's defaults (num.partitions,
   * default.replication.factor): -1 on the wire, as Kafka's CreateTopics v4+.
   */
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

  /** Every group of the cluster (with live members or committed offsets), sorted; `states` filters. */
  async listGroups(opts: { states?: GroupState[] } & AdminCallOptions = {}): Promise<GroupOverview[]> {
    const signal = opts.signal;
    return withRetry(
      this.retry,
      async () => {
        const md = await this.metadata.refresh([], signal);
        const nodes = md.brokers.map((b) => b.nodeId);
        const responses = await Promise.all(
          nodes.map(async (node) => ({ node, response: await this.pool.forNode(node).request('ListGroups', { statesFilter: opts.states ?? null }, { signal }) })),
        );
        const groups = new Map<string, GroupState>();
        for (const { node, response } of responses) {
          if (response.errorCode !== ErrorCode.NONE) throw errorFromCode(response.errorCode, `listing groups on broker ${node} failed`);
          for (const g of response.groups) groups.set(g.groupId, g.groupState);
        }
        return [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([groupId, state]) => ({ groupId, state }));
      },
      { signal },
    );
  }

  /**
   * A group's state, members and, per partition it committed or a member holds: committed
   * offset, log end offset and lag. GROUP_ID_NOT_FOUND when the group has neither members nor
   * committed offsets.
   */
  async describeGroup(groupId: string, opts: AdminCallOptions = {}): Promise<GroupDescription> {
    checkGroupId(groupId);
    const g = await this.describeGroupRaw(groupId, opts.signal);
    const members: GroupMemberDescription[] = g.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberEpoch: m.memberEpoch,
      subscribedTopicNames: [...m.subscribedTopicNames],
      subscribedTopicRegex: m.subscribedTopicRegex,
      assignment: sortedTopicPartitions(m.assignment),
      targetAssignment: sortedTopicPartitions(m.targetAssignment),
    }));
    const owner = new Map<string, string>();
    for (const m of members) for (const t of m.assignment) for (const p of t.partitions) owner.set(partitionKey(t.topic, p), m.memberId);
    const rows = new Map<string, GroupPartitionDescription>();
    for (const o of g.offsets) {
      const key = partitionKey(o.topic, o.partition);
      rows.set(key, {
        topic: o.topic,
        partition: o.partition,
        committedOffset: o.committedOffset < 0 ? null : o.committedOffset,
        metadata: o.metadata,
        logEndOffset: o.logEndOffset < 0 ? null : o.logEndOffset,
        lag: o.lag < 0 || o.committedOffset < 0 ? null : o.lag,
        memberId: owner.get(key) ?? null,
      });
    }
    // Held but never committed: the coordinator reports no offset row, so read the log end here.
    const uncommitted: Array<{ topic: string; partition: number }> = [];
    for (const m of members) {
      for (const t of m.assignment) {
        for (const partition of t.partitions) {
          const key = partitionKey(t.topic, partition);
          if (rows.has(key)) continue;
          rows.set(key, { topic: t.topic, partition, committedOffset: null, metadata: null, logEndOffset: null, lag: null, memberId: m.memberId });
          uncommitted.push({ topic: t.topic, partition });
        }
      }
    }
    if (uncommitted.length > 0) {
      try {
        const ends = await this.listOffsets(uncommitted.map((r) => ({ ...r, timestamp: LATEST_TIMESTAMP })), opts.signal);
        for (const r of uncommitted) rows.get(partitionKey(r.topic, r.partition))!.logEndOffset = ends.get(partitionKey(r.topic, r.partition)) ?? null;
      } catch (err) {
        // A held partition whose topic was deleted meanwhile: describe the rest, log end unknown.
        if (!(err instanceof RillError) || err.code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw err;
      }
    }
    return {
      groupId,
      state: g.state,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      members,
      partitions: [...rows.values()].sort(comparePartitions),
    };
  }

  /** Deletes a group and its committed offsets; only an empty group (NON_EMPTY_GROUP otherwise). */
  async deleteGroup(groupId: string, opts: AdminCallOptions = {}): Promise<void> {
    checkGroupId(groupId);
    await this.groupCall(groupId, opts.signal, async (conn) => {
      const response = await conn.request('DeleteGroups', { groupIds: [groupId] }, { signal: opts.signal });
      const r = response.results.find((x) => x.groupId === groupId);
      if (r === undefined) throw rillError('UNKNOWN_SERVER_ERROR', `the coordinator did not answer for group '${groupId}'`);
      if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, r.errorMessage ?? `cannot delete group '${groupId}'`);
    });
    this.coordinators.delete(groupId);
  }

  /**
   * A group's committed offsets: every committed partition when `topics` is omitted; otherwise
   * the given topics (all their partitions, or the listed ones), with `offset: null` where the
   * group has committed nothing.
   */
  async fetchOffsets(groupId: string, topics?: Array<string | TopicScope>, opts: AdminCallOptions = {}): Promise<CommittedOffsets[]> {
    checkGroupId(groupId);
    let request: Array<{ name: string; partitions: number[] }> | null = null;
    if (topics !== undefined) {
      const scopes = mergeScopes(topics.map((t) => (typeof t === 'string' ? { topic: t } : t)));
      request = (await this.expandScopes(scopes, opts.signal)).map((s) => ({ name: s.topic, partitions: s.partitions }));
    }
    const response = await this.groupCall(groupId, opts.signal, async (conn) => {
      const r = await conn.request('OffsetFetch', { groupId, topics: request }, { signal: opts.signal });
      if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, `fetching the offsets of group '${groupId}' failed`);
      const err = partitionErrors(r.topics, `OffsetFetch of group '${groupId}'`);
      if (err !== null) throw err;
      return r;
    });
    return response.topics
      .map((t) => ({
        topic: t.name,
        partitions: [...t.partitions]
          .sort((a, b) => a.partition - b.partition)
          .map((p) => ({ partition: p.partition, offset: p.committedOffset < 0 ? null : p.committedOffset, metadata: p.metadata })),
      }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }

  /**
   * Plans (and with `execute: true` applies) a reset of a group's committed offsets, as
   * `kafka-consumer-groups --reset-offsets`: see client/offset-reset.ts for the strategies and
   * the clamping into [log start, log end]. Executing is refused by the coordinator with
   * NON_EMPTY_GROUP (and its message) while the group has live members.
   */
  async resetOffsets(opts: ResetOffsetsOptions): Promise<ResetOffsetsResult> {
    const { groupId, signal } = opts;
    checkGroupId(groupId);
    const strategy = resolveStrategy(opts.strategy, Date.now());
    if (opts.allTopics === true && opts.topics !== undefined) throw new RangeError('give either topics or allTopics, not both');
    if (opts.allTopics !== true && opts.topics === undefined && strategy.kind !== 'plan') throw new RangeError('give topics or allTopics: which partitions to reset');
    if (opts.topics !== undefined && opts.topics.length === 0) throw new RangeError('topics is empty');

    // 1. Which partitions.
    let partitions: Array<{ topic: string; partition: number }>;
    if (strategy.kind === 'plan') {
      partitions = [...strategy.offsets.values()].map(({ topic, partition }) => ({ topic, partition }));
      if (opts.topics !== undefined) {
        const scopes = mergeScopes(opts.topics);
        partitions = partitions.filter((p) => scopes.some((s) => s.topic === p.topic && (s.partitions === undefined || s.partitions.includes(p.partition))));
      } else if (opts.allTopics === true) {
        const committed = new Set((await this.committedPartitions(groupId, signal)).map((p) => partitionKey(p.topic, p.partition)));
        partitions = partitions.filter((p) => committed.has(partitionKey(p.topic, p.partition)));
      }
      await this.expandScopes(partitions.map((p) => ({ topic: p.topic, partitions: [p.partition] })), signal);
    } else if (opts.allTopics === true) {
      partitions = await this.existing(await this.committedPartitions(groupId, signal), signal);
    } else {
      partitions = (await this.expandScopes(mergeScopes(opts.topics!), signal)).flatMap((s) => s.partitions.map((partition) => ({ topic: s.topic, partition })));
    }

    // 2. What the cluster says about them.
    const [committed, starts, ends, atTime, liveMembers] = await Promise.all([
      this.committedOffsetsOf(groupId, partitions, signal),
      this.listOffsets(partitions.map((p) => ({ ...p, timestamp: EARLIEST_TIMESTAMP })), signal),
      this.listOffsets(partitions.map((p) => ({ ...p, timestamp: LATEST_TIMESTAMP })), signal),
      strategy.kind === 'timestamp' ? this.listOffsets(partitions.map((p) => ({ ...p, timestamp: strategy.timestampMs })), signal) : Promise.resolve(null),
      this.liveMembers(groupId, signal),
    ]);
    const states: PartitionOffsetState[] = partitions.map((p) => {
      const key = partitionKey(p.topic, p.partition);
      const state: PartitionOffsetState = {
        topic: p.topic,
        partition: p.partition,
        committedOffset: committed.get(key) ?? null,
        logStartOffset: starts.get(key)!,
        logEndOffset: ends.get(key)!,
      };
      if (atTime !== null) state.timestampOffset = atTime.get(key) ?? null;
      return state;
    });

    // 3. The plan, and maybe its execution.
    const plan = buildResetPlan(strategy, states);
    if (opts.execute !== true) return { plan, executed: false, liveMembers };
    const byTopic = new Map<string, Array<{ partition: number; offset: number; metadata: string | null }>>();
    for (const row of plan) {
      let list = byTopic.get(row.topic);
      if (list === undefined) byTopic.set(row.topic, (list = []));
      list.push({ partition: row.partition, offset: row.newOffset, metadata: null });
    }
    await this.groupCall(groupId, signal, async (conn) => {
      const r = await conn.request('AlterGroupOffsets', { groupId, topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })) }, { signal });
      if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, r.errorMessage ?? `resetting the offsets of group '${groupId}' failed`);
      const err = partitionErrors(r.topics, `AlterGroupOffsets of group '${groupId}'`);
      if (err !== null) throw err;
    });
    return { plan, executed: true, liveMembers };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async describeGroupRaw(groupId: string, signal?: AbortSignal): Promise<DescribeGroupsResponse['groups'][number]> {
    return this.groupCall(groupId, signal, async (conn) => {
      const response = await conn.request('DescribeGroups', { groupIds: [groupId] }, { signal });
      const g = response.groups.find((x) => x.groupId === groupId);
      if (g === undefined) throw rillError('UNKNOWN_SERVER_ERROR', `the coordinator did not describe group '${groupId}'`);
      if (g.errorCode !== ErrorCode.NONE) throw errorFromCode(g.errorCode, g.errorMessage ?? `cannot describe group '${groupId}'`);
      return g;
    });
  }

  /** Live members of a group; 0 for a group that does not exist yet. */
  private async liveMembers(groupId: string, signal?: AbortSignal): Promise<number> {
    try {
      return (await this.describeGroupRaw(groupId, signal)).members.length;
    } catch (err) {
      if (err instanceof RillError && err.is('GROUP_ID_NOT_FOUND')) return 0;
      throw err;
    }
  }

  /** Every partition the group has a committed offset for. */
  private async committedPartitions(groupId: string, signal?: AbortSignal): Promise<Array<{ topic: string; partition: number }>> {
    const offsets = await this.fetchOffsets(groupId, undefined, { signal });
    return offsets.flatMap((t) => t.partitions.filter((p) => p.offset !== null).map((p) => ({ topic: t.topic, partition: p.partition })));
  }

  /** "topic\0partition" -> committed offset, for the given partitions (absent: none). */
  private async committedOffsetsOf(groupId: string, partitions: ReadonlyArray<{ topic: string; partition: number }>, signal?: AbortSignal): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (partitions.length === 0) return out;
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) {
      let list = byTopic.get(p.topic);
      if (list === undefined) byTopic.set(p.topic, (list = []));
      list.push(p.partition);
    }
    const offsets = await this.fetchOffsets(groupId, [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })), { signal });
    for (const t of offsets) for (const p of t.partitions) if (p.offset !== null) out.set(partitionKey(t.topic, p.partition), p.offset);
    return out;
  }

  /** Only the partitions whose topic still exists (committed offsets can outlive their topic). */
  private async existing(partitions: Array<{ topic: string; partition: number }>, signal?: AbortSignal): Promise<Array<{ topic: string; partition: number }>> {
    const topics = [...new Set(partitions.map((p) => p.topic))];
    if (topics.length === 0) return [];
    const response = await withRetry(this.retry, () => this.metadata.refresh(topics, signal), { signal });
    const counts = new Map<string, number>();
    for (const t of response.topics) if (t.errorCode === ErrorCode.NONE) counts.set(t.name, t.partitions.length);
    return partitions.filter((p) => p.partition < (counts.get(p.topic) ?? 0));
  }

  /** Scopes as explicit partition lists: a whole topic becomes all its partitions; unknown topics or partitions are refused. */
  private async expandScopes(scopes: ReadonlyArray<TopicScope>, signal?: AbortSignal): Promise<Array<{ topic: string; partitions: number[] }>> {
    const out: Array<{ topic: string; partitions: number[] }> = [];
    for (const s of scopes) {
      const info = await this.metadata.topic(s.topic, { signal });
      const count = info.partitions.length;
      if (s.partitions === undefined) {
        out.push({ topic: s.topic, partitions: info.partitions.map((p) => p.partition) });
        continue;
      }
      const missing = s.partitions.filter((p) => p >= count);
      if (missing.length > 0) {
        throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${s.topic}' has ${count} partition(s); partition ${missing.join(', ')} does not exist`, {
          topic: s.topic,
          partition: missing[0]!,
        });
      }
      out.push({ topic: s.topic, partitions: [...s.partitions] });
    }
    return out;
  }

  /** The connection to a group's coordinator (FindCoordinator, cached). */
  private async coordinatorOf(groupId: string, signal?: AbortSignal): Promise<Connection> {
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
  private groupCall<T>(groupId: string, signal: AbortSignal | undefined, fn: (conn: Connection) => Promise<T>): Promise<T> {
    return withRetry(this.retry, async () => fn(await this.coordinatorOf(groupId, signal)), {
      signal,
      onRetry: () => {
        this.coordinators.delete(groupId);
      },
    });
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

function checkGroupId(groupId: string): void {
  if (typeof groupId !== 'string' || groupId.length === 0 || groupId.length > 255) throw new RangeError(`groupId must be a string of 1-255 characters, got ${JSON.stringify(groupId)}`);
}

function sortedTopicPartitions(list: ReadonlyArray<{ topic: string; partitions: number[] }>): GroupTopicPartitions[] {
  return [...list]
    .map((t) => ({ topic: t.topic, partitions: [...t.partitions].sort((a, b) => a - b) }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}
