/**
 * The consumer's side of group membership: one GroupSession (group/group-session.ts) made on
 * the first subscribe(), dropped again when that first join fails for good (so subscribe()
 * can be retried), and the commit() and member() calls that go through it. The consumer
 * hands it the hooks the group drives (assign, revoke, processed offsets) and its events.
 */
import type { Logger } from 'pino';
import type { ClientContext } from '../context.js';
import type { CommitOptions, RetryOptions, SubscribeOptions, SubscriptionTopics, TopicPartitionCommit } from '../types.js';
import { validatePartition } from './config.js';
import { GroupSession, type GroupSessionEvents, type GroupSessionHooks, type GroupSettings } from './group/group-session.js';
import type { CommittedOffset } from './group/offset-committer.js';
import { parseSubscription } from './group/subscription.js';

export interface GroupLinkHooks extends GroupSessionHooks {
  events: GroupSessionEvents;
  /** Registers the session's close (final commit, leave) with the consumer's close(). */
  onSessionClose: (close: () => Promise<void>) => void;
}

export class GroupLink {
  private session: GroupSession | null = null;
  private subscribing: Promise<void> | null = null;

  constructor(
    private readonly ctx: ClientContext,
    private readonly settings: GroupSettings,
    private readonly retry: RetryOptions,
    private readonly log: Logger,
    private readonly hooks: GroupLinkHooks,
  ) {}

  /** subscribe() made a session (the consumer is, or is becoming, a group member). */
  get joined(): boolean {
    return this.session !== null;
  }

  /** See Consumer.subscribe(); `checkOpen` throws once the consumer is closing. */
  async subscribe(topics: SubscriptionTopics | SubscribeOptions, checkOpen: () => void): Promise<void> {
    const subscription = parseSubscription(topics);
    // One subscribe at a time: a second call waits for the first join.
    while (this.subscribing !== null) await this.subscribing.catch(() => undefined);
    checkOpen();
    const session = (this.session ??= this.createSession());
    const joining = session.subscribe(subscription);
    this.subscribing = joining;
    try {
      await joining;
    } catch (err) {
      // The first join failed for good: drop the session so that subscribe() can be retried.
      if (this.session === session && session.memberEpoch <= 0) {
        this.session = null;
        await session.close().catch(() => undefined);
      }
      throw err;
    } finally {
      this.subscribing = null;
    }
  }

  /** See Consumer.commit(). */
  commit(offsetsOrOptions?: TopicPartitionCommit[] | CommitOptions): Promise<CommittedOffset[]> {
    const session = this.session;
    if (session === null) return Promise.reject(new Error('commit() needs a group: rill.consumer({ groupId }) and subscribe()'));
    if (offsetsOrOptions !== undefined && (offsetsOrOptions === null || typeof offsetsOrOptions !== 'object')) {
      throw new TypeError('commit() takes an array of { topic, partition, offset } or { offsets?, signal? }');
    }
    const opts: CommitOptions = Array.isArray(offsetsOrOptions) ? { offsets: offsetsOrOptions } : (offsetsOrOptions ?? {});
    const offsets = opts.offsets;
    if (offsets !== undefined) {
      if (!Array.isArray(offsets)) throw new TypeError('commit() takes an array of { topic, partition, offset }');
      for (const o of offsets) {
        validatePartition(o);
        if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${o.offset}`);
      }
    }
    return session.commit(offsets, opts.signal);
  }

  member(): { groupId: string; memberId: string; memberEpoch: number } | null {
    const s = this.session;
    return s === null ? null : { groupId: s.groupId, memberId: s.memberId, memberEpoch: s.memberEpoch };
  }

  private createSession(): GroupSession {
    const { events, onSessionClose, ...hooks } = this.hooks;
    const session = new GroupSession(this.ctx, this.settings, this.retry, hooks, events, this.log);
    onSessionClose(() => session.close());
    return session;
  }
}
