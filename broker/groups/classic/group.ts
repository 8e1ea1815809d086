/**
 * One classic consumer group: Kafka 3.x's GroupCoordinator state machine for JoinGroup,
 * SyncGroup, Heartbeat and LeaveGroup, with client-side assignment by the group leader.
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / deadline──▶ CompletingRebalance
 *     ▲                  ▲   ▲                                         │ leader's SyncGroup
 *     └─ last member gone┘   └──── join with new metadata, leave, expiry ◀── Stable ◀┘
 *   Dead: deleted (DeleteGroups) or the coordinator shut down; every parked request answered.
 *
 * Rebalance: the first rebalance of an Empty group waits `group.initial.rebalance.delay.ms`,
 * extended by that much while new members keep arriving, never past the largest rebalance
 * timeout of its members (Kafka's InitialDelayedJoin). Later rebalances complete as soon as
 * every member has rejoined (and no member told MEMBER_ID_REQUIRED is still expected), or at
 * the rebalance deadline, when members that did not rejoin are removed. Completing bumps the
 * generation, picks the protocol every member supports with the most first-preference votes,
 * answers every parked join (the leader's answer carries all members' metadata) and starts a
 * sync deadline (the rebalance timeout): members that never send SyncGroup by then are
 * removed and the group rebalances again.
 *
 * Errors are answered as Kafka's codes in the results (parked requests cannot throw); the
 * results themselves are built in answers.ts, who may act in member-checks.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../../../protocol/errors.js';
import { ClassicMember, EMPTY_BYTES, type JoinResult, type SyncResult } from './member.js';
import { selectProtocol, supportsProtocols } from './protocols.js';
import { describeGroup, joinError, joinResult, syncError, syncResult } from './answers.js';
import { isFenced, validateOffsetCommit } from './member-checks.js';
import type { ClassicGroupConfig, ClassicGroupSummary, ClassicState, JoinRequest, MemberRef, SyncRequest } from './types.js';

export type { ClassicGroupConfig, ClassicGroupSummary, ClassicState, JoinRequest, MemberRef, SyncRequest } from './types.js';

export interface ClassicGroupDeps {
  config: ClassicGroupConfig;
  logger: Logger;
  /** After a change that may have left the group with no members. */
  onMaybeEmpty: (group: ClassicGroup) => void;
}

export class ClassicGroup {
  state: ClassicState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, ClassicMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, expiring after the session timeout. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** group.instance.id → member id of the static member holding it. */
  readonly staticMembers = new Map<string, string>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  private readonly pendingSync = new Set<string>();
  private joinTimer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  /** While the initial delay runs: rebalance time left to extend it by, and whether to. */
  private initialDelay: { remainingMs: number; newMemberAdded: boolean } | null = null;

  constructor(
    readonly groupId: string,
    private readonly deps: ClassicGroupDeps,
  ) {}

  get size(): number {
    return this.members.size + this.pendingMembers.size;
  }

