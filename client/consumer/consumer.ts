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
 * run() delivers with `partitionsConsumedConcurrently` workers: each takes the next ready
 * partition that no other worker is handling and delivers its chunk, so a partition's messages
 * are always handled one at a time and in order. With a groupId or a deadLetterTopic, handler
 * failures go through the retry / dead-letter / pause policy of group/retry-dlq.ts; without,
 * run() rejects with the handler's error and the partition is rewound to the failed message.
 *
 * The consumer is an EventEmitter: 'group.join', 'rebalance', 'commit', 'lag', 'error'.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { validateTopicName } from '../../protocol/topic-name.js';
import { partitionKey } from '../accumulator.js';
import { BrokerPool } from '../broker-pool.js';
import type { ClientContext } from '../context.js';
import { Fetcher } from './fetcher.js';
import { LongPollConnections } from './long-poll-connections.js';
import type { MessageChunk, PartitionState } from './partition-state.js';
import { GroupSession, type GroupSettings } from './group/group-session.js';
import type { CommittedOffset } from './group/offset-committer.js';
import { ConsumerHandlerError, HandlerFailurePolicy, type AttemptControl, type HandlerOutcome } from './group/retry-dlq.js';
import { parseSubscription } from './group/subscription.js';
import { Metadata } from '../metadata.js';
import { Producer } from '../producer.js';
import { retryOptions } from '../retry.js';
import type { AssignOptions, ProcessedOffset } from './types.js';
import type {
  Batch,
  ConsumedMessage,
  ConsumerConfig,
  ConsumerEventMap,
  EachBatchPayload,
  EachMessagePayload,
  OffsetSpec,
  PartitionLag,
  RetryOptions,
  RunConfig,
  SubscribeOptions,
  SubscriptionTopics,
  TopicPartition,
  TopicPartitionCommit,
  TopicPartitionOffset,
  TopicPartitions,
} from '../types.js';

const DEFAULT_SESSION_TIMEOUT_MS = 45_000;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
const DEFAULT_AUTO_COMMIT_INTERVAL_MS = 5_000;
const DEFAULT_LAG_INTERVAL_MS = 5_000;
/**
 * run() gives the event loop a turn after this long of continuous delivery: short enough that
 * heartbeats (seconds apart) and auto-commits are never starved, long enough not to cost
 * throughput (10 ms cost ~30% of consume throughput in bench/e2e; 50 ms ~1%).
 */
const YIELD_EVERY_MS = 50;
/** ...checking the clock once per this many messages. */
const YIELD_CHECK_EVERY_MESSAGES = 256;
/** Kafka's limits on a group id and a topic name. */
const MAX_GROUP_ID_LENGTH = 255;

type Mode = 'idle' | 'iterator' | 'run';

/** One run(): the first failure ends every worker. */
interface RunLoop {
  failure: Error | null;
}

export class Consumer extends EventEmitter<ConsumerEventMap> implements AsyncIterable<ConsumedMessage> {
  private readonly ctx: ClientContext;
  private readonly log: Logger;
  private readonly pool: BrokerPool;
  private readonly metadata: Metadata;
  private readonly fetcher: Fetcher;
  private readonly longPolls: LongPollConnections;
  /** Partitions with chunks (or an error) to deliver, in turn order. */
  private ring: PartitionState[] = [];
  /** The chunk being delivered message by message. */
  private current: { st: PartitionState; chunk: MessageChunk } | null = null;
  /** Set by pull(): where the message it returned came from. */
  private pulledState: PartitionState | null = null;
  private pulledEpoch = 0;
  /** The message the iterator handed out last, processed once next() is called again. */
  private yieldedState: PartitionState | null = null;
  private yieldedEpoch = 0;
  private yieldedOffset = 0;
  private dataWaiters: Array<() => void> = [];
  private mode: Mode = 'idle';
  private stopping = false;
  private closing: Promise<void> | null = null;
  private closed = false;
  private loopDone: Promise<void> = Promise.resolve();
  private resolveLoopDone: () => void = () => undefined;
  private readonly closeHooks: Array<() => Promise<void>> = [];
  /** Partitions a run() worker is delivering right now, with the chunk in hand. */
  private readonly inHand = new Map<PartitionState, MessageChunk>();
  /** Handler retries waiting out a backoff, cut short by revoke/pause/seek/stop/close. */
  private readonly retryAborts = new Map<PartitionState, AbortController>();
  private readonly partitionsConsumedConcurrently: number;
  /** Retry / dead-letter / pause for failing handlers; null: plain rejection (assign mode). */
  private readonly failurePolicy: HandlerFailurePolicy | null;
  private deadLetterProducer: Producer | null = null;
  private readonly groupSettings: GroupSettings | null;
  private readonly retry: RetryOptions;
  private group: GroupSession | null = null;
  private subscribing: Promise<void> | null = null;
  private manuallyAssigned = false;
  /** A group failure that ended the membership: the next delivery step throws it. */
  private fatalError: Error | null = null;
  private readonly lagTimer: NodeJS.Timeout | null;

