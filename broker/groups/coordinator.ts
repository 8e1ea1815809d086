/**
 * The group coordinator: owns every consumer group's membership (group.ts) and committed
 * offsets (offsets-topic.ts), and answers the group APIs.
 *
 * Decisions (documented in docs/OPERATIONS.md, "## Consumer groups"):
 *  - OffsetCommit from a member needs a live member id and its current epoch: unknown or
 *    expelled → UNKNOWN_MEMBER_ID, an older epoch → STALE_MEMBER_EPOCH (retry with the epoch
 *    of the latest heartbeat response), a newer one → FENCED_MEMBER_EPOCH. A "simple" commit
 *    (memberId '' and memberEpoch -1) is accepted only while the group has no live members;
 *    otherwise NON_EMPTY_GROUP (Kafka answers UNKNOWN_MEMBER_ID; the group being in use is
 *    the actual reason, and it matches AlterGroupOffsets).
 *  - Commits are acked only once the `__consumer_offsets` append resolved, i.e. fdatasync'ed
 *    (in a cluster: once every in-sync replica has it, appendAsLeader with acks=-1).
 *  - Commits for a topic-partition that does not exist get UNKNOWN_TOPIC_OR_PARTITION (as
 *    Kafka); metadata longer than OFFSET_METADATA_MAX_BYTES gets INVALID_COMMIT_OFFSET_SIZE.
 *  - A group exists while it has live members or committed offsets; an 'empty' group is one
 *    with offsets and no members. DeleteGroups and AlterGroupOffsets need no live members.
 *  - Membership is in memory; after a restart members get UNKNOWN_MEMBER_ID and rejoin.
 *  - `start()` creates `__consumer_offsets` (or opens it) and loads it before the broker
 *    listens (in a cluster it only starts following leadership; see placement.ts). `ready()`,
 *    awaited by the handlers that write, is where that happens (again) if it has not: the
 *    creation is retried on first use instead of leaving groups unusable.
 *    Reads (OffsetFetch, ListGroups, DescribeGroups, DeleteGroups) never create it: without it
 *    there are no groups.
 *
 * Cluster: which broker coordinates a group and which `__consumer_offsets` partitions this
 * one owns is placement.ts's job. On one broker it owns them all; in a cluster it owns those it
 * leads, every group API answers NOT_COORDINATOR for groups of other partitions, and when a
 * partition is given up its groups' in-memory state is dropped (`unloadPartition`). There a
 * failed commit append is answered with Kafka's OffsetCommit mapping (writeErrorOf).
 */
import type { Logger } from 'pino';
import type { AlterGroupOffsetsRequest, AlterGroupOffsetsResponse } from '../../protocol/apis/alter-group-offsets.js';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../protocol/apis/consumer-group-heartbeat.js';
import { JOIN_GROUP_MEMBER_EPOCH, LEAVE_GROUP_MEMBER_EPOCH } from '../../protocol/apis/consumer-group-heartbeat.js';
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/apis/delete-groups.js';
import type { DescribeGroupsRequest, DescribeGroupsResponse, DescribedOffset } from '../../protocol/apis/describe-groups.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../../protocol/apis/find-coordinator.js';
import type { GroupState, ListGroupsRequest, ListGroupsResponse } from '../../protocol/apis/list-groups.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/apis/offset-commit.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../../protocol/apis/offset-fetch.js';
import { ERRORS, RillError, rillError } from '../../protocol/errors.js';
import { ClassicGroups, DEFAULT_CLASSIC_GROUP_CONFIG, RILL_STATE_OF, type ClassicGroupConfig } from './classic/groups.js';
import { ConsumerGroup, type ClientIdentity, type GroupConfig } from './group.js';
import { writeCommits } from './commit-writes.js';
import { OffsetsExpiry, type OffsetsExpiryConfig } from './offsets-expiry.js';
import { OFFSETS_TOPIC, OffsetsTopic, type OffsetWrite } from './offsets-topic.js';
import { GroupPlacement, type CoordinatorNode, type GroupPlacementConfig } from './placement.js';

export type { CoordinatorTopics } from './placement.js';