  join(req: JoinRequest): Promise<JoinResult> {
    if (this.state === 'Dead') return Promise.resolve(joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!supportsProtocols(this.members.values(), this.protocolType, req.protocolType, req.protocols)) return Promise.resolve(joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    return req.memberId === '' ? this.joinNewMember(req) : this.joinKnownMember(req);
  }

  sync(req: SyncRequest): Promise<SyncResult> {
    const fail = (errorCode: number): Promise<SyncResult> => Promise.resolve(syncError(errorCode));
    if (this.state === 'Dead') return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (isFenced(this, req.memberId, req.groupInstanceId)) return fail(ErrorCode.FENCED_INSTANCE_ID);
    const member = this.members.get(req.memberId);
    if (member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== this.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    if ((req.protocolType !== null && req.protocolType !== this.protocolType) || (req.protocolName !== null && req.protocolName !== this.protocolName)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (this.state) {
      case 'Empty':
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      case 'PreparingRebalance':
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        this.syncReceived(req.memberId);
        member.touchSession(() => this.expire(member));
        return Promise.resolve(syncResult(this, member));
      case 'CompletingRebalance': {
        this.syncReceived(req.memberId);
        // A re-sent sync replaces the parked one, which is told to rejoin.
        member.answerSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        const parked = new Promise<SyncResult>((resolve) => (member.awaitingSync = resolve));
        member.stopSession();
        if (req.memberId === this.leaderId) this.applyAssignments(req.assignments);
        return parked;
      }
    }
  }

  /** Returns Kafka's error code for the heartbeat (0 = fine). */
  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (isFenced(this, memberId, groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = this.members.get(memberId);
    if (member === undefined || this.state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    member.touchSession(() => this.expire(member));
    return this.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : 0;
  }

  /** LeaveGroup for each of `members`; returns their error codes in order. */
  leave(members: readonly MemberRef[]): number[] {
    const codes = members.map((ref) => this.leaveOne(ref));
    this.deps.onMaybeEmpty(this);
    return codes;
  }

  /** Kafka's validateOffsetCommit (member-checks.ts): 0 when the OffsetCommit may write. */
  validateOffsetCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    return validateOffsetCommit(this, memberId, groupInstanceId, generationId);
  }

  /** Kafka's GroupMetadata.summary (answers.ts). */
  describe(): ClassicGroupSummary {
    return describeGroup(this);
  }

  /** Marks the group deleted or unloaded: every parked request is answered with `errorCode`. */
  close(errorCode: number = ErrorCode.COORDINATOR_NOT_AVAILABLE): void {
    this.state = 'Dead';
    this.clearJoinTimer();
    this.clearSyncTimer();
    for (const timer of this.pendingMembers.values()) clearTimeout(timer);
    this.pendingMembers.clear();
    for (const m of this.members.values()) {
      m.stopSession();
      m.answerJoin(joinError(m.memberId, errorCode));
      m.answerSync(syncError(errorCode));
    }
  }

  // ------------------------------------------------------------------------------ joining

  private joinNewMember(req: JoinRequest): Promise<JoinResult> {
    if (this.size >= this.deps.config.maxSize) return Promise.resolve(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    const memberId = `${req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const existing = this.staticMembers.get(req.groupInstanceId);
      if (existing !== undefined) return this.replaceStaticMember(existing, memberId, req);
      return this.addMemberAndRebalance(memberId, req);
    }
    if (req.requireKnownMemberId) {
      // Kafka (KIP-394): hand out the id first, so a client that times out and retries does
      // not leave an orphan member behind; the id is reserved for one session timeout.
      const timer = setTimeout(() => this.expirePending(memberId), req.sessionTimeoutMs);
      timer.unref();
      this.pendingMembers.set(memberId, timer);
      return Promise.resolve(joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    return this.addMemberAndRebalance(memberId, req);
  }

  private joinKnownMember(req: JoinRequest): Promise<JoinResult> {
    const pending = this.pendingMembers.get(req.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.pendingMembers.delete(req.memberId);
      return this.addMemberAndRebalance(req.memberId, req);
    }
    if (isFenced(this, req.memberId, req.groupInstanceId)) return Promise.resolve(joinError(req.memberId, ErrorCode.FENCED_INSTANCE_ID));
    const member = this.members.get(req.memberId);
    if (member === undefined) return Promise.resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    switch (this.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(member, req);
      case 'CompletingRebalance':
        // A retried join of this generation: answer it again unless its metadata changed.
        if (member.matches(req.protocols)) return Promise.resolve(joinResult(this, member));
        return this.updateMemberAndRebalance(member, req);
      case 'Stable':
        if (member.memberId === this.leaderId || !member.matches(req.protocols)) return this.updateMemberAndRebalance(member, req);
        return Promise.resolve(joinResult(this, member));
      default:
        return Promise.resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private addMemberAndRebalance(memberId: string, req: JoinRequest): Promise<JoinResult> {
    const member = this.newMember(memberId, req);
    if (this.members.size === 0) this.protocolType = req.protocolType;
    this.members.set(memberId, member);
    if (req.groupInstanceId !== null) this.staticMembers.set(req.groupInstanceId, memberId);
    if (this.leaderId === null) this.leaderId = memberId;
    if (this.initialDelay !== null) this.initialDelay.newMemberAdded = true;
    this.deps.logger.info({ groupId: this.groupId, memberId, clientId: req.clientId, groupInstanceId: req.groupInstanceId }, 'classic group member joined');
    const parked = this.park(member);
    this.maybePrepareRebalance(`member ${memberId} joined`);
    return parked;
  }

  private updateMemberAndRebalance(member: ClassicMember, req: JoinRequest): Promise<JoinResult> {
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    const parked = this.park(member);
    this.maybePrepareRebalance(`member ${member.memberId} rejoined`);
    return parked;
  }

  /**
   * A static member (group.instance.id) came back under a new member id: the old id is
   * fenced (its parked requests get FENCED_INSTANCE_ID) and the new one takes its place and
   * assignment. In a Stable group with unchanged metadata no rebalance is needed, unless it
   * was the leader (the leader must see the members' metadata again).
   */
  private replaceStaticMember(oldId: string, newId: string, req: JoinRequest): Promise<JoinResult> {
    const old = this.members.get(oldId)!;
    old.answerJoin(joinError(oldId, ErrorCode.FENCED_INSTANCE_ID));
    old.answerSync(syncError(ErrorCode.FENCED_INSTANCE_ID));
    old.stopSession();
    const unchanged = this.state === 'Stable' && old.matches(req.protocols) && oldId !== this.leaderId;
    this.members.delete(oldId);
    const member = this.newMember(newId, req);
    member.assignment = old.assignment;
    this.members.set(newId, member);
    this.staticMembers.set(req.groupInstanceId!, newId);
    if (this.pendingSync.delete(oldId)) this.pendingSync.add(newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    this.deps.logger.info({ groupId: this.groupId, oldId, memberId: newId, groupInstanceId: req.groupInstanceId }, 'classic static member replaced');
    if (unchanged) {
      member.touchSession(() => this.expire(member));
      return Promise.resolve(joinResult(this, member));
    }
    return this.updateMemberAndRebalance(member, req);
  }

  private park(member: ClassicMember): Promise<JoinResult> {
    // A re-sent join replaces the parked one; the old request is told to retry.
    member.answerJoin(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    const parked = new Promise<JoinResult>((resolve) => (member.awaitingJoin = resolve));
    member.stopSession();
    return parked;
  }

  // ---------------------------------------------------------------------------- rebalancing

  private maybePrepareRebalance(reason: string): void {
    if (this.state === 'Stable' || this.state === 'CompletingRebalance' || this.state === 'Empty') this.prepareRebalance(reason);
    else if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
  }

  private prepareRebalance(reason: string): void {
    if (this.state === 'CompletingRebalance') this.resetAssignments();
    this.clearSyncTimer();
    this.clearJoinTimer();
    const rebalanceTimeoutMs = this.maxRebalanceTimeoutMs();
    const initial = this.state === 'Empty';
    this.state = 'PreparingRebalance';
    this.deps.logger.info({ groupId: this.groupId, generationId: this.generationId, reason }, 'classic group preparing rebalance');
    if (initial) {
      const delayMs = Math.min(this.deps.config.initialRebalanceDelayMs, rebalanceTimeoutMs);
      this.initialDelay = { remainingMs: rebalanceTimeoutMs - delayMs, newMemberAdded: false };
      this.armJoinTimer(delayMs, () => this.onInitialDelay());
    } else {
      this.armJoinTimer(rebalanceTimeoutMs, () => this.completeJoin());
      this.maybeCompleteJoin();
    }
  }

  private onInitialDelay(): void {
    const delay = this.initialDelay;
    if (delay !== null && delay.newMemberAdded && delay.remainingMs > 0) {
      const stepMs = Math.min(this.deps.config.initialRebalanceDelayMs, delay.remainingMs);
      delay.remainingMs -= stepMs;
      delay.newMemberAdded = false;
      this.armJoinTimer(stepMs, () => this.onInitialDelay());
      return;
    }
    this.completeJoin();
  }

  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance' || this.initialDelay !== null) return;
    if (this.pendingMembers.size > 0) return;
    for (const m of this.members.values()) if (m.awaitingJoin === null) return;
    this.completeJoin();
  }

  private completeJoin(): void {
    this.clearJoinTimer();
    this.initialDelay = null;
    if (this.state !== 'PreparingRebalance') return;
    for (const m of [...this.members.values()]) {
      if (m.awaitingJoin === null) this.removeMember(m, 'did not rejoin before the rebalance timeout');
    }
    this.generationId++;
    if (this.members.size === 0) {
      this.state = 'Empty';
      this.protocolName = null;
      this.leaderId = null;
      this.deps.logger.info({ groupId: this.groupId, generationId: this.generationId }, 'classic group is empty');
      this.deps.onMaybeEmpty(this);
      return;
    }
    if (this.leaderId === null || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value!;
    this.protocolName = selectProtocol([...this.members.values()]);
    this.state = 'CompletingRebalance';
    this.pendingSync.clear();
    for (const id of this.members.keys()) this.pendingSync.add(id);
    this.syncTimer = setTimeout(() => this.onSyncExpired(), this.maxRebalanceTimeoutMs());
    this.syncTimer.unref();
    this.deps.logger.info(
      { groupId: this.groupId, generationId: this.generationId, protocolName: this.protocolName, leader: this.leaderId, members: this.members.size },
      'classic group rebalance: join complete',
    );
    for (const m of this.members.values()) {
      m.answerJoin(joinResult(this, m));
      m.touchSession(() => this.expire(m));
    }
  }

  private applyAssignments(assignments: SyncRequest['assignments']): void {
    const given = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const m of this.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY_BYTES;
    this.state = 'Stable';
    this.deps.logger.info({ groupId: this.groupId, generationId: this.generationId }, 'classic group stable');
    for (const m of this.members.values()) {
      if (m.awaitingSync === null) continue;
      m.answerSync(syncResult(this, m));
      m.touchSession(() => this.expire(m));
    }
  }

  /** A rebalance began before the leader synced: the parked syncs are told to rejoin. */
  private resetAssignments(): void {
    for (const m of this.members.values()) {
      m.assignment = EMPTY_BYTES;
      if (m.awaitingSync === null) continue;
      m.answerSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      m.touchSession(() => this.expire(m));
    }
  }

  private onSyncExpired(): void {
    this.syncTimer = null;
    if (this.state !== 'CompletingRebalance' && this.state !== 'Stable') return;
    const late = [...this.pendingSync].map((id) => this.members.get(id)).filter((m) => m !== undefined);
    if (late.length === 0) return;
    for (const m of late) this.removeMember(m, 'did not send SyncGroup before the rebalance timeout');
    this.prepareRebalance('members failed to sync');
    this.deps.onMaybeEmpty(this);
  }

  private syncReceived(memberId: string): void {
    this.pendingSync.delete(memberId);
    if (this.pendingSync.size === 0) this.clearSyncTimer();
  }

  // ------------------------------------------------------------------------- leaving, expiry

  private leaveOne(ref: MemberRef): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    let memberId = ref.memberId;
    if (memberId === '' && ref.groupInstanceId !== null) {
      const id = this.staticMembers.get(ref.groupInstanceId);
      if (id === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      memberId = id;
    }
    const pending = this.pendingMembers.get(memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.pendingMembers.delete(memberId);
      this.maybeCompleteJoin();
      return 0;
    }
    if (isFenced(this, memberId, ref.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = this.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMemberAndUpdateGroup(member, 'left the group');
    return 0;
  }

  private expire(member: ClassicMember): void {
    if (this.members.get(member.memberId) !== member) return;
    this.removeMemberAndUpdateGroup(member, `session timeout (${member.sessionTimeoutMs} ms) expired`);
    this.deps.onMaybeEmpty(this);
  }

  private expirePending(memberId: string): void {
    if (!this.pendingMembers.delete(memberId)) return;
    this.maybeCompleteJoin();
    this.deps.onMaybeEmpty(this);
  }

  private removeMemberAndUpdateGroup(member: ClassicMember, reason: string): void {
    this.removeMember(member, reason);
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance(`member ${member.memberId} ${reason}`);
    else if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
  }

  private removeMember(member: ClassicMember, reason: string): void {
    member.stopSession();
    member.answerJoin(joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    member.answerSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.members.delete(member.memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === member.memberId) this.staticMembers.delete(member.groupInstanceId);
    this.pendingSync.delete(member.memberId);
    if (this.leaderId === member.memberId) this.leaderId = this.members.keys().next().value ?? null;
    this.deps.logger.info({ groupId: this.groupId, memberId: member.memberId, reason }, 'classic group member removed');
  }

  // ------------------------------------------------------------------------------- helpers

  private maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  private newMember(memberId: string, req: JoinRequest): ClassicMember {
    return new ClassicMember({
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocols: req.protocols,
    });
  }

  private armJoinTimer(ms: number, fn: () => void): void {
    this.clearJoinTimer();
    this.joinTimer = setTimeout(fn, ms);
    this.joinTimer.unref();
  }

  private clearJoinTimer(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }

  private clearSyncTimer(): void {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
  }
}
