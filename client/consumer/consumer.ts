/**
 * The consumer: partitions are assigned explicitly (`assign`), fetched by the Fetcher
 * (fetcher.ts) into bounded per-partition buffers, and delivered to the app one partition
 * chunk at a time, round robin across partitions, through `for await` or `run()`.
 *
 * Positions: `position()` is the offset of the next message to be delivered. Separately each
 * partition tracks its *processed* offset — the offset after the last message the app has
 * finished with: after `eachMessage` resolves, after `eachBatch` resolves (or up to its last
 * `resolveOffset`), or, with `for await`, when the loop asks for the next message (a loop that
 * ends — break, return, throw — leaves the message in hand unprocessed: at least once). That
 * is what a consumer group commits.
 *
 * Group membership (issue 4) drives the same consumer through its internal hooks:
 *   assignPartitions(list, { strictOffsets })  add partitions at start offsets
 *   revokePartitions(list): Promise<offsets>    stop them, wait for in-flight processing,
 *                                               return their final processed offsets
 *   processedOffsets()                          what to commit now
 *   onClose(hook)                               runs on close() before the connections go
 * `assign()` is the manual mode on top of the same hooks; `subscribe()` (with a groupId) hands
 * them to a GroupSession (group/group-session.ts).
 *
 * Delivery: run() in run-delivery.ts, for-await in message-iterator.ts, both drawing from the
 * ReadyRing (ready-ring.ts) that the Fetcher (fetcher.ts) fills; failing handlers in
 * dead-letters.ts, lag in lag.ts; which loop reads the consumer (one at a time) in consume-loop.ts.
 *
 * The consumer is an EventEmitter: 'group.join', 'rebalance', 'commit', 'lag', 'error'.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { partitionKey } from '../topic-partition.js';
import { BrokerPool } from '../broker-pool.js';
import type { ClientContext } from '../context.js';
import { Metadata } from '../metadata.js';
import { retryOptions } from '../retry.js';
import type {
  CloseOptions,
  CommitOptions,
  ConsumedMessage,
  ConsumerConfig,
  ConsumerEventMap,
  IterateOptions,
  OffsetSpec,
  PartitionLag,
  RunConfig,
  SubscribeOptions,
  SubscriptionTopics,
  TopicPartition,
  TopicPartitionCommit,
  TopicPartitionOffset,
  TopicPartitions,
} from '../types.js';
import { DEFAULT_LAG_INTERVAL_MS, fetchSettingsOf, groupSettingsOf, nonNegative, positive, validatePartition } from './config.js';
import { Fetcher } from './fetcher.js';
import type { CommittedOffset } from './group/offset-committer.js';
import { handlerFailurePolicy } from './dead-letters.js';
import { partitionLags } from './lag.js';
import { GroupLink } from './group-link.js';
import { LongPollConnections } from './long-poll-connections.js';
import { ConsumeLoop } from './consume-loop.js';
import { MessageIterator } from './message-iterator.js';
import { assignedState, matchingStates, wakeIdleWaiters, type PartitionState } from './partition-state.js';
import { ReadyRing } from './ready-ring.js';
import { settlesWithin } from './waits.js';
import { RunDelivery, type RunHost } from './run-delivery.js';
import type { AssignOptions, ProcessedOffset } from './types.js';

/** close() waits this long by default for the handler in progress before it goes on without it. */
const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

export class Consumer extends EventEmitter<ConsumerEventMap> implements AsyncIterable<ConsumedMessage> {
  private readonly log: Logger;
  private readonly pool: BrokerPool;
  private readonly fetcher: Fetcher;
  private readonly longPolls: LongPollConnections;
  private readonly ring: ReadyRing;
  private readonly delivery: RunDelivery;
  /** The for-await loop in progress, if any. */
  private iterator: MessageIterator | null = null;
  private readonly loop = new ConsumeLoop();
  private closing: Promise<void> | null = null;
  private closed = false;
  private readonly closeHooks: Array<() => Promise<void>> = [];
  private readonly partitionsConsumedConcurrently: number;
  private readonly closeTimeoutMs: number;
  /** The group membership (subscribe()); null without a groupId. */
  private readonly group: GroupLink | null;
  private manuallyAssigned = false;
  /** A group failure that ended the membership: the next delivery step throws it. */
  private fatalError: Error | null = null;
  private readonly lagTimer: NodeJS.Timeout | null;

