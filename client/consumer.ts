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
 * `assign()` is the manual mode on top of the same hooks.
 */
import type { Logger } from 'pino';
import { partitionKey } from './accumulator.js';
import { BrokerPool } from './broker-pool.js';
import type { ClientContext } from './context.js';
import { Fetcher, type MessageChunk, type PartitionState } from './fetcher.js';
import { Metadata } from './metadata.js';
import { retryOptions } from './retry.js';
import type {
  Batch,
  ConsumedMessage,
  ConsumerConfig,
  EachBatchPayload,
  OffsetSpec,
  RunConfig,
  TopicPartition,
  TopicPartitionOffset,
  TopicPartitions,
} from './types.js';

export interface ProcessedOffset {
  topic: string;
  partition: number;
  /** The offset after the last processed message: the next one to read. */
  offset: number;
}

export interface AssignOptions {
  /**
   * Numeric offsets are strict: OFFSET_OUT_OF_RANGE raises instead of resetting per
   * autoOffsetReset. assign() passes true; a group passing committed offsets passes false.
   */
  strictOffsets?: boolean;
}

type Mode = 'idle' | 'iterator' | 'run';

export class Consumer implements AsyncIterable<ConsumedMessage> {
  private readonly log: Logger;
  private readonly pool: BrokerPool;
  private readonly metadata: Metadata;
  private readonly fetcher: Fetcher;
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

  constructor(ctx: ClientContext, config: ConsumerConfig = {}) {
    this.log = ctx.logger.child({ component: 'consumer' });
    const retry = retryOptions(ctx.retry, config.retry);
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
    this.fetcher = new Fetcher({
      pool: this.pool,
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
  }

  // ---- assignment -------------------------------------------------------------------------

  /**
   * Replaces the assignment: exactly these partitions, each (re)starting at its offset — a
   * number (strict: out of range raises OFFSET_OUT_OF_RANGE), 'earliest', 'latest' or
   * `{ timestamp }` (the first offset at or after it, or the end when there is none).
   */
  assign(list: TopicPartitionOffset[]): void {
    this.checkOpen();
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
    for (const st of this.matching(list)) st.paused = true;
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
   * Delivers messages to `eachMessage` (one at a time) or `eachBatch` (a partition's chunk at
   * a time) until stop() or close(). If a handler throws, run() rejects with that error and
   * the partition is rewound so that the failed message is delivered again next time.
   */
  async run(config: RunConfig): Promise<void> {
    const { eachMessage, eachBatch } = config;
    if (eachMessage === undefined && eachBatch === undefined) throw new TypeError('run() needs eachMessage or eachBatch');
    this.startLoop('run');
    try {
      while (!this.stopping && this.closing === null) {
        if (eachBatch !== undefined) {
          const chunk = this.pullChunk();
          if (chunk === null) await this.waitForData();
          else await this.deliverBatch(chunk.st, chunk.epoch, chunk.messages, chunk.highWatermark, eachBatch);
        } else {
          const m = this.pull();
          if (m === null) await this.waitForData();
          else await this.deliverMessage(m, eachMessage!);
        }
      }
    } finally {
      this.endLoop();
    }
  }

  /** Ends run() / the for-await loop (after the message in hand); the assignment and buffers stay. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    if (this.mode === 'iterator') {
      this.releaseYielded(false);
      this.endLoop();
    }
    await this.loopDone;
  }

  /** Stops consumption (waiting for the handler in progress), runs close hooks, closes connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      this.wake();
      if (this.mode === 'iterator') {
        this.releaseYielded(false);
        this.endLoop();
      }
      await this.loopDone;
      for (const hook of this.closeHooks) {
        try {
          await hook();
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'close hook failed');
        }
      }
      this.fetcher.stop();
      await this.pool.close();
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

  private async deliverMessage(m: ConsumedMessage, eachMessage: NonNullable<RunConfig['eachMessage']>): Promise<void> {
    const st = this.pulledState!;
    const epoch = this.pulledEpoch;
    st.processing++;
    try {
      await eachMessage({ topic: m.topic, partition: m.partition, message: m });
    } catch (err) {
      this.finish(st, epoch, -1);
      this.rewind(st, epoch, m.offset);
      throw err;
    }
    this.finish(st, epoch, m.offset + 1);
  }

  private async deliverBatch(st: PartitionState, epoch: number, messages: ConsumedMessage[], highWatermark: number, eachBatch: NonNullable<RunConfig['eachBatch']>): Promise<void> {
    st.processing++;
    let resolvedNext = -1;
    const batch: Batch = {
      topic: st.topic,
      partition: st.partition,
      highWatermark,
      messages,
      firstOffset: () => messages[0]?.offset ?? null,
      lastOffset: () => messages[messages.length - 1]?.offset ?? null,
    };
    const payload: EachBatchPayload = {
      batch,
      resolveOffset: (offset: number) => {
        resolvedNext = offset + 1;
        if (epoch === st.epoch && !st.removed) st.processedOffset = offset + 1;
      },
      isRunning: () => !this.stopping && this.closing === null,
      isStale: () => epoch !== st.epoch || st.removed || st.revoking || st.paused,
    };
    try {
      await eachBatch(payload);
    } catch (err) {
      this.finish(st, epoch, -1);
      this.rewind(st, epoch, resolvedNext >= 0 ? resolvedNext : messages[0]!.offset);
      throw err;
    }
    // An app that resolved offsets itself said how far it got; otherwise the whole batch is done.
    this.finish(st, epoch, resolvedNext >= 0 ? resolvedNext : messages[messages.length - 1]!.offset + 1);
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

  /** The rest of the current chunk, or the next chunk, for eachBatch. */
  private pullChunk(): { st: PartitionState; epoch: number; messages: ConsumedMessage[]; highWatermark: number } | null {
    for (;;) {
      let cur = this.current;
      this.current = null;
      if (cur === null) {
        cur = this.nextChunk();
        if (cur === null) return null;
      }
      const { st, chunk } = cur;
      if (st.removed || chunk.epoch !== st.epoch || chunk.next >= chunk.messages.length) continue;
      if (st.paused || st.revoking) {
        this.fetcher.putBack(st, chunk);
        continue;
      }
      const messages = chunk.next === 0 ? chunk.messages : chunk.messages.slice(chunk.next);
      chunk.next = chunk.messages.length;
      return { st, epoch: chunk.epoch, messages, highWatermark: chunk.highWatermark };
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
    this.fetcher.seek(st, offset, typeof offset === 'number');
    this.wake();
  }

  private drop(st: PartitionState): void {
    if (this.current !== null && this.current.st === st) this.current = null;
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
