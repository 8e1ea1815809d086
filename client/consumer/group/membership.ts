/**
 * A consumer's membership of its group: Kafka's KIP-848 heartbeat loop, as docs/OPERATIONS.md
 * ("## Consumer groups") describes the protocol.
 *
 * - Join: memberEpoch 0 with a client-made memberId (so a retried join after a lost response
 *   cannot leave an orphan member behind) and the subscription.
 * - Heartbeat every `heartbeatIntervalMs` (the coordinator's value from its latest response),
 *   always with `ownedPartitions`; the subscription is sent on join, after it changed, and after
 *   any failed heartbeat (a "full" heartbeat). One timer; at most one heartbeat in flight —
 *   a heartbeat wanted while one is out is sent as soon as that one is answered.
 * - Assignment (the partitions the member may own now) is reconciled one step at a time,
 *   never two at once:
 *     revoked  = owned − assignment: stop fetching, wait until their in-flight messages are
 *                processed (consumer.revokePartitions), commit what was processed (autoCommit),
 *                call onRevoke, stop reporting them and heartbeat at once so the next owner
 *                gets them without waiting for the interval;
 *     assigned = assignment − owned: look up their committed offsets (OffsetFetch; none →
 *                earliest/latest per fromBeginning), call onAssign, start fetching, report
 *                them at once.
 * - UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH: the partitions are no longer ours. Drop them all
 *   WITHOUT committing (another member may own them already), call onRevoke with `lost`, and
 *   rejoin with epoch 0 and the same memberId.
 * - Retriable trouble (coordinator moved or loading, lost connection, timeout): look the
 *   coordinator up again and retry with capped exponential backoff, reconnecting as needed.
 * - Session guard: with no successful heartbeat for `sessionTimeoutMs` the coordinator has
 *   expelled us by now, so stop consuming (drop everything, as when fenced) and keep trying to
 *   rejoin.
 * - Other errors (INVALID_SESSION_TIMEOUT, GROUP_MAX_SIZE_REACHED, a refused regex, ...) stop
 *   the membership and are surfaced through `onFatal`.
 * - leave(): finish reconciling, give everything up (with a final commit when autoCommit),
 *   then a heartbeat with memberEpoch -1, which frees the partitions at once.
 */
import type { Logger } from 'pino';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../../protocol/apis/consumer-group-heartbeat.js';
import { JOIN_GROUP_MEMBER_EPOCH, LEAVE_GROUP_MEMBER_EPOCH } from '../../../protocol/apis/consumer-group-heartbeat.js';
import { ErrorCode, RillError, errorFromCode, isRetriable, rillError } from '../../../protocol/errors.js';
import { partitionKey } from '../../topic-partition.js';
import type { AssignOptions, ProcessedOffset } from '../types.js';
import { backoffMs } from '../../retry.js';
import type { GroupJoinEvent, RebalanceEvent, RetryOptions, RevokedPartition, TopicPartition, TopicPartitionOffset } from '../../types.js';
import { CoordinatorChannel } from './coordinator-channel.js';
import type { MemberIdentity, OffsetCommitter } from './offset-committer.js';
import type { Subscription } from './subscription.js';
import { assignmentOf, heartbeatRequest, leaveRequest, type HeartbeatMember } from './heartbeat-requests.js';
import { givePartitionsUp, runCallback, startOffsets } from './handover.js';

/** A leave is one attempt: the coordinator frees the partitions at the session timeout anyway. */
const LEAVE_TIMEOUT_MS = 5_000;

/** The consumer hooks membership drives (consumer.ts). */
export interface MembershipConsumer {
  assignPartitions(list: TopicPartitionOffset[], opts: AssignOptions): void;
  revokePartitions(list: TopicPartition[]): Promise<ProcessedOffset[]>;
}