  constructor(ctx: ClientContext, config: ConsumerConfig = {}) {
    super();
    this.log = ctx.logger.child({ component: 'consumer' });
    const retry = retryOptions(ctx.retry, config.retry);
    const connections = { clientId: ctx.clientId, connectionTimeoutMs: ctx.connectionTimeoutMs, requestTimeoutMs: ctx.requestTimeoutMs, retry, logger: this.log, tls: ctx.tls ?? null };
    this.pool = new BrokerPool(ctx.brokers, { ...connections, ...(ctx.knownBrokers !== undefined ? { knownBrokers: ctx.knownBrokers } : {}) });
    const metadata = new Metadata(this.pool, { logger: this.log, retry, allowAutoTopicCreation: false });
    this.longPolls = new LongPollConnections(this.pool, connections);
    const metrics = ctx.metrics;
    // Lag of a consumer without a group (assign()) is labelled group="".
    const metricsGroup = config.groupId ?? '';
    this.fetcher = new Fetcher({
      pool: this.pool,
      longPolls: this.longPolls,
      metadata,
      logger: this.log,
      retry,
      requestTimeoutMs: ctx.requestTimeoutMs,
      ...fetchSettingsOf(config),
      onReady: (st) => {
        this.ring.enqueue(st);
        this.ring.wake();
      },
      onLag: metrics?.enabled === true ? (topic, partition, lag) => metrics.consumerLag(metricsGroup, topic, partition, lag) : undefined,
    });
    this.ring = new ReadyRing(this.fetcher);
    this.partitionsConsumedConcurrently = positive('partitionsConsumedConcurrently', config.partitionsConsumedConcurrently ?? 1);
    const groupSettings = config.groupId === undefined ? null : groupSettingsOf(config);
    // Retry / dead-letter / pause for failing handlers; null: plain rejection (assign mode).
    const failurePolicy = handlerFailurePolicy(ctx, config.deadLetterTopic ?? null, groupSettings !== null, retry, this.log, (hook) => this.closeHooks.push(hook));
    const host: RunHost = {
      fetcher: this.fetcher,
      log: this.log,
      failurePolicy,
      stopping: () => this.loop.stopping || this.closing !== null,
      fatalError: () => this.fatalError,
      seekTo: (st, offset) => this.seekState(st, offset),
      emitError: (err) => {
        if (this.listenerCount('error') === 0) return false;
        this.safeEmit('error', err);
        return true;
      },
    };
    this.delivery = new RunDelivery(host, this.ring);
    this.group =
      groupSettings === null
        ? null
        : new GroupLink(ctx, groupSettings, retry, this.log, {
            assignPartitions: (list, opts) => this.assignPartitions(list, opts),
            revokePartitions: (list) => this.revokePartitions(list),
            processedOffsets: () => this.processedOffsets(),
            events: {
              join: (e) => this.safeEmit('group.join', e),
              rebalance: (e) => {
                metrics?.rebalance(metricsGroup);
                this.safeEmit('rebalance', e);
              },
              commit: (e) => this.safeEmit('commit', e),
              error: (err) => this.backgroundError(err),
              fatal: (err) => {
                this.fatalError = err;
                this.backgroundError(err);
                this.ring.wake();
              },
            },
            // First, so it runs before the dead-letter producer closes: the final commit and
            // the leave happen after consumption stopped, while the connections are still open.
            onSessionClose: (close) => this.closeHooks.unshift(close),
          });
    this.closeTimeoutMs = Math.max(DEFAULT_CLOSE_TIMEOUT_MS, ctx.requestTimeoutMs);
    const lagIntervalMs = nonNegative('lagIntervalMs', config.lagIntervalMs ?? DEFAULT_LAG_INTERVAL_MS);
    this.lagTimer = lagIntervalMs === 0 ? null : setInterval(() => this.emitLag(), lagIntervalMs).unref();
  }

  // ---- consumer groups --------------------------------------------------------------------