  constructor(ctx: ClientContext, config: ConsumerConfig = {}) {
    super();
    this.ctx = ctx;
    this.log = ctx.logger.child({ component: 'consumer' });
    const retry = retryOptions(ctx.retry, config.retry);
    this.retry = retry;
    this.pool = new BrokerPool(ctx.brokers, {
      clientId: ctx.clientId,
      connectionTimeoutMs: ctx.connectionTimeoutMs,
      requestTimeoutMs: ctx.requestTimeoutMs,
      retry,
      logger: this.log,
    });
    this.metadata = new Metadata(this.pool, { logger: this.log, retry, allowAutoTopicCreation: false });
    const maxBytesPerPartition = positive('maxBytesPerPartition', config.maxBytesPerPartition ?? 1024 * 1024);
    const maxBytes = positive('maxBytes', config.maxBytes ?? 16 * 1024 * 1024);
    const autoOffsetReset = config.autoOffsetReset ?? 'earliest';
    if (autoOffsetReset !== 'earliest' && autoOffsetReset !== 'latest' && autoOffsetReset !== 'none') {
      throw new RangeError(`autoOffsetReset must be 'earliest', 'latest' or 'none', got '${String(autoOffsetReset)}'`);
    }
    this.longPolls = new LongPollConnections(this.pool, {
      clientId: ctx.clientId,
      connectionTimeoutMs: ctx.connectionTimeoutMs,
      requestTimeoutMs: ctx.requestTimeoutMs,
      retry,
      logger: this.log,
    });
    this.fetcher = new Fetcher({
      pool: this.pool,
      longPolls: this.longPolls,
      metadata: this.metadata,
      logger: this.log,
      retry,
      requestTimeoutMs: ctx.requestTimeoutMs,
      maxWaitMs: nonNegative('maxWaitMs', config.maxWaitMs ?? 500),
      minBytes: nonNegative('minBytes', config.minBytes ?? 1),
      maxBytes,
      maxBytesPerPartition: Math.min(maxBytesPerPartition, maxBytes),
      maxPrefetchBytes: positive('maxPrefetchBytes', config.maxPrefetchBytes ?? 32 * 1024 * 1024),
      autoOffsetReset,
      onReady: (st) => {
        this.enqueue(st);
        this.wake();
      },
    });
    this.partitionsConsumedConcurrently = positive('partitionsConsumedConcurrently', config.partitionsConsumedConcurrently ?? 1);
    this.groupSettings = config.groupId === undefined ? null : groupSettingsOf(config);
    const deadLetterTopic = config.deadLetterTopic ?? null;
    if (deadLetterTopic !== null) {
      const problem = typeof deadLetterTopic === 'string' ? validateTopicName(deadLetterTopic) : 'not a string';
      if (problem !== null) throw new RangeError(`deadLetterTopic must be a legal topic name: ${problem}`);
    }
    this.failurePolicy =
      this.groupSettings !== null || deadLetterTopic !== null
        ? new HandlerFailurePolicy({ retry, deadLetterTopic, producer: () => this.dlqProducer(), logger: this.log })
        : null;
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
    if (this.groupSettings === null) throw new Error('subscribe() needs a groupId: rill.consumer({ groupId })');
    if (this.manuallyAssigned) throw new Error('this consumer was assigned partitions with assign(); it cannot also subscribe()');
    const subscription = parseSubscription(topics);
    // One subscribe at a time: a second call waits for the first join.
    while (this.subscribing !== null) await this.subscribing.catch(() => undefined);
    this.checkOpen();
    const group = (this.group ??= this.createGroupSession(this.groupSettings));
    const joining = group.subscribe(subscription);
    this.subscribing = joining;
    try {
      await joining;
    } catch (err) {
      // The first join failed for good: drop the session so that subscribe() can be retried.
      if (this.group === group && group.memberEpoch <= 0) {
        this.group = null;
        await group.close().catch(() => undefined);
      }
      throw err;
    } finally {
      this.subscribing = null;
    }
  }

