/**
 * A consumer group's membership and assignment state machine (Kafka's KIP-848).
 *
 * Epochs:
 *  - the group epoch bumps whenever membership, a subscription, or the partition count of a
 *    subscribed topic changes (topic metadata is re-checked on every heartbeat);
 *  - the target assignment is recomputed lazily, on the next heartbeat after a bump, by the
 *    sticky uniform assignor; its assignment epoch is the group epoch it was computed at (while
 *    groupEpoch > assignmentEpoch the group is 'assigning');
 *  - a member's epoch advances to the assignment epoch once it has revoked every partition
 *    that is not in its target.
 *
 * Reconciliation of one member, on each of its heartbeats:
 *  1. partitions it was granted that are no longer in its target move to `pendingRevocation`;
 *     the response's assignment drops them (assigned ∩ target), and they stay the member's
 *     until a heartbeat no longer reports them in `ownedPartitions` (or it leaves / is expelled);
 *  2. once nothing is pending, its epoch advances to the assignment epoch;
 *  3. partitions of its target that no other member holds (assigned or pending) are granted;
 *     those still held elsewhere are granted on a later heartbeat, once released.
 * Hence the invariant (checked by `assertInvariants`): no partition is ever in two live
 * members' assigned ∪ pending sets, and members whose partitions do not move keep them.
 *
 * Fencing: an unknown memberId gets UNKNOWN_MEMBER_ID; an epoch other than the member's
 * (except its previous epoch with owned ⊆ assigned: a lost response, tolerated as KIP-848
 * does) gets FENCED_MEMBER_EPOCH, and the member must drop all its partitions and rejoin with
 * memberEpoch 0 (the coordinator then releases whatever it held).
 *
 * Subscriptions (names, regexes, the subscribed topics' partition counts) are kept by
 * group-subscriptions.ts.
 *
 * Membership lives in memory only: after a broker restart members get UNKNOWN_MEMBER_ID and
 * rejoin. Committed offsets are the durable part (offsets-topic.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../protocol/apis/consumer-group-heartbeat.js';
import { JOIN_GROUP_MEMBER_EPOCH, LEAVE_GROUP_MEMBER_EPOCH } from '../../protocol/apis/consumer-group-heartbeat.js';
import type { DescribedMember } from '../../protocol/apis/describe-groups.js';
import type { GroupState } from '../../protocol/apis/list-groups.js';
import { rillError } from '../../protocol/errors.js';
import {
  addPartition,
  assignmentsEqual,
  cloneAssignment,
  emptyAssignment,
  formatAssignment,
  fromWire,
  hasPartition,
  isEmptyAssignment,
  isSubset,
  minus,
  partitionsOf,
  removePartition,
  toWire,
  type Assignment,
} from './assignment.js';
import { assignUniform, type AssignorMember } from './assignor.js';
import { GroupMember } from './member.js';
import { compileTopicRegex } from './topic-regex.js';
import { GroupSubscriptions, type TopicMetadataSource } from './group-subscriptions.js';

export type { TopicMetadataSource } from './group-subscriptions.js';

export interface GroupConfig {
  /** `group.consumer.heartbeat.interval.ms`: told to members in every response. */
  heartbeatIntervalMs: number;
  /** `group.consumer.session.timeout.ms`: used when a member sends sessionTimeoutMs <= 0. */
  sessionTimeoutMs: number;
  /** `group.consumer.min.session.timeout.ms` / `max`: bounds of a member-chosen timeout. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** `group.consumer.rebalance.timeout.ms`: revocation deadline when a member sends <= 0. */
  rebalanceTimeoutMs: number;
  /** `group.consumer.max.size`: live members per group. */
  maxSize: number;
}

export const DEFAULT_GROUP_CONFIG: Readonly<GroupConfig> = Object.freeze({
  heartbeatIntervalMs: 3_000,
  sessionTimeoutMs: 45_000,
  minSessionTimeoutMs: 1_000,
  maxSessionTimeoutMs: 1_800_000,
  rebalanceTimeoutMs: 300_000,
  maxSize: 1_000,
});

export interface ClientIdentity {
  clientId: string;
  clientHost: string;
}

export interface GroupDeps {
  config: GroupConfig;
  metadata: TopicMetadataSource;
  logger: Logger;
  /** Check the no-double-ownership invariant after every change (tests, RILL_DEBUG_GROUPS=1). */
  debugChecks: boolean;
  /** Called after the last member left or was expelled. */
  onEmpty?: (group: ConsumerGroup) => void;
}

export class ConsumerGroup {
  readonly groupId: string;
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, GroupMember>();
  /** Set when the group was deleted; a dead group object is never reused. */
  dead = false;

  private targetAssignment = new Map<string, Assignment>();
  /** topic → partition → the member holding it (assigned or pending revocation). */
  private readonly owners = new Map<string, Map<number, string>>();
  private readonly subscriptions: GroupSubscriptions;