export { OFFSET_METADATA_MAX_BYTES } from './commit-writes.js';

export interface GroupCoordinatorOptions extends GroupPlacementConfig {
  group: GroupConfig;
  /** Classic (JoinGroup/SyncGroup) groups' settings; Kafka's defaults when absent. */
  classic?: ClassicGroupConfig;
  /** Assert the group invariants after every change (tests; RILL_DEBUG_GROUPS=1). */
  debugChecks: boolean;
  /** Offsets retention (offsets-expiry.ts); Kafka's defaults (7 days, checked every 10 min) when absent. */
  offsetsRetention?: OffsetsExpiryConfig;
}

/** Kafka's `offsets.retention.minutes` (7 days) and `offsets.retention.check.interval.ms` (10 min). */
export const DEFAULT_OFFSETS_RETENTION: Readonly<OffsetsExpiryConfig> = Object.freeze({ retentionMs: 7 * 24 * 3600_000, checkIntervalMs: 600_000 });

/** One committed partition with its lag, for DescribeGroups and the lag metrics. */
export interface GroupLag {
  groupId: string;
  topic: string;
  partition: number;
  committedOffset: number;
  /** The high watermark (a single broker: the log end); -1 when this broker has no replica of the partition. */
  logEndOffset: number;
  lag: number;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroup>();
  /** Groups whose tombstones are being written: joins and commits wait (retriable error). */
  private readonly deleting = new Set<string>();
  private readonly placement: GroupPlacement;
  private closed = false;
  /** Classic groups (Kafka's JoinGroup/SyncGroup protocol, broker/groups/classic/). */
  readonly classic: ClassicGroups;
  private readonly expiry: OffsetsExpiry;

  constructor(private readonly opts: GroupCoordinatorOptions) {
    this.placement = new GroupPlacement({ ...opts, onUnload: (p) => this.unloadPartition(p) });
    this.classic = new ClassicGroups({
      config: opts.classic ?? DEFAULT_CLASSIC_GROUP_CONFIG,
      logger: opts.logger,
      consumerGroupActive: (groupId) => (this.groups.get(groupId)?.members.size ?? 0) > 0,
    });
    this.expiry = new OffsetsExpiry(
      {
        offsetsTopic: () => (this.closed ? null : this.offsetsTopic),
        liveMembers: (groupId) => (this.groups.get(groupId)?.members.size ?? 0) + this.classic.liveCount(groupId),
        isDeleting: (groupId) => this.deleting.has(groupId),
        expire: (groupId, tombstones) => this.expireOffsets(groupId, tombstones),
        logger: opts.logger,
      },
      opts.offsetsRetention ?? DEFAULT_OFFSETS_RETENTION,
    );
  }

  private get offsetsTopic(): OffsetsTopic | null {
    return this.placement.offsetsTopic;
  }

  /**
   * Standalone: creates `__consumer_offsets` unless it exists, and loads every partition of it.
   * Cluster: starts following the leadership of its partitions (created on first need).
   */
  async start(): Promise<void> {
    await this.placement.start();
    this.expiry.start();
  }

  /** Runs the offsets-retention check now instead of at its next interval; resolves with the offsets deleted. */
  expireOffsetsNow(nowMs?: number): Promise<number> {
    return this.expiry.expireNow(nowMs);
  }