export interface MembershipOptions {
  channel: CoordinatorChannel;
  committer: OffsetCommitter;
  consumer: MembershipConsumer;
  groupId: string;
  memberId: string;
  sessionTimeoutMs: number;
  /** 0: the coordinator's group.consumer.rebalance.timeout.ms. */
  rebalanceTimeoutMs: number;
  /** Until the coordinator says otherwise. */
  heartbeatIntervalMs: number;
  requestTimeoutMs: number;
  retry: RetryOptions;
  autoCommit: boolean;
  logger: Logger;
  /** Where a partition without a committed offset starts. */
  startOffset: () => 'earliest' | 'latest';
  onAssign?: ((partitions: TopicPartition[]) => Promise<void> | void) | undefined;
  onRevoke?: ((partitions: RevokedPartition[]) => Promise<void> | void) | undefined;
  onJoin: (event: GroupJoinEvent) => void;
  onRebalance: (event: RebalanceEvent) => void;
  /** Trouble that does not end the membership (a failed commit, a throwing callback). */
  onError: (err: Error) => void;
  /** The membership ended on a non-retriable error. */
  onFatal: (err: Error) => void;
}

type Status = 'idle' | 'active' | 'leaving' | 'stopped';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Membership {
  readonly groupId: string;
  private readonly opts: MembershipOptions;
  private readonly log: Logger;
  private memberId: string;
  private memberEpoch = JOIN_GROUP_MEMBER_EPOCH;
  private status: Status = 'idle';
  private subscription: Subscription | null = null;
  private sendSubscription = true;
  /** Partitions this member owns and reports (partition key → partition). */
  private readonly owned = new Map<string, TopicPartition>();
  /** The latest assignment the coordinator sent, or null before the first (and after losing everything). */
  private target: Map<string, TopicPartition> | null = null;
  private intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private heartbeatSoon = false;
  private failures = 0;
  private joinSent = false;
  private everJoined = false;
  private sessionGuard: NodeJS.Timeout | null = null;
  /** Bumped whenever everything is dropped: work started before it is abandoned. */
  private generation = 0;
  private reconciling: Promise<void> | null = null;
  private reconcileAgain = false;
  private dropping: Promise<void> | null = null;
  private leaving: Promise<void> | null = null;
  private joinWaiters: Waiter[] = [];
  private heartbeatWaiters: Waiter[] = [];

  constructor(opts: MembershipOptions) {
    this.opts = opts;
    this.groupId = opts.groupId;
    this.memberId = opts.memberId;
    this.intervalMs = opts.heartbeatIntervalMs;
    this.log = opts.logger.child({ groupId: opts.groupId, memberId: opts.memberId });
  }

  /** The member as commits must name it, or null while not a member. */
  identity(): MemberIdentity | null {
    if (this.memberEpoch <= 0 || this.dropping !== null || (this.status !== 'active' && this.status !== 'leaving')) return null;
    return { memberId: this.memberId, memberEpoch: this.memberEpoch };
  }

  get id(): string {
    return this.memberId;
  }

  get epoch(): number {
    return this.memberEpoch;
  }

  /** The partitions owned right now. */
  ownedPartitions(): TopicPartition[] {
    return [...this.owned.values()];
  }

  /**
   * Joins with `subscription`, or sends a changed subscription when already in. Resolves after
   * the coordinator accepted it; rejects on a non-retriable error, or when the first join failed
   * `retry.retries + 1` times in a row (the membership is then stopped).
   */
  subscribe(subscription: Subscription): Promise<void> {
    if (this.status === 'leaving' || this.status === 'stopped') return Promise.reject(new Error('the consumer has left its group'));
    this.subscription = subscription;
    this.sendSubscription = true;
    if (this.status === 'idle') this.status = 'active';
    if (!this.everJoined) {
      const joined = new Promise<void>((resolve, reject) => this.joinWaiters.push({ resolve, reject }));
      this.heartbeatNow();
      return joined;
    }
    return this.nextHeartbeat();
  }

  /** Resolves after the next successful heartbeat (sent at once); rejects when the member is fenced or leaves. */
  nextHeartbeat(): Promise<void> {
    if (this.status !== 'active') return Promise.reject(rillError('UNKNOWN_MEMBER_ID', `the consumer is not an active member of group '${this.groupId}'`));
    const p = new Promise<void>((resolve, reject) => this.heartbeatWaiters.push({ resolve, reject }));
    this.heartbeatNow();
    return p;
  }

  /** Sends a heartbeat as soon as possible (after the one in flight, if any). */
  heartbeatNow(): void {
    if (this.status !== 'active') return;
    if (this.inFlight !== null) {
      this.heartbeatSoon = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Leaves the group: waits for the reconciliation in progress, gives every partition up
   * (committing its processed offset first when autoCommit), then sends memberEpoch -1.
   */
  leave(): Promise<void> {
    this.leaving ??= this.doLeave();
    return this.leaving;
  }

  // ---- heartbeats -------------------------------------------------------------------------

  private schedule(delayMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.heartbeat();
    }, delayMs);
  }

  private heartbeat(): void {
    if (this.status !== 'active' || this.dropping !== null) return;
    if (this.inFlight !== null) {
      this.heartbeatSoon = true;
      return;
    }
    this.heartbeatSoon = false;
    const generation = this.generation;
    const request = this.buildRequest();
    const sentSubscription = request.subscribedTopicNames !== null;
    if (request.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) this.joinSent = true;
    const sentAtMs = Date.now();
    this.inFlight = this.opts.channel
      .request('ConsumerGroupHeartbeat', request, { timeoutMs: Math.min(this.opts.requestTimeoutMs, this.opts.sessionTimeoutMs) })
      .then(
        (response) => {
          // Everything was dropped while this was out: its answer describes a member we no longer are.
          if (generation !== this.generation || this.status !== 'active') return;
          if (response.errorCode !== ErrorCode.NONE) this.onHeartbeatError(errorFromCode(response.errorCode, response.errorMessage ?? undefined));
          else this.onHeartbeat(response, sentSubscription, sentAtMs);
        },
        (err: Error) => {
          if (generation !== this.generation || this.status !== 'active') return;
          this.onHeartbeatError(err);
        },
      )
      .finally(() => {
        this.inFlight = null;
        this.scheduleNext();
      });
  }

  private scheduleNext(): void {
    if (this.status !== 'active' || this.dropping !== null) return;
    // After a failure the backoff wins even over a wanted-now heartbeat: no hot loop against a broker in trouble.
    const delayMs = this.failures > 0 ? backoffMs(this.opts.retry, this.failures) : this.heartbeatSoon ? 0 : this.intervalMs;
    this.schedule(delayMs);
  }

  private buildRequest(): ConsumerGroupHeartbeatRequest {
    const full = this.sendSubscription || this.memberEpoch === JOIN_GROUP_MEMBER_EPOCH;
    return heartbeatRequest(this.member(this.memberEpoch), this.owned.values(), full ? this.subscription! : null);
  }

  private member(memberEpoch: number): HeartbeatMember {
    return { groupId: this.groupId, memberId: this.memberId, memberEpoch, rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs, sessionTimeoutMs: this.opts.sessionTimeoutMs };
  }

  private onHeartbeat(response: ConsumerGroupHeartbeatResponse, sentSubscription: boolean, sentAtMs: number): void {
    this.failures = 0;
    this.armSessionGuard(sentAtMs);
    if (response.heartbeatIntervalMs > 0) this.intervalMs = response.heartbeatIntervalMs;
    if (sentSubscription) this.sendSubscription = false;
    const joining = this.memberEpoch === JOIN_GROUP_MEMBER_EPOCH;
    if (response.memberId !== '') this.memberId = response.memberId;
    this.memberEpoch = response.memberEpoch;
    if (joining) {
      this.everJoined = true;
      this.log.info({ memberEpoch: this.memberEpoch }, 'joined the group');
      this.opts.onJoin({ groupId: this.groupId, memberId: this.memberId, memberEpoch: this.memberEpoch });
      settle(this.joinWaiters.splice(0), null);
    }
    const target = assignmentOf(response);
    if (target !== null) {
      this.target = target;
      this.reconcile();
    }
    settle(this.heartbeatWaiters.splice(0), null);
  }

  private onHeartbeatError(err: Error): void {
    if (err instanceof RillError && (err.is('UNKNOWN_MEMBER_ID') || err.is('FENCED_MEMBER_EPOCH'))) {
      this.log.info({ err: err.message }, 'no longer a member; dropping all partitions and rejoining');
      this.lose(err.errorName);
      return;
    }
    if (isRetriable(err)) {
      if (CoordinatorChannel.isCoordinatorMoved(err)) this.opts.channel.markUnknown();
      this.failures++;
      this.sendSubscription = true;
      if (!this.everJoined && this.failures > this.opts.retry.retries) {
        this.log.warn({ err: err.message, attempts: this.failures }, 'could not join the group');
        this.stop(err);
        return;
      }
      // One line per outage, not per attempt.
      if (this.failures === 1) this.log.warn({ err: err.message }, 'heartbeat failed; retrying with backoff');
      else this.log.debug({ err: err.message, failures: this.failures }, 'heartbeat failed again');
      return;
    }
    this.log.error({ err: err.message }, 'group membership failed');
    if (this.everJoined) this.opts.onFatal(err);
    this.stop(err);
  }

  /**
   * The coordinator restarted this member's session timer when it received the heartbeat sent
   * at `sentAtMs`, so counting from the send makes us stop no later than it expels us.
   */
  private armSessionGuard(sentAtMs: number): void {
    if (this.sessionGuard !== null) clearTimeout(this.sessionGuard);
    this.sessionGuard = setTimeout(() => {
      this.sessionGuard = null;
      if (this.status !== 'active' || this.memberEpoch <= 0) return;
      this.log.warn({ sessionTimeoutMs: this.opts.sessionTimeoutMs }, 'no successful heartbeat within the session timeout: the coordinator has expelled this member; stopping consumption and rejoining');
      this.lose('session timeout');
    }, Math.max(0, sentAtMs + this.opts.sessionTimeoutMs - Date.now()));
  }

  // ---- reconciliation ---------------------------------------------------------------------

  private reconcile(): void {
    if (this.reconciling !== null) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = (async () => {
      do {
        this.reconcileAgain = false;
        try {
          await this.reconcileOnce();
        } catch (err) {
          // The next heartbeat resends the assignment while what we own differs from it, so
          // this step is tried again then.
          this.log.warn({ err: (err as Error).message }, 'reconciling the assignment failed; will retry');
        }
      } while (this.reconcileAgain && this.status === 'active');
    })().finally(() => {
      this.reconciling = null;
    });
  }

  private async reconcileOnce(): Promise<void> {
    const generation = this.generation;
    const target = this.target;
    if (target === null || this.status !== 'active') return;
    const revoked = [...this.owned.entries()].filter(([key]) => !target.has(key)).map(([, tp]) => tp);
    const added = [...target.entries()].filter(([key]) => !this.owned.has(key)).map(([, tp]) => tp);
    if (revoked.length === 0 && added.length === 0) return;

    if (revoked.length > 0) {
      await this.giveUp(revoked, false);
      if (generation !== this.generation) return;
      this.heartbeatNow();
      this.opts.onRebalance({ groupId: this.groupId, memberEpoch: this.memberEpoch, assigned: [], revoked, lost: false });
    }
    if (added.length === 0 || generation !== this.generation || this.status !== 'active') return;

    const committed = await this.opts.committer.fetchCommitted(added);
    if (generation !== this.generation || this.status !== 'active') return;
    // A newer assignment may have taken some back meanwhile.
    const current = this.target;
    const still = added.filter((tp) => current?.has(partitionKey(tp.topic, tp.partition)) === true && !this.owned.has(partitionKey(tp.topic, tp.partition)));
    if (still.length === 0) return;
    await runCallback(this.opts, 'onAssign', () => this.opts.onAssign?.(still));
    if (generation !== this.generation || this.status !== 'active') return;
    this.opts.consumer.assignPartitions(startOffsets(this.opts, still, committed, this.opts.startOffset()), { strictOffsets: false });
    for (const tp of still) this.owned.set(partitionKey(tp.topic, tp.partition), tp);
    this.log.debug({ assigned: still.length, owned: this.owned.size }, 'partitions assigned');
    this.heartbeatNow();
    this.opts.onRebalance({ groupId: this.groupId, memberEpoch: this.memberEpoch, assigned: still, revoked: [], lost: false });
  }

  /** Gives `list` up (handover.ts) and stops reporting it. */
  private async giveUp(list: TopicPartition[], lost: boolean): Promise<void> {
    await givePartitionsUp(this.opts, list, lost, () => this.identity() !== null);
    for (const tp of list) this.owned.delete(partitionKey(tp.topic, tp.partition));
    this.log.debug({ revoked: list.length, lost, owned: this.owned.size }, lost ? 'partitions lost' : 'partitions revoked');
  }

  /** Gives up every owned partition (if any) and tells onRebalance. */
  private async giveUpAll(lost: boolean): Promise<void> {
    const all = [...this.owned.values()];
    if (all.length === 0) return;
    await this.giveUp(all, lost);
    this.opts.onRebalance({ groupId: this.groupId, memberEpoch: this.memberEpoch, assigned: [], revoked: all, lost });
  }

  /** Everything is lost (fenced, unknown member, session expired): drop it without committing, then rejoin. */
  private lose(reason: string): void {
    if (this.dropping !== null) return;
    this.generation++;
    this.memberEpoch = JOIN_GROUP_MEMBER_EPOCH;
    this.target = null;
    this.sendSubscription = true;
    this.clearTimers();
    settle(this.heartbeatWaiters.splice(0), rillError('UNKNOWN_MEMBER_ID', `the consumer lost its membership of group '${this.groupId}' (${reason}); rejoining`));
    this.dropping = (async () => {
      // A reconciliation in progress notices the new generation and stops at its next step.
      if (this.reconciling !== null) await this.reconciling;
      await this.giveUpAll(true);
    })()
      .catch((err: Error) => this.log.error({ err: err.message }, 'dropping partitions failed'))
      .finally(() => {
        this.dropping = null;
        if (this.status === 'active') this.schedule(this.failures > 0 ? backoffMs(this.opts.retry, this.failures) : 0);
      });
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.sessionGuard !== null) clearTimeout(this.sessionGuard);
    this.sessionGuard = null;
  }

  private async doLeave(): Promise<void> {
    const wasActive = this.status === 'active';
    this.status = 'leaving';
    this.clearTimers();
    settle(this.joinWaiters.splice(0), new Error('the consumer closed before it joined its group'));
    if (wasActive) {
      if (this.inFlight !== null) await this.inFlight;
      if (this.reconciling !== null) await this.reconciling;
      if (this.dropping !== null) await this.dropping;
      await this.giveUpAll(false);
      await this.opts.committer.drain();
      if (this.joinSent) {
        try {
          const timeoutMs = Math.min(this.opts.requestTimeoutMs, LEAVE_TIMEOUT_MS);
          const response = await this.opts.channel.request('ConsumerGroupHeartbeat', leaveRequest(this.member(LEAVE_GROUP_MEMBER_EPOCH)), { timeoutMs });
          if (response.errorCode !== ErrorCode.NONE) throw errorFromCode(response.errorCode, response.errorMessage ?? undefined);
          this.log.info('left the group');
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'leaving the group failed; the coordinator frees its partitions after the session timeout');
        }
      }
    } else if (this.dropping !== null) {
      // Stopped on an error: its partitions are still being dropped.
      await this.dropping;
    }
    this.status = 'stopped';
    this.memberEpoch = LEAVE_GROUP_MEMBER_EPOCH;
    settle(this.heartbeatWaiters.splice(0), new Error('the consumer left its group'));
  }

  /** Ends the membership on an error: partitions are dropped without committing. */
  private stop(err: Error): void {
    this.status = 'stopped';
    this.clearTimers();
    this.generation++;
    this.memberEpoch = JOIN_GROUP_MEMBER_EPOCH;
    settle(this.joinWaiters.splice(0), err);
    settle(this.heartbeatWaiters.splice(0), err);
    if (this.owned.size > 0) {
      this.dropping = this.giveUpAll(true)
        .catch((e: Error) => this.log.error({ err: e.message }, 'dropping partitions failed'))
        .finally(() => {
          this.dropping = null;
        });
    }
  }
}

function settle(waiters: Waiter[], err: Error | null): void {
  for (const w of waiters) {
    if (err === null) w.resolve();
    else w.reject(err);
  }
}