  constructor(
    groupId: string,
    private readonly deps: GroupDeps,
  ) {
    this.groupId = groupId;
    this.subscriptions = new GroupSubscriptions(deps.metadata);
  }

  get state(): GroupState {
    if (this.dead) return 'dead';
    if (this.members.size === 0) return 'empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'assigning';
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || !isEmptyAssignment(m.pendingRevocation)) return 'reconciling';
      if (!assignmentsEqual(m.assigned, this.targetAssignment.get(m.memberId) ?? emptyAssignment())) return 'reconciling';
    }
    return 'stable';
  }

  targetOf(memberId: string): Assignment {
    return this.targetAssignment.get(memberId) ?? emptyAssignment();
  }

  /** Who holds a partition now (assigned or pending revocation), if anyone. */
  ownerOf(topic: string, partition: number): string | undefined {
    return this.owners.get(topic)?.get(partition);
  }

  /** Handles one ConsumerGroupHeartbeat. Throws a RillError for a refused heartbeat. */
  heartbeat(req: ConsumerGroupHeartbeatRequest, client: ClientIdentity): ConsumerGroupHeartbeatResponse {
    if (this.dead) throw rillError('COORDINATOR_NOT_AVAILABLE', `group '${this.groupId}' was just deleted; retry`);
    if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) return this.leave(req);

    // Validate everything before changing anything.
    const sessionTimeoutMs = req.sessionTimeoutMs > 0 ? this.checkSessionTimeout(req.sessionTimeoutMs) : null;
    const regex = req.subscribedTopicRegex === null || req.subscribedTopicRegex === '' ? null : compileTopicRegex(req.subscribedTopicRegex);
    const owned = req.ownedPartitions === null ? null : fromWire(req.ownedPartitions);
    let member = req.memberId === '' ? undefined : this.members.get(req.memberId);
    let membershipChanged = false;

    if (req.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) {
      if (member === undefined) {
        if (req.subscribedTopicNames === null && (req.subscribedTopicRegex === null || req.subscribedTopicRegex === '')) {
          throw rillError('INVALID_REQUEST', 'a joining member must send subscribedTopicNames or subscribedTopicRegex');
        }
        if (this.members.size >= this.deps.config.maxSize) {
          throw rillError('GROUP_MAX_SIZE_REACHED', `group '${this.groupId}' already has ${this.members.size} members (group.consumer.max.size)`);
        }
        const memberId = req.memberId !== '' ? req.memberId : this.newMemberId();
        member = new GroupMember(memberId, sessionTimeoutMs ?? this.deps.config.sessionTimeoutMs, this.deps.config.rebalanceTimeoutMs);
        this.members.set(memberId, member);
        membershipChanged = true;
        this.deps.logger.info({ groupId: this.groupId, memberId, clientId: client.clientId, clientHost: client.clientHost }, 'group member joined');
      } else {
        // A rejoin (after FENCED_MEMBER_EPOCH or a restart of the client's state machine):
        // the member has dropped everything, so whatever it held is free again.
        this.releaseAll(member);
        member.memberEpoch = 0;
        member.previousMemberEpoch = -1;
        member.lastSentAssignment = null;
        member.reportedOwned = emptyAssignment();
        this.deps.logger.info({ groupId: this.groupId, memberId: member.memberId }, 'group member rejoined');
      }
    } else {
      if (member === undefined) {
        throw rillError(
          'UNKNOWN_MEMBER_ID',
          `member '${req.memberId}' is not a live member of group '${this.groupId}' (it left, was expelled after its session timeout, or the coordinator restarted); rejoin with memberEpoch 0`,
        );
      }
      if (req.memberEpoch !== member.memberEpoch) {
        const tolerated = req.memberEpoch === member.previousMemberEpoch && owned !== null && isSubset(owned, member.assigned);
        if (!tolerated) {
          throw rillError(
            'FENCED_MEMBER_EPOCH',
            `member '${member.memberId}' of group '${this.groupId}' sent epoch ${req.memberEpoch} but its epoch is ${member.memberEpoch}; drop all partitions and rejoin with memberEpoch 0`,
          );
        }
      }
    }

    if (sessionTimeoutMs !== null) member.sessionTimeoutMs = sessionTimeoutMs;
    if (req.rebalanceTimeoutMs > 0) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = client.clientId;
    member.clientHost = client.clientHost;
    if (owned !== null) member.reportedOwned = owned;
    if (this.subscriptions.update(member, req.subscribedTopicNames, req.subscribedTopicRegex, regex)) membershipChanged = true;
    const current = member;
    member.touchSession(() => this.expel(current, 'session timeout'));

    if (this.subscriptions.refresh() || membershipChanged) this.bumpGroupEpoch(membershipChanged ? 'membership or subscription changed' : 'subscribed topic metadata changed');
    if (this.groupEpoch > this.assignmentEpoch) this.computeTargetAssignment();
    this.reconcile(member);
    if (this.deps.debugChecks) this.assertInvariants();

    const send =
      member.lastSentAssignment === null ||
      !assignmentsEqual(member.lastSentAssignment, member.assigned) ||
      (owned !== null && !assignmentsEqual(owned, member.assigned));
    if (send) member.lastSentAssignment = cloneAssignment(member.assigned);
    return {
      errorCode: 0,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.deps.config.heartbeatIntervalMs,
      assignment: send ? { topicPartitions: toWire(member.assigned) } : null,
    };
  }

  /**
   * Checks that a member-scoped OffsetCommit may proceed; throws the refusal otherwise.
   * memberId '' with a negative epoch is a "simple" commit (an admin or a consumer without
   * group management), accepted only while the group has no live members.
   */
  validateOffsetCommit(memberId: string, memberEpoch: number): void {
    if (memberId === '' && memberEpoch < 0) {
      if (this.members.size > 0) {
        throw rillError(
          'NON_EMPTY_GROUP',
          `group '${this.groupId}' has ${this.members.size} live members; a commit without memberId/memberEpoch is accepted only while it has none`,
        );
      }
      return;
    }
    const member = this.members.get(memberId);
    if (member === undefined) {
      throw rillError(
        'UNKNOWN_MEMBER_ID',
        `member '${memberId}' is not a live member of group '${this.groupId}' (it left or was expelled after its session timeout); its commit is refused`,
      );
    }
    if (memberEpoch < member.memberEpoch) {
      throw rillError(
        'STALE_MEMBER_EPOCH',
        `member '${memberId}' committed with epoch ${memberEpoch} but its epoch is now ${member.memberEpoch}; retry with the epoch of its latest heartbeat response`,
      );
    }
    if (memberEpoch > member.memberEpoch) {
      throw rillError('FENCED_MEMBER_EPOCH', `member '${memberId}' committed with epoch ${memberEpoch}, ahead of its epoch ${member.memberEpoch}`);
    }
  }

  describeMembers(): DescribedMember[] {
    return [...this.members.values()]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
      .map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberEpoch: m.memberEpoch,
        subscribedTopicNames: [...m.subscribedTopicNames],
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: toWire(m.owned()),
        targetAssignment: toWire(this.targetOf(m.memberId)),
      }));
  }

  /** Stops every member's timers (broker shutdown, group deletion). */
  close(): void {
    for (const m of this.members.values()) m.dispose();
  }

  /** Marks the group deleted: it must have no members. */
  markDead(): void {
    assert.equal(this.members.size, 0, 'only an empty group can be deleted');
    this.dead = true;
  }

  /**
   * The invariant of the whole protocol: no partition is in two live members' assigned ∪
   * pending sets, and the owners index agrees with the members' sets.
   */
  assertInvariants(): void {
    const seen = new Map<string, string>();
    for (const m of this.members.values()) {
      for (const set of [m.assigned, m.pendingRevocation]) {
        for (const [t, p] of partitionsOf(set)) {
          const key = `${t}\u0000${p}`;
          const other = seen.get(key);
          assert.equal(other, undefined, `${t}-${p} is held by both ${other} and ${m.memberId} in group '${this.groupId}'`);
          seen.set(key, m.memberId);
          assert.equal(this.ownerOf(t, p), m.memberId, `owners index disagrees for ${t}-${p} in group '${this.groupId}'`);
        }
      }
      for (const [t, p] of partitionsOf(m.assigned)) {
        assert.ok(!hasPartition(m.pendingRevocation, t, p), `${t}-${p} is both assigned and pending for ${m.memberId}`);
      }
    }
    let indexed = 0;
    for (const byPartition of this.owners.values()) indexed += byPartition.size;
    assert.equal(indexed, seen.size, `owners index of group '${this.groupId}' holds ${indexed} partitions, members hold ${seen.size}`);
  }

  private leave(req: ConsumerGroupHeartbeatRequest): ConsumerGroupHeartbeatResponse {
    const member = this.members.get(req.memberId);
    // Leaving is idempotent: a retried leave of a member already gone succeeds.
    if (member !== undefined) {
      this.removeMember(member);
      this.deps.logger.info({ groupId: this.groupId, memberId: member.memberId }, 'group member left');
    }
    return {
      errorCode: 0,
      errorMessage: null,
      memberId: req.memberId,
      memberEpoch: LEAVE_GROUP_MEMBER_EPOCH,
      heartbeatIntervalMs: this.deps.config.heartbeatIntervalMs,
      assignment: null,
    };
  }

  /** Expels a member (session or revocation timeout); its partitions are free at once. */
  private expel(member: GroupMember, reason: string): void {
    if (this.members.get(member.memberId) !== member) return;
    this.deps.logger.info({ groupId: this.groupId, memberId: member.memberId, reason }, 'group member expelled');
    this.removeMember(member);
  }

  private removeMember(member: GroupMember): void {
    this.releaseAll(member);
    member.dispose();
    this.members.delete(member.memberId);
    this.targetAssignment.delete(member.memberId);
    this.subscriptions.update(member, [], '', null);
    this.bumpGroupEpoch('member removed');
    if (this.members.size === 0) {
      this.targetAssignment.clear();
      this.assignmentEpoch = this.groupEpoch;
    }
    if (this.deps.debugChecks) this.assertInvariants();
    if (this.members.size === 0) this.deps.onEmpty?.(this);
  }

  private releaseAll(member: GroupMember): void {
    for (const set of [member.assigned, member.pendingRevocation]) {
      for (const [t, p] of partitionsOf(set)) this.clearOwner(t, p, member.memberId);
    }
    member.assigned = emptyAssignment();
    member.pendingRevocation = emptyAssignment();
    member.clearRevocationDeadline();
  }

  private setOwner(topic: string, partition: number, memberId: string): void {
    let byPartition = this.owners.get(topic);
    if (byPartition === undefined) this.owners.set(topic, (byPartition = new Map()));
    assert.equal(byPartition.get(partition), undefined, `${topic}-${partition} granted to ${memberId} while held`);
    byPartition.set(partition, memberId);
  }

  private clearOwner(topic: string, partition: number, memberId: string): void {
    const byPartition = this.owners.get(topic);
    assert.equal(byPartition?.get(partition), memberId, `${topic}-${partition} released by ${memberId}, which does not hold it`);
    byPartition!.delete(partition);
    if (byPartition!.size === 0) this.owners.delete(topic);
  }

  private reconcile(member: GroupMember): void {
    const target = this.targetOf(member.memberId);
    // 1. Revoke first: what it was granted but is no longer its target waits for its release.
    for (const [t, p] of partitionsOf(minus(member.assigned, target))) {
      removePartition(member.assigned, t, p);
      addPartition(member.pendingRevocation, t, p);
    }
    for (const [t, p] of partitionsOf(member.pendingRevocation)) {
      if (!hasPartition(member.reportedOwned, t, p)) {
        removePartition(member.pendingRevocation, t, p);
        this.clearOwner(t, p, member.memberId);
      }
    }
    if (!isEmptyAssignment(member.pendingRevocation)) {
      member.startRevocationDeadline(() =>
        this.expel(member, `did not revoke ${formatAssignment(member.pendingRevocation)} within its rebalance timeout of ${member.rebalanceTimeoutMs} ms`),
      );
      return;
    }
    member.clearRevocationDeadline();
    // 2. Nothing left to revoke: the member reaches the assignment epoch.
    if (member.memberEpoch !== this.assignmentEpoch) {
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = this.assignmentEpoch;
    }
    // 3. Grant what is free; what another member still holds comes on a later heartbeat.
    for (const [t, p] of partitionsOf(minus(target, member.assigned))) {
      if (this.ownerOf(t, p) !== undefined) continue;
      addPartition(member.assigned, t, p);
      this.setOwner(t, p, member.memberId);
    }
  }

  private computeTargetAssignment(): void {
    const assignorMembers: AssignorMember[] = [];
    for (const m of this.members.values()) assignorMembers.push({ memberId: m.memberId, subscribedTopics: this.subscriptions.topicsOf(m) });
    this.targetAssignment = assignUniform(assignorMembers, this.subscriptions.partitionCounts, this.targetAssignment);
    this.assignmentEpoch = this.groupEpoch;
    this.deps.logger.debug({ groupId: this.groupId, assignmentEpoch: this.assignmentEpoch, members: this.members.size }, 'target assignment computed');
  }

  private bumpGroupEpoch(reason: string): void {
    this.groupEpoch++;
    this.subscriptions.refresh();
    this.deps.logger.debug({ groupId: this.groupId, groupEpoch: this.groupEpoch, reason }, 'group epoch bumped');
  }

  private checkSessionTimeout(requestedMs: number): number {
    const { minSessionTimeoutMs: min, maxSessionTimeoutMs: max, sessionTimeoutMs } = this.deps.config;
    if (requestedMs < min || requestedMs > max) {
      throw rillError(
        'INVALID_SESSION_TIMEOUT',
        `sessionTimeoutMs ${requestedMs} is outside the broker's range [${min}, ${max}] (group.consumer.min/max.session.timeout.ms); send 0 to use the broker default of ${sessionTimeoutMs} ms`,
      );
    }
    return requestedMs;
  }

  private newMemberId(): string {
    for (;;) {
      const id = randomUUID();
      if (!this.members.has(id)) return id;
    }
  }
}