  /**
   * Joins the consumer's group (`groupId`) subscribed to these topics: names, a RegExp matching
   * whole topic names (new matching topics are picked up as they appear), or both, optionally
   * with `fromBeginning`. Resolves once the coordinator accepted the member; partitions then
   * arrive through rebalances. Calling it again replaces the subscription.
   */
  async subscribe(topics: SubscriptionTopics | SubscribeOptions): Promise<void> {
    this.checkOpen();
    if (this.group === null) throw new Error('subscribe() needs a groupId: rill.consumer({ groupId })');
    if (this.manuallyAssigned) throw new Error('this consumer was assigned partitions with assign(); it cannot also subscribe()');
    await this.group.subscribe(topics, () => this.checkOpen());
  }

  /**
   * Commits offsets to the group: without offsets the processed offset of every owned
   * partition (the offset after its last processed message) that moved since its last commit;
   * or exactly the given `{ topic, partition, offset }` (offset = the next message to read).
   * Takes the offsets (as KafkaJS's commitOffsets) or `{ offsets?, signal? }`; `signal` ends
   * the wait with its reason (an OffsetCommit already sent may still land). Resolves with what
   * was committed.
   */
  async commit(offsetsOrOptions?: TopicPartitionCommit[] | CommitOptions): Promise<CommittedOffset[]> {
    this.checkOpen();
    if (this.group === null || !this.group.joined) throw new Error('commit() needs a group: rill.consumer({ groupId }) and subscribe()');
    return this.group.commit(offsetsOrOptions);
  }

  /** The group membership as of the latest heartbeat, or null without a group. */
  groupMember(): { groupId: string; memberId: string; memberEpoch: number } | null {
    return this.group?.member() ?? null;
  }

  /** Per-partition lag: the last fetch's high watermark minus the position (what the 'lag' event reports). */
  lag(): PartitionLag[] {
    return partitionLags(this.fetcher.partitions.values(), (st) => this.positionOf(st));
  }


  /** Emits to the app's listeners; a listener that throws must not break the consumer's machinery. */
  private safeEmit<E extends keyof ConsumerEventMap>(event: E, ...args: ConsumerEventMap[E]): void {
    try {
      (this.emit as (e: E, ...a: ConsumerEventMap[E]) => boolean)(event, ...args);
    } catch (err) {
      this.log.warn({ event, err: (err as Error).message }, 'a consumer event listener threw');
    }
  }

  /** Trouble outside a handler: the 'error' event when someone listens, else a log line. */
  private backgroundError(err: Error): void {
    if (this.listenerCount('error') > 0) this.safeEmit('error', err);
    else this.log.warn({ err: err.message }, 'consumer group error');
  }

  private emitLag(): void {
    if (this.listenerCount('lag') === 0 || this.fetcher.partitions.size === 0) return;
    this.safeEmit('lag', { partitions: this.lag() });
  }

  // ---- assignment -------------------------------------------------------------------------

  /**
   * Replaces the assignment: exactly these partitions, each (re)starting at its offset — a
   * number (strict: out of range raises OFFSET_OUT_OF_RANGE), 'earliest', 'latest' or
   * `{ timestamp }` (the first offset at or after it, or the end when there is none).
   */
  assign(list: TopicPartitionOffset[]): void {
    this.checkOpen();
    if (this.group?.joined === true) throw new Error('this consumer subscribed to a group; its partitions come from the group, not assign()');
    this.manuallyAssigned = true;
    const wanted = new Set(list.map((tp) => partitionKey(tp.topic, tp.partition)));
    const dropped = [...this.fetcher.partitions.values()].filter((st) => !wanted.has(st.key));
    for (const st of dropped) this.drop(st);
    for (const tp of list) {
      validatePartition(tp);
      const st = this.fetcher.partitions.get(partitionKey(tp.topic, tp.partition));
      if (st === undefined) this.fetcher.add(tp.topic, tp.partition, tp.offset, typeof tp.offset === 'number');
      else this.seekState(st, tp.offset);
    }
    this.ring.wake();
  }

  /** The assigned partitions. */
  assignment(): TopicPartition[] {
    return [...this.fetcher.partitions.values()].map((st) => ({ topic: st.topic, partition: st.partition }));
  }