  /**
   * Resolves once `__consumer_offsets` exists (standalone: and is loaded), creating it with
   * `offsets.topic.num.partitions` if needed. Concurrent callers share one creation.
   */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(rillError('COORDINATOR_NOT_AVAILABLE', 'the group coordinator is shut down'));
    return this.placement.ready();
  }

  /** Stops every member timer. Offsets are already durable; logs are closed by the broker. */
  async close(): Promise<void> {
    this.closed = true;
    this.expiry.stop();
    this.placement.close();
    this.classic.close();
    for (const g of this.groups.values()) g.close();
    this.groups.clear();
  }

  /**
   * The broker coordinating `groupId`: this one on a single broker, the leader of the group's
   * `__consumer_offsets` partition in a cluster (COORDINATOR_NOT_AVAILABLE while it has none).
   */
  coordinatorFor(groupId: string): CoordinatorNode {
    return this.placement.coordinatorFor(groupId);
  }

  findCoordinator(req: FindCoordinatorRequest): FindCoordinatorResponse {
    return {
      coordinators: req.keys.map((key) => {
        // The handler awaited ready(); this covers a shutdown in between.
        if (this.offsetsTopic === null || this.closed) {
          return { key, nodeId: -1, host: '', port: -1, errorCode: ERRORS.COORDINATOR_NOT_AVAILABLE.code, errorMessage: 'the group coordinator is not running' };
        }
        try {
          return { key, ...this.coordinatorFor(key), errorCode: 0, errorMessage: null };
        } catch (err) {
          if (!(err instanceof RillError)) throw err;
          return { key, nodeId: -1, host: '', port: -1, errorCode: err.code, errorMessage: err.message };
        }
      }),
    };
  }

  heartbeat(req: ConsumerGroupHeartbeatRequest, client: ClientIdentity): ConsumerGroupHeartbeatResponse {
    this.requireLoaded(req.groupId);
    // One kind per group id: Kafka 3.x answers a KIP-848 heartbeat for a classic group in use so.
    if (this.classic.liveCount(req.groupId) > 0) throw rillError('GROUP_ID_NOT_FOUND', `group '${req.groupId}' is a classic (JoinGroup/SyncGroup) group, not a consumer group`);
    this.classic.drop(req.groupId);
    let group = this.groups.get(req.groupId);
    if (group === undefined) {
      if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
        return { errorCode: 0, errorMessage: null, memberId: req.memberId, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH, heartbeatIntervalMs: this.opts.group.heartbeatIntervalMs, assignment: null };
      }
      if (req.memberEpoch !== JOIN_GROUP_MEMBER_EPOCH) {
        throw rillError('UNKNOWN_MEMBER_ID', `group '${req.groupId}' has no live members (the member was expelled, left, or the coordinator restarted); rejoin with memberEpoch 0`);
      }
      this.requireNotDeleting(req.groupId);
      group = this.createGroup(req.groupId);
    } else if (req.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) {
      this.requireNotDeleting(req.groupId);
    }
    try {
      return group.heartbeat(req, client);
    } finally {
      // A join that was refused must not leave a memberless, offsetless group behind.
      this.forgetIfUnused(group);
    }
  }

  /**
   * `kafka` marks a Kafka OffsetCommit: its memberEpoch is a classic generation id unless the
   * group is a KIP-848 group, and a commit for no group at all follows Kafka's classic rules.
   */
  async commitOffsets(req: OffsetCommitRequest, kafka?: { groupInstanceId: string | null }): Promise<OffsetCommitResponse> {
    const offsetsTopic = this.requireLoaded(req.groupId);
    this.requireNotDeleting(req.groupId);
    const group = this.groups.get(req.groupId);
    if (this.classic.get(req.groupId) !== undefined || (kafka !== undefined && group === undefined)) {
      this.classic.validateOffsetCommit(req.groupId, req.memberId, kafka?.groupInstanceId ?? null, req.memberEpoch);
    } else if (group !== undefined) group.validateOffsetCommit(req.memberId, req.memberEpoch);
    else if (req.memberId !== '' || req.memberEpoch >= 0) {
      throw rillError('UNKNOWN_MEMBER_ID', `member '${req.memberId}' is not a live member of group '${req.groupId}' (it has no live members); its commit is refused`);
    }
    return writeCommits(
      this.placement,
      this.opts.logger,
      offsetsTopic,
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partition, offset: p.committedOffset, metadata: p.committedMetadata })) })),
    );
  }

  async alterGroupOffsets(req: AlterGroupOffsetsRequest): Promise<AlterGroupOffsetsResponse> {
    const offsetsTopic = this.requireLoaded(req.groupId);
    this.requireNotDeleting(req.groupId);
    const live = (this.groups.get(req.groupId)?.members.size ?? 0) + this.classic.liveCount(req.groupId);
    if (live > 0) {
      throw rillError('NON_EMPTY_GROUP', `group '${req.groupId}' has ${live} live member${live === 1 ? '' : 's'}; stop them before resetting offsets`);
    }
    const { topics } = await writeCommits(this.placement, this.opts.logger, offsetsTopic, req.groupId, req.topics);
    return { errorCode: 0, errorMessage: null, topics };
  }

  fetchOffsets(req: OffsetFetchRequest): OffsetFetchResponse {
    const committed = this.loadedOrAbsent(req.groupId)?.offsets.ofGroup(req.groupId);
    if (req.topics === null) {
      const topics = [...(committed?.keys() ?? [])].sort().map((name) => ({
        name,
        partitions: [...committed!.get(name)!.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([partition, c]) => ({ partition, committedOffset: c.offset, metadata: c.metadata, errorCode: 0 })),
      }));
      return { errorCode: 0, topics };
    }
    return {
      errorCode: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partition) => {
          const c = committed?.get(t.name)?.get(partition);
          return { partition, committedOffset: c?.offset ?? -1, metadata: c?.metadata ?? null, errorCode: 0 };
        }),
      })),
    };
  }

  listGroups(req: ListGroupsRequest): ListGroupsResponse {
    if (this.closed) throw rillError('COORDINATOR_NOT_AVAILABLE', 'the group coordinator is shut down');
    const offsetsTopic = this.offsetsTopic;
    if (offsetsTopic === null) return { errorCode: this.placement.isCreating ? ERRORS.COORDINATOR_LOAD_IN_PROGRESS.code : 0, groups: [] };
    // Groups are listed only where they are loaded (in a cluster: by their coordinator).
    const loading = offsetsTopic.anyLoading;
    const ids = new Set<string>([...this.groups.keys(), ...this.classic.ids(), ...offsetsTopic.offsets.groupIds()]);
    const groups: ListGroupsResponse['groups'] = [];
    for (const groupId of [...ids].sort()) {
      if (!offsetsTopic.isLoaded(offsetsTopic.partitionFor(groupId))) continue;
      const groupState = this.stateOf(groupId);
      if (req.statesFilter !== null && req.statesFilter.length > 0 && !req.statesFilter.includes(groupState)) continue;
      groups.push({ groupId, groupState });
    }
    // Kafka's answer while some partitions still load: what is known, plus the retriable error.
    return { errorCode: loading ? ERRORS.COORDINATOR_LOAD_IN_PROGRESS.code : 0, groups };
  }

  describeGroups(req: DescribeGroupsRequest): DescribeGroupsResponse {
    return {
      groups: req.groupIds.map((groupId) => {
        const empty = { groupId, state: 'dead' as GroupState, groupEpoch: -1, assignmentEpoch: -1, members: [], offsets: [] };
        let offsetsTopic: OffsetsTopic | null;
        try {
          offsetsTopic = this.loadedOrAbsent(groupId);
        } catch (err) {
          return { ...empty, errorCode: (err as RillError).code, errorMessage: (err as RillError).message };
        }
        const group = this.groups.get(groupId);
        const classic = this.classic.get(groupId);
        if (offsetsTopic === null || (group === undefined && classic === undefined && !offsetsTopic.offsets.hasGroup(groupId))) {
          return { ...empty, errorCode: ERRORS.GROUP_ID_NOT_FOUND.code, errorMessage: `group '${groupId}' does not exist (no live members and no committed offsets)` };
        }
        const offsets: DescribedOffset[] = this.lagOf(groupId).map((l) => ({
          topic: l.topic,
          partition: l.partition,
          committedOffset: l.committedOffset,
          metadata: offsetsTopic!.offsets.get(groupId, l.topic, l.partition)?.metadata ?? null,
          logEndOffset: l.logEndOffset,
          lag: l.lag,
        }));
        return {
          groupId,
          errorCode: 0,
          errorMessage: null,
          state: this.stateOf(groupId),
          // A classic group's generation stands in for both epochs.
          groupEpoch: classic?.generationId ?? group?.groupEpoch ?? 0,
          assignmentEpoch: classic?.generationId ?? group?.assignmentEpoch ?? 0,
          members: classic !== undefined ? this.classic.describeForRill(groupId) : (group?.describeMembers() ?? []),
          offsets,
        };
      }),
    };
  }

  async deleteGroups(req: DeleteGroupsRequest): Promise<DeleteGroupsResponse> {
    const results = await Promise.all(
      [...new Set(req.groupIds)].map(async (groupId) => {
        try {
          await this.deleteGroup(groupId);
          return { groupId, errorCode: 0, errorMessage: null };
        } catch (err) {
          if (!(err instanceof RillError)) throw err;
          return { groupId, errorCode: err.code, errorMessage: err.message };
        }
      }),
    );
    return { results };
  }

  /** Committed partitions of a group with their log end offset and lag, sorted. */
  lagOf(groupId: string): GroupLag[] {
    const committed = this.offsetsTopic?.offsets.ofGroup(groupId);
    if (committed === undefined) return [];
    const out: GroupLag[] = [];
    for (const topic of [...committed.keys()].sort()) {
      for (const [partition, c] of [...committed.get(topic)!.entries()].sort((a, b) => a[0] - b[0])) {
        const log = this.placement.logOf(topic, partition);
        const logEndOffset = log === undefined || log.isClosed ? -1 : log.highWatermark;
        out.push({ groupId, topic, partition, committedOffset: c.offset, logEndOffset, lag: logEndOffset < 0 ? -1 : Math.max(0, logEndOffset - c.offset) });
      }
    }
    return out;
  }

  /** Every group with committed offsets or live members (for metrics). */
  groupIds(): string[] {
    const ids = new Set<string>([...this.groups.keys(), ...this.classic.ids()]);
    if (this.offsetsTopic !== null) for (const id of this.offsetsTopic.offsets.groupIds()) ids.add(id);
    return [...ids].sort();
  }

  /**
   * The classic groups, for a request about `groupId`: throws what the other group APIs do when
   * this broker cannot serve the group now (NOT_COORDINATOR in a cluster, still loading, shut down).
   */
  classicFor(groupId: string): ClassicGroups {
    this.requireLoaded(groupId);
    return this.classic;
  }

  /** The live membership of a group, if it has any (tests and metrics). */
  group(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  stateOf(groupId: string): GroupState {
    const classic = this.classic.get(groupId);
    if (classic !== undefined) return RILL_STATE_OF[classic.state];
    const group = this.groups.get(groupId);
    if (group !== undefined) return group.state;
    return this.offsetsTopic?.offsets.hasGroup(groupId) === true ? 'empty' : 'dead';
  }

  private async deleteGroup(groupId: string): Promise<void> {
    const offsetsTopic = this.loadedOrAbsent(groupId);
    if (offsetsTopic === null) throw rillError('GROUP_ID_NOT_FOUND', `group '${groupId}' does not exist`);
    this.requireNotDeleting(groupId);
    const group = this.groups.get(groupId);
    const live = (group?.members.size ?? 0) + this.classic.liveCount(groupId);
    if (live > 0) throw rillError('NON_EMPTY_GROUP', `group '${groupId}' has ${live} live member${live === 1 ? '' : 's'}; stop them before deleting it`);
    const committed = offsetsTopic.offsets.ofGroup(groupId);
    const classic = this.classic.get(groupId);
    if (classic !== undefined && classic.state !== 'Empty') throw rillError('NON_EMPTY_GROUP', `group '${groupId}' is ${classic.state}; stop its members before deleting it`);
    if (group === undefined && classic === undefined && committed === undefined) throw rillError('GROUP_ID_NOT_FOUND', `group '${groupId}' does not exist`);
    const tombstones: OffsetWrite[] = [];
    for (const [topic, byPartition] of committed ?? []) for (const partition of byPartition.keys()) tombstones.push({ topic, partition, value: null });
    this.deleting.add(groupId);
    try {
      await offsetsTopic.write(groupId, tombstones);
    } catch (err) {
      throw this.placement.writeErrorOf(err);
    } finally {
      this.deleting.delete(groupId);
    }
    if (this.classic.liveCount(groupId) === 0) this.classic.drop(groupId);
    const current = this.groups.get(groupId);
    if (current !== undefined && current.members.size === 0) {
      current.markDead();
      current.close();
      this.groups.delete(groupId);
    }
    this.opts.logger.info({ groupId, offsets: tombstones.length }, 'group deleted');
  }

  /** Offsets retention: tombstones as DeleteGroups writes them; the group goes once it has no offsets left. */
  private async expireOffsets(groupId: string, tombstones: OffsetWrite[]): Promise<void> {
    const offsetsTopic = this.requireLoaded(groupId);
    this.deleting.add(groupId);
    try {
      await offsetsTopic.write(groupId, tombstones);
    } finally {
      this.deleting.delete(groupId);
    }
    if (offsetsTopic.offsets.hasGroup(groupId)) return;
    if (this.classic.liveCount(groupId) === 0 && this.classic.get(groupId)?.state === 'Empty') this.classic.drop(groupId);
    const group = this.groups.get(groupId);
    if (group !== undefined) this.forgetIfUnused(group);
  }

  private createGroup(groupId: string): ConsumerGroup {
    const group = new ConsumerGroup(groupId, {
      config: this.opts.group,
      metadata: {
        partitionCount: (topic) => this.placement.partitionCount(topic),
        topicNames: () => this.placement.nonInternalTopicNames(),
      },
      logger: this.opts.logger,
      debugChecks: this.opts.debugChecks,
      onEmpty: (g) => this.forgetIfUnused(g),
    });
    this.groups.set(groupId, group);
    return group;
  }

  /**
   * This broker gave up a `__consumer_offsets` partition (or reloads it at a new epoch): its
   * groups' membership goes, so their members get NOT_COORDINATOR and find the new coordinator.
   */
  private unloadPartition(partition: number): void {
    const topic = this.offsetsTopic;
    if (topic === null) return;
    let dropped = 0;
    for (const [groupId, group] of this.groups) {
      if (topic.partitionFor(groupId) !== partition) continue;
      group.close();
      this.groups.delete(groupId);
      dropped++;
    }
    // Classic groups too; their parked joins and syncs are told to find the new coordinator.
    dropped += this.classic.unload((groupId) => topic.partitionFor(groupId) === partition);
    if (dropped > 0) this.opts.logger.info({ partition, groups: dropped }, `${OFFSETS_TOPIC}-${partition} unloaded: dropped its groups' membership`);
  }

  /** Drops the membership object of a group with no members and no offsets. */
  private forgetIfUnused(group: ConsumerGroup): void {
    if (group.members.size > 0 || this.groups.get(group.groupId) !== group) return;
    if (this.offsetsTopic?.offsets.hasGroup(group.groupId) === true) return;
    group.close();
    this.groups.delete(group.groupId);
  }

  /** For the APIs that write: `ready()` has been awaited, so the topic exists. */
  private requireLoaded(groupId: string): OffsetsTopic {
    if (this.closed) throw rillError('COORDINATOR_NOT_AVAILABLE', 'the group coordinator is shut down');
    const topic = this.offsetsTopic;
    if (topic === null) throw rillError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} does not exist yet; send FindCoordinator first`);
    return this.checkLoaded(topic, groupId);
  }

  /** For the APIs that only read: null when `__consumer_offsets` does not exist (no groups at all). */
  private loadedOrAbsent(groupId: string): OffsetsTopic | null {
    if (this.closed) throw rillError('COORDINATOR_NOT_AVAILABLE', 'the group coordinator is shut down');
    const topic = this.offsetsTopic;
    if (topic === null) {
      if (this.placement.isCreating) throw rillError('COORDINATOR_LOAD_IN_PROGRESS', `${OFFSETS_TOPIC} is being created`);
      return null;
    }
    return this.checkLoaded(topic, groupId);
  }

  private checkLoaded(topic: OffsetsTopic, groupId: string): OffsetsTopic {
    // Not owned here (NOT_COORDINATOR), still loading, or failed to load.
    const refused = topic.unavailable(groupId);
    if (refused !== null) throw refused;
    return topic;
  }

  private requireNotDeleting(groupId: string): void {
    if (this.deleting.has(groupId)) throw rillError('COORDINATOR_NOT_AVAILABLE', `group '${groupId}' is being deleted; retry`);
  }
}