  /**
   * Commits offsets to the group: without arguments the processed offset of every owned
   * partition (the offset after its last processed message) that moved since its last commit;
   * or exactly the given `{ topic, partition, offset }` (offset = the next message to read).
   * Resolves with what was committed.
   */
  async commit(offsets?: TopicPartitionCommit[]): Promise<CommittedOffset[]> {
    this.checkOpen();
    if (this.group === null) throw new Error('commit() needs a group: rill.consumer({ groupId }) and subscribe()');
    if (offsets !== undefined) {
      if (!Array.isArray(offsets)) throw new TypeError('commit() takes an array of { topic, partition, offset }');
      for (const o of offsets) {
        validatePartition(o);
        if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${o.offset}`);
      }
    }
    return this.group.commit(offsets);
  }

  /** The group membership as of the latest heartbeat, or null without a group. */
  groupMember(): { groupId: string; memberId: string; memberEpoch: number } | null {
    if (this.group === null) return null;
    return { groupId: this.group.groupId, memberId: this.group.memberId, memberEpoch: this.group.memberEpoch };
  }

  /** Per-partition lag: the last fetch's high watermark minus the position (what the 'lag' event reports). */
  lag(): PartitionLag[] {
    const out: PartitionLag[] = [];
    for (const st of this.fetcher.partitions.values()) {
      if (st.revoking) continue;
      const position = this.position(st.topic, st.partition) ?? -1;
      const hw = st.highWatermark;
      out.push({ topic: st.topic, partition: st.partition, position, highWatermark: hw, lag: hw < 0 || position < 0 ? -1 : Math.max(0, hw - position) });
    }
    return out;
  }

  private createGroupSession(settings: GroupSettings): GroupSession {
    const session = new GroupSession(
      this.ctx,
      settings,
      this.retry,
      {
        assignPartitions: (list, opts) => this.assignPartitions(list, opts),
        revokePartitions: (list) => this.revokePartitions(list),
        processedOffsets: () => this.processedOffsets(),
      },
      {
        join: (e) => this.safeEmit('group.join', e),
        rebalance: (e) => this.safeEmit('rebalance', e),
        commit: (e) => this.safeEmit('commit', e),
        error: (err) => this.backgroundError(err),
        fatal: (err) => {
          this.fatalError = err;
          this.backgroundError(err);
          this.wake();
        },
      },
      this.log,
    );
    // Registered first, so it runs before the dead-letter producer closes: the final commit
    // and the leave happen after consumption stopped, while the connections are still open.
    this.closeHooks.unshift(() => session.close());
    return session;
  }

  private dlqProducer(): Producer {
    if (this.deadLetterProducer === null) {
      const producer = new Producer(this.ctx, { acks: 'all', idempotent: true, lingerMs: 0 });
      this.deadLetterProducer = producer;
      this.closeHooks.push(() => producer.close());
    }
    return this.deadLetterProducer;
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
    if (this.group !== null) throw new Error('this consumer subscribed to a group; its partitions come from the group, not assign()');
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
    this.wake();
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
    this.wake();
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
        this.abortRetry(st);
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
    for (const st of this.matching(list)) {
      st.paused = true;
      this.abortRetry(st);
    }
  }

  resume(list: TopicPartitions[]): void {
    for (const st of this.matching(list)) {
      if (!st.paused) continue;
      st.paused = false;
      if (st.chunks.length > 0 || st.error !== null) this.enqueue(st);
    }
    this.fetcher.kick();
    this.wake();
  }

  paused(): TopicPartition[] {
    return [...this.fetcher.partitions.values()].filter((st) => st.paused).map((st) => ({ topic: st.topic, partition: st.partition }));
  }

  /** Moves an assigned partition: the next message delivered is at `offset` (buffered data is dropped). */
  seek(tp: TopicPartitionOffset): void {
    validatePartition(tp);
    this.seekState(this.stateOf(tp.topic, tp.partition), tp.offset);
  }

  /**
   * The offset of the next message this consumer will deliver for the partition, or null
   * while its start ('earliest', 'latest', a timestamp) is still being looked up.
   */
  position(topic: string, partition: number): number | null {
    const st = this.stateOf(topic, partition);
    const cur = this.current;
    if (cur !== null && cur.st === st && cur.chunk.epoch === st.epoch && cur.chunk.next < cur.chunk.messages.length) {
      return cur.chunk.messages[cur.chunk.next]!.offset;
    }
    const held = this.inHand.get(st);
    if (held !== undefined && held.epoch === st.epoch && held.next < held.messages.length) return held.messages[held.next]!.offset;
    const head = st.chunks[0];
    if (head !== undefined) return head.messages[head.next]!.offset;
    return st.pendingStart !== null ? null : st.fetchOffset;
  }

  // ---- consumption ------------------------------------------------------------------------

  /** `for await (const message of consumer)`: ends when the consumer is stopped or closed. */
  [Symbol.asyncIterator](): AsyncIterator<ConsumedMessage> {
    this.startLoop('iterator');
    return {
      next: () => this.iteratorNext(),
      return: async () => {
        // break, return and a throw in the loop body all land here and cannot be told apart:
        // the message in hand is not counted as processed (at least once).
        this.releaseYielded(false);
        this.endLoop();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Delivers messages to `eachMessage` (one at a time per partition) or `eachBatch` (a
   * partition's chunk at a time) until stop() or close(), handling up to
   * `partitionsConsumedConcurrently` partitions at once. When a handler throws: see the class
   * comment (plain: run() rejects and the partition is rewound; with a group or a
   * deadLetterTopic: retry, dead-letter or pause).
   */
  async run(config: RunConfig): Promise<void> {
    const { eachMessage, eachBatch } = config;
    if (eachMessage === undefined && eachBatch === undefined) throw new TypeError('run() needs eachMessage or eachBatch');
    const workers = positive('partitionsConsumedConcurrently', config.partitionsConsumedConcurrently ?? this.partitionsConsumedConcurrently);
    this.startLoop('run');
    // A chunk the iterator was in the middle of goes back to its partition.
    const cur = this.current;
    this.current = null;
    if (cur !== null) {
      this.fetcher.putBack(cur.st, cur.chunk);
      if (cur.st.chunks.length > 0) this.enqueue(cur.st);
    }
    const loop: RunLoop = { failure: null };
    try {
      await Promise.all(Array.from({ length: workers }, () => this.runWorker(config, loop)));
      if (loop.failure !== null) throw loop.failure;
    } finally {
      this.endLoop();
    }
  }

  /** Ends run() / the for-await loop (after the message in hand); the assignment and buffers stay. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abortAllRetries();
    this.wake();
    if (this.mode === 'iterator') {
      this.releaseYielded(false);
      this.endLoop();
    }
    await this.loopDone;
  }

  /**
   * Stops consumption (waiting for the handler in progress), leaves the group (after a final
   * commit when autoCommit), closes the dead-letter producer and the connections.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      this.abortAllRetries();
      this.wake();
      if (this.mode === 'iterator') {
        this.releaseYielded(false);
        this.endLoop();
      }
      await this.loopDone;
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

  // ---- internals --------------------------------------------------------------------------

  private async iteratorNext(): Promise<IteratorResult<ConsumedMessage>> {
    this.releaseYielded(true);
    for (;;) {
      if (this.stopping || this.closing !== null || this.mode !== 'iterator') {
        this.endLoop();
        return { done: true, value: undefined };
      }
      let m: ConsumedMessage | null;
      try {
        if (this.fatalError !== null) throw this.fatalError;
        m = this.pull();
      } catch (err) {
        this.endLoop();
        throw err;
      }
      if (m !== null) {
        const st = this.pulledState!;
        st.processing++;
        this.yieldedState = st;
        this.yieldedEpoch = this.pulledEpoch;
        this.yieldedOffset = m.offset;
        return { done: false, value: m };
      }
      await this.waitForData();
    }
  }

  /** Ends the processing of the message the iterator handed out last. */
  private releaseYielded(processed: boolean): void {
    const st = this.yieldedState;
    if (st === null) return;
    this.yieldedState = null;
    this.finish(st, this.yieldedEpoch, processed ? this.yieldedOffset + 1 : -1);
  }

  private lastYieldMs = Date.now();

  /** Yields to the event loop (setImmediate) when delivery has run for YIELD_EVERY_MS without one. */
  private async yieldIfBusy(): Promise<void> {
    const now = Date.now();
    if (now - this.lastYieldMs < YIELD_EVERY_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYieldMs = Date.now();
  }

  /** One of run()'s workers: takes a ready partition nobody else is handling and delivers its chunk. */
  private async runWorker(config: RunConfig, loop: RunLoop): Promise<void> {
    while (!this.stopping && this.closing === null && loop.failure === null) {
      await this.yieldIfBusy();
      if (this.stopping || this.closing !== null || loop.failure !== null) break;
      if (this.fatalError !== null) {
        loop.failure ??= this.fatalError;
        break;
      }
      let taken: { st: PartitionState; chunk: MessageChunk } | null;
      try {
        taken = this.takeChunkForWorker();
      } catch (err) {
        loop.failure ??= err as Error;
        break;
      }
      if (taken === null) {
        await this.waitForData();
        continue;
      }
      const { st, chunk } = taken;
      this.inHand.set(st, chunk);
      try {
        if (config.eachBatch !== undefined) await this.deliverBatch(st, chunk, config.eachBatch);
        else await this.deliverChunk(st, chunk, config.eachMessage!, loop);
      } catch (err) {
        loop.failure ??= err as Error;
      } finally {
        this.inHand.delete(st);
        if (st.chunks.length > 0 || (st.error !== null && !st.errorReported)) {
          this.enqueue(st);
          // Another worker may be idle while this partition has more to deliver.
          this.wake();
        }
      }
    }
    // Other workers may be waiting for data: let them see the loop is over.
    this.wake();
  }

  /** The next chunk of the first ready partition that no worker is handling (round robin). */
  private takeChunkForWorker(): { st: PartitionState; chunk: MessageChunk } | null {
    for (let i = 0; i < this.ring.length; i++) {
      const st = this.ring[i]!;
      if (this.inHand.has(st)) continue;
      this.ring.splice(i, 1);
      i--;
      st.inRing = false;
      if (st.removed || st.paused || st.revoking) continue;
      const chunk = this.fetcher.takeChunk(st);
      if (chunk === undefined) {
        if (st.error !== null && !st.errorReported) {
          st.errorReported = true;
          throw st.error;
        }
        continue;
      }
      if (chunk.epoch !== st.epoch) {
        if (st.chunks.length > 0) this.enqueue(st);
        continue;
      }
      return { st, chunk };
    }
    return null;
  }

  /** Delivers a chunk's messages one by one; stops early (putting the rest back) when the partition or the run changes. */
  private async deliverChunk(st: PartitionState, chunk: MessageChunk, eachMessage: NonNullable<RunConfig['eachMessage']>, loop: RunLoop): Promise<void> {
    const epoch = chunk.epoch;
    let sinceCheck = 0;
    while (chunk.next < chunk.messages.length) {
      // Handlers that resolve at once keep us in microtasks: give timers (heartbeats, linger,
      // auto-commit) and I/O a turn every YIELD_EVERY_MS of continuous delivery.
      if (++sinceCheck >= YIELD_CHECK_EVERY_MESSAGES) {
        sinceCheck = 0;
        await this.yieldIfBusy();
      }
      if (st.removed || st.epoch !== epoch) return;
      if (st.paused || st.revoking || this.stopping || this.closing !== null || loop.failure !== null || this.fatalError !== null) {
        this.fetcher.putBack(st, chunk);
        return;
      }
      const m = chunk.messages[chunk.next++]!;
      if (!(await this.deliverMessage(st, epoch, m, eachMessage))) return;
    }
  }

  /** Handles one message; false when the partition must not go on (failed, rewound or paused). */
  private async deliverMessage(st: PartitionState, epoch: number, m: ConsumedMessage, eachMessage: NonNullable<RunConfig['eachMessage']>): Promise<boolean> {
    st.processing++;
    const payload: EachMessagePayload = { topic: m.topic, partition: m.partition, message: m };
    const policy = this.failurePolicy;
    if (policy === null) {
      try {
        await eachMessage(payload);
      } catch (err) {
        this.finish(st, epoch, -1);
        this.rewind(st, epoch, m.offset);
        throw err;
      }
      this.finish(st, epoch, m.offset + 1);
      return true;
    }
    const outcome = await this.attempt(st, epoch, policy, () => eachMessage(payload));
    if (outcome.kind === 'processed') {
      this.finish(st, epoch, m.offset + 1);
      return true;
    }
    if (outcome.kind === 'abandoned') {
      this.finish(st, epoch, -1);
      this.rewind(st, epoch, m.offset);
      return false;
    }
    let cause = outcome.error;
    if (policy.deadLetterTopic !== null) {
      try {
        await policy.deadLetter(m, outcome.error, outcome.attempts);
        this.finish(st, epoch, m.offset + 1);
        return true;
      } catch (err) {
        cause = new Error(`producing it to dead-letter topic '${policy.deadLetterTopic}' failed (${(err as Error).message}) after the handler failed: ${describe(outcome.error)}`, { cause: err });
      }
    }
    this.finish(st, epoch, -1);
    this.pauseAt(st, epoch, m.offset);
    this.surface(new ConsumerHandlerError('eachMessage', m.topic, m.partition, m.offset, outcome.attempts, cause));
    return false;
  }

  private async deliverBatch(st: PartitionState, chunk: MessageChunk, eachBatch: NonNullable<RunConfig['eachBatch']>): Promise<void> {
    const epoch = chunk.epoch;
    if (st.removed || st.epoch !== epoch) return;
    if (st.paused || st.revoking) {
      this.fetcher.putBack(st, chunk);
      return;
    }
    const all = chunk.next === 0 ? chunk.messages : chunk.messages.slice(chunk.next);
    chunk.next = chunk.messages.length;
    st.processing++;
    let resolvedNext = -1;
    let resolvedThisAttempt = false;
    const callOnce = async (): Promise<void> => {
      // A retry starts at the first message the failed attempt did not resolve.
      const from = resolvedNext < 0 ? 0 : all.findIndex((m) => m.offset >= resolvedNext);
      if (from < 0) return;
      const messages = from === 0 ? all : all.slice(from);
      resolvedThisAttempt = false;
      const batch: Batch = {
        topic: st.topic,
        partition: st.partition,
        highWatermark: chunk.highWatermark,
        messages,
        firstOffset: () => messages[0]?.offset ?? null,
        lastOffset: () => messages[messages.length - 1]?.offset ?? null,
      };
      const payload: EachBatchPayload = {
        batch,
        resolveOffset: (offset: number) => {
          resolvedNext = offset + 1;
          resolvedThisAttempt = true;
          if (epoch === st.epoch && !st.removed) st.processedOffset = offset + 1;
        },
        isRunning: () => !this.stopping && this.closing === null,
        isStale: () => epoch !== st.epoch || st.removed || st.revoking || st.paused,
      };
      await eachBatch(payload);
    };
    const firstUnresolved = (): number => (resolvedNext >= 0 ? resolvedNext : all[0]!.offset);
    // An app that resolved offsets itself said how far it got; otherwise the whole batch is done.
    const doneUpTo = (): number => (resolvedThisAttempt ? resolvedNext : all[all.length - 1]!.offset + 1);
    const policy = this.failurePolicy;
    if (policy === null) {
      try {
        await callOnce();
      } catch (err) {
        this.finish(st, epoch, -1);
        this.rewind(st, epoch, firstUnresolved());
        throw err;
      }
      this.finish(st, epoch, doneUpTo());
      return;
    }
    const outcome = await this.attempt(st, epoch, policy, callOnce);
    if (outcome.kind === 'processed') {
      this.finish(st, epoch, doneUpTo());
      return;
    }
    this.finish(st, epoch, -1);
    if (outcome.kind === 'abandoned') {
      this.rewind(st, epoch, firstUnresolved());
      return;
    }
    // A batch handler does not say which message failed, so there is nothing to dead-letter.
    this.pauseAt(st, epoch, firstUnresolved());
    this.surface(new ConsumerHandlerError('eachBatch', st.topic, st.partition, firstUnresolved(), outcome.attempts, outcome.error));
  }

  /** Runs a handler under the failure policy, with a backoff that revoke/pause/seek/stop/close cut short. */
  private async attempt(st: PartitionState, epoch: number, policy: HandlerFailurePolicy, call: () => Promise<void>): Promise<HandlerOutcome> {
    // The AbortController only matters once a handler failed and a backoff starts: create it
    // then, not per message (one per message cost ~14% of group-mode eachMessage time).
    let abort: AbortController | null = null;
    const retryAborts = this.retryAborts;
    const ctrl: AttemptControl = {
      isStale: () => st.removed || st.revoking || st.paused || st.epoch !== epoch || this.stopping || this.closing !== null,
      get signal(): AbortSignal {
        if (abort === null) {
          abort = new AbortController();
          retryAborts.set(st, abort);
        }
        return abort.signal;
      },
    };
    try {
      return await policy.run(call, ctrl);
    } finally {
      if (abort !== null && retryAborts.get(st) === abort) retryAborts.delete(st);
    }
  }

  private abortRetry(st: PartitionState): void {
    this.retryAborts.get(st)?.abort(new Error('partition revoked, paused or moved'));
  }

  private abortAllRetries(): void {
    for (const a of this.retryAborts.values()) a.abort(new Error('consumer stopping'));
  }

  /** After a handler failed for good: the partition waits at the failed message until resume(). */
  private pauseAt(st: PartitionState, epoch: number, offset: number): void {
    if (st.removed || st.revoking || st.epoch !== epoch) return;
    st.paused = true;
    this.seekState(st, offset);
  }

  /**
   * A handler failure the app must hear about: the 'error' event when someone listens (run()
   * goes on with the other partitions), otherwise run() rejects with it.
   */
  private surface(err: ConsumerHandlerError): void {
    this.log.warn({ topic: err.topic, partition: err.partition, offset: err.offset, attempts: err.attempts, err: err.message }, 'handler failed; partition paused');
    if (this.listenerCount('error') === 0) throw err;
    this.safeEmit('error', err);
  }

  /** After a handler failed: deliver from `offset` again next time (unless the app moved the partition itself). */
  private rewind(st: PartitionState, epoch: number, offset: number): void {
    if (st.removed || st.revoking || st.epoch !== epoch) return;
    this.seekState(st, offset);
  }

  /** One message of processing finished; `nextOffset` < 0 means it failed (position unchanged). */
  private finish(st: PartitionState, epoch: number, nextOffset: number): void {
    st.processing--;
    if (nextOffset >= 0 && epoch === st.epoch && !st.removed && nextOffset > st.processedOffset) st.processedOffset = nextOffset;
    if (st.processing === 0 && st.idleWaiters.length > 0) {
      const waiters = st.idleWaiters;
      st.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** The next message to deliver, or null when nothing is buffered. Throws a partition's error. */
  private pull(): ConsumedMessage | null {
    for (;;) {
      const cur = this.current;
      if (cur !== null) {
        const { st, chunk } = cur;
        if (st.removed || chunk.epoch !== st.epoch) {
          this.current = null;
          continue;
        }
        if (st.paused || st.revoking) {
          this.fetcher.putBack(st, chunk);
          this.current = null;
          continue;
        }
        if (chunk.next < chunk.messages.length) {
          const m = chunk.messages[chunk.next++]!;
          if (chunk.next === chunk.messages.length) this.current = null;
          this.pulledState = st;
          this.pulledEpoch = chunk.epoch;
          return m;
        }
        this.current = null;
      }
      const next = this.nextChunk();
      if (next === null) return null;
      this.current = next;
    }
  }

  /** The next partition's next chunk, round robin. Throws a partition error once, after its buffered data. */
  private nextChunk(): { st: PartitionState; chunk: MessageChunk } | null {
    while (this.ring.length > 0) {
      const st = this.ring.shift()!;
      st.inRing = false;
      if (st.removed || st.paused || st.revoking) continue;
      const chunk = this.fetcher.takeChunk(st);
      if (chunk === undefined) {
        if (st.error !== null && !st.errorReported) {
          st.errorReported = true;
          throw st.error;
        }
        continue;
      }
      if (st.chunks.length > 0 || (st.error !== null && !st.errorReported)) this.enqueue(st);
      if (chunk.epoch !== st.epoch) continue;
      return { st, chunk };
    }
    return null;
  }

  private enqueue(st: PartitionState): void {
    if (st.inRing || st.removed) return;
    st.inRing = true;
    this.ring.push(st);
  }

  private waitForData(): Promise<void> {
    return new Promise((resolve) => this.dataWaiters.push(resolve));
  }

  private wake(): void {
    if (this.dataWaiters.length === 0) return;
    const waiters = this.dataWaiters;
    this.dataWaiters = [];
    for (const w of waiters) w();
  }

  private startLoop(mode: Mode): void {
    if (this.closing !== null || this.closed) throw new Error('the consumer is closed');
    if (this.mode !== 'idle') throw new Error(`the consumer is already being read (${this.mode === 'run' ? 'run()' : 'for await'}); use one loop at a time`);
    this.mode = mode;
    this.stopping = false;
    this.loopDone = new Promise((resolve) => {
      this.resolveLoopDone = resolve;
    });
  }

  private endLoop(): void {
    if (this.mode === 'idle') return;
    this.mode = 'idle';
    this.resolveLoopDone();
  }

  private seekState(st: PartitionState, offset: OffsetSpec): void {
    if (this.current !== null && this.current.st === st) this.current = null;
    this.abortRetry(st);
    this.fetcher.seek(st, offset, typeof offset === 'number');
    this.wake();
  }

  private drop(st: PartitionState): void {
    if (this.current !== null && this.current.st === st) this.current = null;
    this.abortRetry(st);
    this.fetcher.remove(st);
    // Anyone waiting for it to go idle must not hang on a partition that is gone.
    if (st.idleWaiters.length > 0 && st.processing === 0) {
      const waiters = st.idleWaiters;
      st.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private stateOf(topic: string, partition: number): PartitionState {
    const st = this.fetcher.partitions.get(partitionKey(topic, partition));
    if (st === undefined) throw new RangeError(`${topic}[${partition}] is not assigned to this consumer`);
    return st;
  }

  private matching(list: TopicPartitions[]): PartitionState[] {
    const out: PartitionState[] = [];
    for (const { topic, partitions } of list) {
      for (const st of this.fetcher.partitions.values()) {
        if (st.topic === topic && (partitions === undefined || partitions.includes(st.partition))) out.push(st);
      }
    }
    return out;
  }

  private checkOpen(): void {
    if (this.closing !== null || this.closed) throw new Error('the consumer is closed');
  }
}

function validatePartition(tp: { topic: string; partition: number }): void {
  if (typeof tp.topic !== 'string' || tp.topic.length === 0) throw new RangeError('a topic name is required');
  if (!Number.isInteger(tp.partition) || tp.partition < 0) throw new RangeError(`partition must be a non-negative integer, got ${tp.partition}`);
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

function groupSettingsOf(config: ConsumerConfig): GroupSettings {
  const groupId = config.groupId!;
  if (typeof groupId !== 'string' || groupId.length === 0 || groupId.length > MAX_GROUP_ID_LENGTH) {
    throw new RangeError(`groupId must be a string of 1..${MAX_GROUP_ID_LENGTH} characters`);
  }
  if (config.fromBeginning !== undefined && typeof config.fromBeginning !== 'boolean') throw new TypeError('fromBeginning must be a boolean');
  if (config.autoCommit !== undefined && typeof config.autoCommit !== 'boolean') throw new TypeError('autoCommit must be a boolean');
  if (config.onAssign !== undefined && typeof config.onAssign !== 'function') throw new TypeError('onAssign must be a function');
  if (config.onRevoke !== undefined && typeof config.onRevoke !== 'function') throw new TypeError('onRevoke must be a function');
  return {
    groupId,
    fromBeginning: config.fromBeginning ?? false,
    sessionTimeoutMs: positive('sessionTimeoutMs', config.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS),
    heartbeatIntervalMs: positive('heartbeatIntervalMs', config.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS),
    rebalanceTimeoutMs: config.rebalanceTimeoutMs === undefined ? 0 : positive('rebalanceTimeoutMs', config.rebalanceTimeoutMs),
    autoCommit: config.autoCommit ?? true,
    autoCommitIntervalMs: positive('autoCommitIntervalMs', config.autoCommitIntervalMs ?? DEFAULT_AUTO_COMMIT_INTERVAL_MS),
    onAssign: config.onAssign,
    onRevoke: config.onRevoke,
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