  /**
   * Internal (consumer groups): adds partitions at their start offsets; already assigned ones
   * are left as they are.
   */
  assignPartitions(list: TopicPartitionOffset[], opts: AssignOptions = {}): void {
    this.checkOpen();
    for (const tp of list) {
      validatePartition(tp);
      if (this.fetcher.partitions.has(partitionKey(tp.topic, tp.partition))) continue;
      this.fetcher.add(tp.topic, tp.partition, tp.offset, opts.strictOffsets === true && typeof tp.offset === 'number');
    }
    this.ring.wake();
  }

  /**
   * Internal (consumer groups): stops fetching and delivering these partitions, waits until
   * the app has finished every message of theirs it was handed (eachMessage/eachBatch
   * returned, or the iterator asked for the next message), removes them and returns their
   * final processed offsets — what to commit before giving them up. Partitions with no known
   * position are left out.
   */
  async revokePartitions(list: TopicPartition[]): Promise<ProcessedOffset[]> {
    const states: PartitionState[] = [];
    for (const tp of list) {
      const st = this.fetcher.partitions.get(partitionKey(tp.topic, tp.partition));
      if (st !== undefined && !st.revoking) {
        st.revoking = true;
        this.delivery.abortRetry(st);
        states.push(st);
      }
    }
    await Promise.all(states.map((st) => (st.processing === 0 ? undefined : new Promise<void>((resolve) => st.idleWaiters.push(resolve)))));
    const out: ProcessedOffset[] = [];
    for (const st of states) {
      if (st.processedOffset >= 0) out.push({ topic: st.topic, partition: st.partition, offset: st.processedOffset });
      this.drop(st);
    }
    return out;
  }

  /** Internal (consumer groups): the processed offset of every assigned partition that has one. */
  processedOffsets(): ProcessedOffset[] {
    const out: ProcessedOffset[] = [];
    for (const st of this.fetcher.partitions.values()) {
      if (!st.revoking && st.processedOffset >= 0) out.push({ topic: st.topic, partition: st.partition, offset: st.processedOffset });
    }
    return out;
  }

  /** Internal (consumer groups): `hook` runs during close(), after consumption stopped, before the connections close. */
  onClose(hook: () => Promise<void>): void {
    this.closeHooks.push(hook);
  }

  // ---- flow control -----------------------------------------------------------------------

  /** Stops fetching and delivering these partitions (all of a topic's when `partitions` is omitted). Buffered data is kept. */
  pause(list: TopicPartitions[]): void {
    for (const st of matchingStates(this.fetcher.partitions, list)) {
      st.paused = true;
      this.delivery.abortRetry(st);
    }
  }

  resume(list: TopicPartitions[]): void {
    for (const st of matchingStates(this.fetcher.partitions, list)) {
      if (!st.paused) continue;
      st.paused = false;
      if (st.chunks.length > 0 || st.error !== null) this.ring.enqueue(st);
    }
    this.fetcher.kick();
    this.ring.wake();
  }

  paused(): TopicPartition[] {
    return [...this.fetcher.partitions.values()].filter((st) => st.paused).map((st) => ({ topic: st.topic, partition: st.partition }));
  }

  /** Moves an assigned partition: the next message delivered is at `offset` (buffered data is dropped). */
  seek(tp: TopicPartitionOffset): void {
    validatePartition(tp);
    this.seekState(assignedState(this.fetcher.partitions, tp.topic, tp.partition), tp.offset);
  }

  /**
   * The offset of the next message this consumer will deliver for the partition, or null
   * while its start ('earliest', 'latest', a timestamp) is still being looked up.
   */
  position(topic: string, partition: number): number | null {
    return this.positionOf(assignedState(this.fetcher.partitions, topic, partition));
  }

  private positionOf(st: PartitionState): number | null {
    const next = this.ring.nextOffsetOf(st);
    if (next !== undefined) return next;
    return st.pendingStart !== null ? null : st.fetchOffset;
  }

  // ---- consumption ------------------------------------------------------------------------

  /** `for await (const message of consumer)`: ends when the consumer is stopped or closed. */
  [Symbol.asyncIterator](): AsyncIterableIterator<ConsumedMessage> {
    return this.iterate();
  }

