/**
 * Every classic group of this coordinator (group.ts holds one group's state machine): the
 * request-level checks Kafka's GroupCoordinator makes before a group sees a request, creation
 * on a first JoinGroup, and forgetting a group once it has no members and no offsets.
 *
 * A group id is one kind at a time (the coordinator, coordinator.ts, asks the other side):
 * a JoinGroup for an id whose KIP-848 group has live members gets INCONSISTENT_GROUP_PROTOCOL,
 * as Kafka 3.x answers a classic join to a non-empty consumer-protocol group.
 *
 * Membership is in memory; after a restart members get UNKNOWN_MEMBER_ID and rejoin (Kafka
 * reloads group metadata from __consumer_offsets; rill writes none, so a classic group comes
 * back as an Empty group with its committed offsets).
 */
import type { Logger } from 'pino';
import type { DescribedMember } from '../../../protocol/apis/describe-groups.js';
import type { GroupState } from '../../../protocol/apis/list-groups.js';
import { ErrorCode, errorFromCode, rillError } from '../../../protocol/errors.js';
import { assignedPartitionsOf, subscribedTopicsOf } from './consumer-protocol.js';
import { ClassicGroup, type ClassicGroupConfig, type ClassicState, type JoinRequest, type MemberRef, type SyncRequest } from './group.js';
import { EMPTY_BYTES, type JoinResult, type SyncResult } from './member.js';

export { ClassicGroup, type ClassicGroupConfig, type ClassicState, type JoinRequest, type MemberRef, type SyncRequest } from './group.js';
export type { ClassicProtocol, JoinResult, SyncResult } from './member.js';

export const DEFAULT_CLASSIC_GROUP_CONFIG: Readonly<ClassicGroupConfig> = Object.freeze({
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  maxSize: 1000,
});

/** Kafka's state name → rill's (lower-cased, as the KIP-848 states are). */
export const RILL_STATE_OF: Readonly<Record<ClassicState, GroupState>> = {
  Empty: 'empty',
  PreparingRebalance: 'preparing_rebalance',
  CompletingRebalance: 'completing_rebalance',
  Stable: 'stable',
  Dead: 'dead',
};

export interface ClassicGroupsDeps {
  config: ClassicGroupConfig;
  logger: Logger;
  /** True while the id names a KIP-848 group with live members. */
  consumerGroupActive: (groupId: string) => boolean;
}

export class ClassicGroups {
  private readonly groups = new Map<string, ClassicGroup>();
  private closed = false;

  constructor(private readonly deps: ClassicGroupsDeps) {}

  get(groupId: string): ClassicGroup | undefined {
    return this.groups.get(groupId);
  }

  ids(): IterableIterator<string> {
    return this.groups.keys();
  }

  /** Members (and ids reserved by MEMBER_ID_REQUIRED) of the group; 0 when unknown. */
  liveCount(groupId: string): number {
    return this.groups.get(groupId)?.size ?? 0;
  }

