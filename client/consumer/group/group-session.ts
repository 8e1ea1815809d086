/**
 * One consumer's life in its group: the coordinator channel (on connections of its own), the
 * membership (membership.ts) and the offset committer (offset-committer.ts), wired to the
 * consumer's hooks. consumer.ts creates it on the first subscribe() and closes it in close(),
 * after consumption stopped: the final commit and the leave happen there.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { partitionKey } from '../../topic-partition.js';
import { BrokerPool } from '../../broker-pool.js';
import type { ClientContext } from '../../context.js';
import type { ProcessedOffset } from '../types.js';
import type { CommitEvent, GroupJoinEvent, RebalanceEvent, RetryOptions, RevokedPartition, TopicPartition, TopicPartitionCommit } from '../../types.js';
import { CoordinatorChannel } from './coordinator-channel.js';
import { Membership, type MembershipConsumer } from './membership.js';
import { OffsetCommitter, type CommittedOffset } from './offset-committer.js';
import type { Subscription } from './subscription.js';

export interface GroupSettings {
  groupId: string;
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** 0: the coordinator's default. */
  rebalanceTimeoutMs: number;
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  onAssign?: ((partitions: TopicPartition[]) => Promise<void> | void) | undefined;
  onRevoke?: ((partitions: RevokedPartition[]) => Promise<void> | void) | undefined;
}

export interface GroupSessionHooks extends MembershipConsumer {
  processedOffsets(): ProcessedOffset[];
}

export interface GroupSessionEvents {
  join(event: GroupJoinEvent): void;
  rebalance(event: RebalanceEvent): void;
  commit(event: CommitEvent): void;
  /** Background trouble the app may want to know about (failed auto-commit, throwing callback). */
  error(err: Error): void;
  /** The membership ended for good. */
  fatal(err: Error): void;
}

export class GroupSession {
  readonly groupId: string;
  private readonly pool: BrokerPool;
  private readonly committer: OffsetCommitter;
  private readonly membership: Membership;
  private readonly hooks: GroupSessionHooks;
  private subscription: Subscription | null = null;
  private closing: Promise<void> | null = null;

  constructor(ctx: ClientContext, settings: GroupSettings, retry: RetryOptions, hooks: GroupSessionHooks, events: GroupSessionEvents, logger: Logger) {
    this.groupId = settings.groupId;
    this.hooks = hooks;
    const log = logger.child({ component: 'group', groupId: settings.groupId });
    this.pool = new BrokerPool(ctx.brokers, {
      clientId: ctx.clientId,
      connectionTimeoutMs: ctx.connectionTimeoutMs,
      requestTimeoutMs: ctx.requestTimeoutMs,
      retry,
      logger: log,
      tls: ctx.tls ?? null,
      ...(ctx.knownBrokers !== undefined ? { knownBrokers: ctx.knownBrokers } : {}),
    });
    const channel = new CoordinatorChannel(this.pool, settings.groupId, log);
    let membership: Membership | null = null;
    this.committer = new OffsetCommitter({
      channel,
      groupId: settings.groupId,
      member: () => membership?.identity() ?? null,
      nextHeartbeat: () => membership!.nextHeartbeat(),
      retry,
      logger: log,
      onCommit: (offsets: CommittedOffset[]) => events.commit({ groupId: settings.groupId, offsets }),
    });
    membership = new Membership({
      channel,
      committer: this.committer,
      consumer: hooks,
      groupId: settings.groupId,
      memberId: randomUUID(),
      sessionTimeoutMs: settings.sessionTimeoutMs,
      rebalanceTimeoutMs: settings.rebalanceTimeoutMs,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      requestTimeoutMs: ctx.requestTimeoutMs,
      retry,
      autoCommit: settings.autoCommit,
      logger: log,
      startOffset: () => ((this.subscription?.fromBeginning ?? settings.fromBeginning) ? 'earliest' : 'latest'),
      onAssign: settings.onAssign,
      onRevoke: settings.onRevoke,
      onJoin: (e) => events.join(e),
      onRebalance: (e) => events.rebalance(e),
      onError: (err) => events.error(err),
      onFatal: (err) => {
        this.committer.stopAuto();
        events.fatal(err);
      },
    });
    this.membership = membership;
    if (settings.autoCommit) {
      this.committer.startAuto(settings.autoCommitIntervalMs, () => this.ownedProcessedOffsets(), (err) => events.error(err));
    }
  }

  get memberId(): string {
    return this.membership.id;
  }

  get memberEpoch(): number {
    return this.membership.epoch;
  }

  /** Joins (or changes the subscription); resolves once the coordinator accepted it. */
  async subscribe(subscription: Subscription): Promise<void> {
    this.subscription = subscription;
    await this.membership.subscribe(subscription);
  }

  /**
   * Commits `offsets`, or without them the processed offset of every owned partition that
   * moved since its last commit. Resolves with what was committed; `signal` ends the wait.
   */
  commit(offsets?: TopicPartitionCommit[], signal?: AbortSignal): Promise<CommittedOffset[]> {
    if (offsets !== undefined) return this.committer.commit(offsets, true, signal);
    return this.committer.commit(this.ownedProcessedOffsets(), false, signal);
  }

  /** Leaves the group (final commit when autoCommit) and closes the group connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.committer.stopAuto();
      await this.committer.drain();
      try {
        await this.membership.leave();
      } finally {
        await this.pool.close();
      }
    })();
    return this.closing;
  }

  /** What a commit would store now: the processed offsets of the partitions this member owns. */
  private ownedProcessedOffsets(): ProcessedOffset[] {
    const owned = new Set(this.membership.ownedPartitions().map((tp) => partitionKey(tp.topic, tp.partition)));
    return this.hooks.processedOffsets().filter((o) => owned.has(partitionKey(o.topic, o.partition)));
  }
}