  /**
   * `for await (const message of consumer.iterate({ signal }))`: as iterating the consumer
   * itself, and the loop also ends (done, no error) when `signal` aborts. See
   * message-iterator.ts for when a message counts as processed.
   */
  iterate(opts: IterateOptions = {}): AsyncIterableIterator<ConsumedMessage> {
    this.startLoop('iterator');
    const iterator = new MessageIterator(
      {
        ring: this.ring,
        stopping: () => this.loop.stopping || this.closing !== null || this.loop.mode !== 'iterator',
        fatalError: () => this.fatalError,
        ended: () => this.endLoop(),
      },
      opts.signal,
    );
    this.iterator = iterator;
    return iterator;
  }

  /**
   * Delivers messages to `eachMessage` (one at a time per partition) or `eachBatch` (a
   * partition's chunk at a time) until stop(), close() or `signal` aborts (then run()
   * resolves, after the handler in progress), handling up to `partitionsConsumedConcurrently`
   * partitions at once. When a handler throws: see run-delivery.ts (plain: run() rejects and
   * the partition is rewound; with a group or a deadLetterTopic: retry, dead-letter or pause).
   */
  async run(config: RunConfig): Promise<void> {
    const { eachMessage, eachBatch } = config;
    if (eachMessage === undefined && eachBatch === undefined) throw new TypeError('run() needs eachMessage or eachBatch');
    const workers = positive('partitionsConsumedConcurrently', config.partitionsConsumedConcurrently ?? this.partitionsConsumedConcurrently);
    this.startLoop('run');
    this.ring.returnCurrent();
    try {
      await this.delivery.run(config, workers, config.signal);
    } finally {
      this.endLoop();
    }
  }

  /** Ends run() / the for-await loop (after the message in hand); the assignment and buffers stay. */
  async stop(): Promise<void> {
    this.loop.stopping = true;
    this.endConsumption();
    await this.loop.done;
  }

  /**
   * Stops consumption, leaves the group (after a final commit when autoCommit), closes the
   * dead-letter producer and the connections. It waits for the handler in progress at most
   * `timeoutMs` (default max(30 s, requestTimeoutMs)) or until `signal` aborts, then goes on
   * without it: what that handler had not finished is not committed (delivered again later).
   */
  close(opts: CloseOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs === undefined ? this.closeTimeoutMs : nonNegative('timeoutMs', opts.timeoutMs);
    this.closing ??= (async () => {
      this.loop.stopping = true;
      this.endConsumption();
      if (!(await settlesWithin(this.loop.done, timeoutMs, opts.signal))) {
        this.log.warn({ timeoutMs }, 'close(): the handler in progress did not return in time; closing without it');
      }
      if (this.lagTimer !== null) clearInterval(this.lagTimer);
      for (const hook of this.closeHooks) {
        try {
          await hook();
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'close hook failed');
        }
      }
      this.fetcher.stop();
      await Promise.all([this.pool.close(), this.longPolls.close()]);
      this.closed = true;
    })();
    return this.closing;
  }

  /** stop()/close(): handler retries cut short, waiting workers woken, the for-await loop ended. */
  private endConsumption(): void {
    this.delivery.abortAllRetries();
    this.ring.wake();
    this.iterator?.end();
  }

  // ---- internals --------------------------------------------------------------------------

  private startLoop(mode: 'iterator' | 'run'): void {
    this.loop.start(mode, this.closing !== null || this.closed);
  }

  private endLoop(): void {
    if (this.loop.end()) this.iterator = null;
  }

  private seekState(st: PartitionState, offset: OffsetSpec): void {
    this.ring.forget(st);
    this.delivery.abortRetry(st);
    this.fetcher.seek(st, offset, typeof offset === 'number');
    this.ring.wake();
  }

  private drop(st: PartitionState): void {
    this.ring.forget(st);
    this.delivery.abortRetry(st);
    this.fetcher.remove(st);
    // Anyone waiting for it to go idle must not hang on a partition that is gone.
    wakeIdleWaiters(st);
  }

  private checkOpen(): void {
    if (this.closing !== null || this.closed) throw new Error('the consumer is closed');
  }
}