  async join(groupId: string, req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number): JoinResult => ({ errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: req.memberId, members: [] });
    if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const { minSessionTimeoutMs, maxSessionTimeoutMs } = this.deps.config;
    if (req.sessionTimeoutMs < minSessionTimeoutMs || req.sessionTimeoutMs > maxSessionTimeoutMs) return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    if (this.deps.consumerGroupActive(groupId)) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    let group = this.groups.get(groupId);
    if (group === undefined) {
      // Kafka: a member id for a group that does not exist is unknown (static members excepted).
      if (req.memberId !== '' && req.groupInstanceId === null) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      group = new ClassicGroup(groupId, { config: this.deps.config, logger: this.deps.logger, onMaybeEmpty: (g) => this.forgetIfUnused(g) });
      this.groups.set(groupId, group);
    }
    // Kafka takes any rebalance timeout; rill bounds how long a join may park by the largest
    // session timeout it accepts (group.max.session.timeout.ms, 30 min by default).
    const result = group.join(req.rebalanceTimeoutMs > maxSessionTimeoutMs ? { ...req, rebalanceTimeoutMs: maxSessionTimeoutMs } : req);
    // A refused first join must not leave an empty group object behind.
    this.forgetIfUnused(group);
    return result;
  }

  sync(groupId: string, req: SyncRequest): Promise<SyncResult> {
    const group = this.groups.get(groupId);
    if (group === undefined || this.closed) {
      return Promise.resolve({ errorCode: this.closed ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: EMPTY_BYTES });
    }
    return group.sync(req);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.groups.get(groupId)?.heartbeat(memberId, groupInstanceId, generationId) ?? ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** Per-member error codes; an unknown group answers UNKNOWN_MEMBER_ID for each (Kafka). */
  leave(groupId: string, members: readonly MemberRef[]): number[] {
    if (this.closed) return members.map(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const group = this.groups.get(groupId);
    if (group === undefined) return members.map(() => ErrorCode.UNKNOWN_MEMBER_ID);
    return group.leave(members);
  }

  /**
   * Kafka's checks of an OffsetCommit on a classic group, or on no group at all (where a
   * generation >= 0 means a member of a generation that no longer exists: ILLEGAL_GENERATION).
   * Throws the refusal as a RillError.
   */
  validateOffsetCommit(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): void {
    const group = this.groups.get(groupId);
    const code = group !== undefined ? group.validateOffsetCommit(memberId, groupInstanceId, generationId) : generationId >= 0 ? ErrorCode.ILLEGAL_GENERATION : 0;
    if (code === 0) return;
    const why: Record<number, string> = {
      [ErrorCode.UNKNOWN_MEMBER_ID]: `member '${memberId}' is not a member of classic group '${groupId}'`,
      [ErrorCode.ILLEGAL_GENERATION]: `generation ${generationId} is not the current generation of group '${groupId}' (${group?.generationId ?? 'none'})`,
      [ErrorCode.REBALANCE_IN_PROGRESS]: `group '${groupId}' is rebalancing; commit after the rebalance`,
      [ErrorCode.FENCED_INSTANCE_ID]: `group.instance.id '${groupInstanceId}' belongs to another member of group '${groupId}'`,
      [ErrorCode.COORDINATOR_NOT_AVAILABLE]: `group '${groupId}' was just deleted; retry`,
    };
    throw errorFromCode(code, why[code] ?? `offset commit refused by group '${groupId}'`);
  }

  /** Drops a group with no members left (DeleteGroups, or a KIP-848 group taking the id over). */
  drop(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    if (group.size > 0) throw rillError('NON_EMPTY_GROUP', `classic group '${groupId}' has ${group.size} live member${group.size === 1 ? '' : 's'}`);
    group.close();
    this.groups.delete(groupId);
  }

  /** rill's DescribeGroups members of a classic group ("consumer" protocol bytes decoded). */
  describeForRill(groupId: string): DescribedMember[] {
    const group = this.groups.get(groupId);
    if (group === undefined) return [];
    const summary = group.describe();
    const stableMembers = new Map(summary.members.map((m) => [m.memberId, m]));
    return [...group.members.values()]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
      .map((m) => {
        const metadata = m.metadataFor(group.protocolName ?? m.protocols[0]?.name ?? null);
        const consumer = group.protocolType === 'consumer';
        const assignment = consumer ? (assignedPartitionsOf(stableMembers.get(m.memberId)?.assignment ?? m.assignment) ?? []) : [];
        return {
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberEpoch: group.generationId,
          subscribedTopicNames: consumer ? (subscribedTopicsOf(metadata) ?? []) : [],
          subscribedTopicRegex: null,
          assignment,
          targetAssignment: assignment,
        };
      });
  }

  /** Drops the groups `owned` selects (their partition moved away); answers their parked requests with NOT_COORDINATOR. */
  unload(owned: (groupId: string) => boolean): number {
    let dropped = 0;
    for (const [groupId, group] of this.groups) {
      if (!owned(groupId)) continue;
      group.close(ErrorCode.NOT_COORDINATOR);
      this.groups.delete(groupId);
      dropped++;
    }
    return dropped;
  }

  /** Answers every parked join and sync (COORDINATOR_NOT_AVAILABLE) and stops every timer. */
  close(): void {
    this.closed = true;
    for (const g of this.groups.values()) g.close();
    this.groups.clear();
  }

  private forgetIfUnused(group: ClassicGroup): void {
    if (group.size > 0 || group.state !== 'Empty' || this.groups.get(group.groupId) !== group) return;
    group.close();
    this.groups.delete(group.groupId);
  }
}
