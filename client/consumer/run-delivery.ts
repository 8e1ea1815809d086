/**
 * run()'s delivery: `partitionsConsumedConcurrently` workers, each taking the next ready
 * partition that no other worker is handling (ReadyRing) and delivering its chunk to
 * `eachMessage` (one message at a time) or `eachBatch` (the chunk at once), so a partition's
 * messages are always handled one at a time and in order.
 *
 * Handler failures: with a groupId or a deadLetterTopic they go through the retry /
 * dead-letter / pause policy of group/retry-dlq.ts (a retry's backoff is cut short when the
 * partition is revoked, paused or moved, or the run ends); without, run() rejects with the
 * handler's error and the partition is rewound to the failed message.
 *
 * The run ends on stop(), close(), the run's AbortSignal, the first failure, or a fatal group
 * error; a worker in the middle of a chunk puts the undelivered rest back.
 */
import type { Logger } from 'pino';
import { onAbortOf, stopWatching } from '../abort-watch.js';
import type { Batch, ConsumedMessage, EachBatchPayload, EachMessagePayload, OffsetSpec, RunConfig } from '../types.js';
import type { Fetcher } from './fetcher.js';
import { ConsumerHandlerError, type AttemptControl, type HandlerFailurePolicy, type HandlerOutcome } from './group/retry-dlq.js';
import type { MessageChunk } from './message-chunk.js';
import type { PartitionState } from './partition-state.js';
import { finishProcessing, type ReadyRing } from './ready-ring.js';

/**
 * run() gives the event loop a turn after this long of continuous delivery: short enough that
 * heartbeats (seconds apart) and auto-commits are never starved, long enough not to cost
 * throughput (10 ms cost ~30% of consume throughput in bench/e2e; 50 ms ~1%).
 */
const YIELD_EVERY_MS = 50;
/** ...checking the clock once per this many messages. */
const YIELD_CHECK_EVERY_MESSAGES = 256;

/** What run()'s delivery needs of the consumer. */
export interface RunHost {
  readonly fetcher: Fetcher;
  readonly log: Logger;
  /** Retry / dead-letter / pause for failing handlers; null: plain rejection (assign mode). */
  readonly failurePolicy: HandlerFailurePolicy | null;
  /** stop() or close() was called. */
  stopping(): boolean;
  /** A group failure that ended the membership: the run ends with it. */
  fatalError(): Error | null;
  /** Moves a partition (after a failed handler): buffered data dropped, delivery from `offset`. */
  seekTo(st: PartitionState, offset: OffsetSpec): void;
  /** Emits 'error' when someone listens; false when nobody does. */
  emitError(err: Error): boolean;
}

/** One run(): the first failure ends every worker. */
interface RunLoop {
  failure: Error | null;
  signal: AbortSignal | undefined;
}

export class RunDelivery {
  /** Handler retries waiting out a backoff, cut short by revoke/pause/seek/stop/close. */
  private readonly retryAborts = new Map<PartitionState, AbortController>();
  private lastYieldMs = Date.now();

  constructor(
    private readonly host: RunHost,
    private readonly ring: ReadyRing,
  ) {}

  /** Delivers with `workers` workers until the run ends (see the file comment); rejects with the first failure. */
  async run(config: RunConfig, workers: number, signal: AbortSignal | undefined): Promise<void> {
    const loop: RunLoop = { failure: null, signal };
    // One watch for the run (abort-watch.ts: the signal's one listener is shared with every call).
    const abortWatch =
      signal === undefined
        ? null
        : onAbortOf(signal, () => {
            this.abortAllRetries();
            this.ring.wake();
          });
    try {
      await Promise.all(Array.from({ length: workers }, () => this.worker(config, loop)));
    } finally {
      if (abortWatch !== null) stopWatching(abortWatch);
    }
    if (loop.failure !== null) throw loop.failure;
  }

  private ended(loop: RunLoop): boolean {
    return this.host.stopping() || loop.signal?.aborted === true;
  }

  /** One of run()'s workers: takes a ready partition nobody else is handling and delivers its chunk. */
  private async worker(config: RunConfig, loop: RunLoop): Promise<void> {
    while (!this.ended(loop) && loop.failure === null) {
      // Checked inline: an async call and await per chunk was ~250 bytes of garbage.
      if (this.yieldDue()) await this.yieldNow();
      if (this.ended(loop) || loop.failure !== null) break;
      if (this.host.fatalError() !== null) {
        loop.failure ??= this.host.fatalError();
        break;
      }
      let taken: { st: PartitionState; chunk: MessageChunk } | null;
      try {
        taken = this.ring.takeForWorker();
      } catch (err) {
        loop.failure ??= err as Error;
        break;
      }
      if (taken === null) {
        // run()'s one watch on loop.signal wakes the ring when it aborts (ReadyRing.waitForData).
        await this.ring.waitForData();
        continue;
      }
      const { st, chunk } = taken;
      st.inHand = chunk;
      try {
        if (config.eachBatch !== undefined) await this.deliverBatch(st, chunk, config.eachBatch, loop);
        else await this.deliverChunk(st, chunk, config.eachMessage!, loop);
      } catch (err) {
        loop.failure ??= err as Error;
      } finally {
        st.inHand = null;
        if (st.chunks.length > 0 || (st.error !== null && !st.errorReported)) {
          this.ring.enqueue(st);
          // Another worker may be idle while this partition has more to deliver.
          this.ring.wake();
        }
      }
    }
    // Other workers may be waiting for data: let them see the loop is over.
    this.ring.wake();
  }
  /** Delivers a chunk's messages one by one; stops early (putting the rest back) when the partition or the run changes. */
  private deliverChunk(st: PartitionState, chunk: MessageChunk, eachMessage: NonNullable<RunConfig['eachMessage']>, loop: RunLoop): Promise<void> {
    if (this.host.failurePolicy === null) return this.deliverPlain(st, chunk, eachMessage, loop);
    return this.deliverWithPolicy(st, chunk, eachMessage, loop);
  }
  /**
   * Whether delivery of `chunk` must stop before its next message: returns true after putting
   * the rest back when the partition is paused or revoked or the run is over, and true without
   * putting back when the partition moved (its chunks were dropped).
   */
  private mustStop(st: PartitionState, chunk: MessageChunk, epoch: number, loop: RunLoop): boolean {
    if (st.removed || st.epoch !== epoch) return true;
    if (st.paused || st.revoking || this.ended(loop) || loop.failure !== null || this.host.fatalError() !== null) {
      this.host.fetcher.putBack(st, chunk);
      return true;
    }
    return false;
  }
  /**
   * The plain path (no failure policy): a handler failure rejects, the partition rewound to the
   * failed message. Written as a chain of promise callbacks made once per chunk rather than an
   * async loop: an `await` per message cost ~200 bytes of young-generation garbage (the await's
   * closures and reaction), a `.then` with callbacks made once ~95 (docs/BENCHMARKS.md, issue 8:
   * garbage per request). The order is the async loop's: each message's handler settles before
   * the next one is taken, and every settlement goes through a microtask.
   */
  private deliverPlain(st: PartitionState, chunk: MessageChunk, eachMessage: NonNullable<RunConfig['eachMessage']>, loop: RunLoop): Promise<void> {
    const epoch = chunk.epoch;
    return new Promise<void>((resolve, reject) => {
      let sinceCheck = 0;
      let offset = -1;
      const step = (): void => {
        while (chunk.next < chunk.count) {
          // Handlers that resolve at once keep us in microtasks: give timers (heartbeats, linger,
          // auto-commit) and I/O a turn every YIELD_EVERY_MS of continuous delivery.
          if (++sinceCheck >= YIELD_CHECK_EVERY_MESSAGES) {
            sinceCheck = 0;
            if (this.yieldDue()) {
              this.yieldNow().then(guardedStep, reject);
              return;
            }
          }
          if (this.mustStop(st, chunk, epoch, loop)) break;
          const m = chunk.take();
          offset = m.offset;
          st.processing++;
          let r: unknown;
          try {
            r = eachMessage({ topic: m.topic, partition: m.partition, message: m });
          } catch (err) {
            failed(err);
            return;
          }
          // Promise.resolve returns a native promise as it is; anything else settles in a microtask, as an await would.
          Promise.resolve(r).then(handled, failed);
          return;
        }
        resolve();
      };
      // These run as promise callbacks: a throw in them (a failing putBack, fatalError check or
      // seek) must reject the chunk, as it would the async loop, not become an unhandled rejection.
      const guardedStep = (): void => {
        try {
          step();
        } catch (err) {
          reject(err);
        }
      };
      const handled = (): void => {
        try {
          finishProcessing(st, epoch, offset + 1);
          step();
        } catch (err) {
          reject(err);
        }
      };
      const failed = (err: unknown): void => {
        try {
          finishProcessing(st, epoch, -1);
          this.rewind(st, epoch, offset);
        } catch (rewindErr) {
          reject(rewindErr);
          return;
        }
        reject(err);
      };
      step();
    });
  }
  /** Delivers with the retry / dead-letter / pause policy, one message at a time. */
  private async deliverWithPolicy(st: PartitionState, chunk: MessageChunk, eachMessage: NonNullable<RunConfig['eachMessage']>, loop: RunLoop): Promise<void> {
    const epoch = chunk.epoch;
    let sinceCheck = 0;
    while (chunk.next < chunk.count) {
      if (++sinceCheck >= YIELD_CHECK_EVERY_MESSAGES) {
        sinceCheck = 0;
        await this.yieldIfBusy();
      }
      if (this.mustStop(st, chunk, epoch, loop)) return;
      if (!(await this.deliverMessage(st, epoch, chunk.take(), eachMessage, loop))) return;
    }
  }
  /** Handles one message; false when the partition must not go on (failed, rewound or paused). */
  private async deliverMessage(st: PartitionState, epoch: number, m: ConsumedMessage, eachMessage: NonNullable<RunConfig['eachMessage']>, loop: RunLoop): Promise<boolean> {
    st.processing++;
    const payload: EachMessagePayload = { topic: m.topic, partition: m.partition, message: m };
    const policy = this.host.failurePolicy;
    if (policy === null) {
      try {
        await eachMessage(payload);
      } catch (err) {
        finishProcessing(st, epoch, -1);
        this.rewind(st, epoch, m.offset);
        throw err;
      }
      finishProcessing(st, epoch, m.offset + 1);
      return true;
    }
    const outcome = await this.attempt(st, epoch, policy, loop, () => eachMessage(payload));
    if (outcome.kind === 'processed') {
      finishProcessing(st, epoch, m.offset + 1);
      return true;
    }
    if (outcome.kind === 'abandoned') {
      finishProcessing(st, epoch, -1);
      this.rewind(st, epoch, m.offset);
      return false;
    }
    let cause = outcome.error;
    if (policy.deadLetterTopic !== null) {
      try {
        await policy.deadLetter(m, outcome.error, outcome.attempts);
        finishProcessing(st, epoch, m.offset + 1);
        return true;
      } catch (err) {
        cause = new Error(`producing it to dead-letter topic '${policy.deadLetterTopic}' failed (${(err as Error).message}) after the handler failed: ${describe(outcome.error)}`, { cause: err });
      }
    }
    finishProcessing(st, epoch, -1);
    this.pauseAt(st, epoch, m.offset);
    this.surface(new ConsumerHandlerError('eachMessage', m.topic, m.partition, m.offset, outcome.attempts, cause));
    return false;
  }
  private async deliverBatch(st: PartitionState, chunk: MessageChunk, eachBatch: NonNullable<RunConfig['eachBatch']>, loop: RunLoop): Promise<void> {
    const epoch = chunk.epoch;
    if (st.removed || st.epoch !== epoch) return;
    if (st.paused || st.revoking) {
      this.host.fetcher.putBack(st, chunk);
      return;
    }
    const all = chunk.takeRest();
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
        isRunning: () => !this.ended(loop),
        isStale: () => epoch !== st.epoch || st.removed || st.revoking || st.paused,
      };
      await eachBatch(payload);
    };
    const firstUnresolved = (): number => (resolvedNext >= 0 ? resolvedNext : all[0]!.offset);
    // An app that resolved offsets itself said how far it got; otherwise the whole batch is done.
    const doneUpTo = (): number => (resolvedThisAttempt ? resolvedNext : all[all.length - 1]!.offset + 1);
    const policy = this.host.failurePolicy;
    if (policy === null) {
      try {
        await callOnce();
      } catch (err) {
        finishProcessing(st, epoch, -1);
        this.rewind(st, epoch, firstUnresolved());
        throw err;
      }
      finishProcessing(st, epoch, doneUpTo());
      return;
    }
    const outcome = await this.attempt(st, epoch, policy, loop, callOnce);
    if (outcome.kind === 'processed') {
      finishProcessing(st, epoch, doneUpTo());
      return;
    }
    finishProcessing(st, epoch, -1);
    if (outcome.kind === 'abandoned') {
      this.rewind(st, epoch, firstUnresolved());
      return;
    }
    // A batch handler does not say which message failed, so there is nothing to dead-letter.
    this.pauseAt(st, epoch, firstUnresolved());
    this.surface(new ConsumerHandlerError('eachBatch', st.topic, st.partition, firstUnresolved(), outcome.attempts, outcome.error));
  }
  /** Runs a handler under the failure policy, with a backoff that revoke/pause/seek/stop/close cut short. */
  private async attempt(st: PartitionState, epoch: number, policy: HandlerFailurePolicy, loop: RunLoop, call: () => Promise<void>): Promise<HandlerOutcome> {
    // The AbortController only matters once a handler failed and a backoff starts: create it
    // then, not per message (one per message cost ~14% of group-mode eachMessage time).
    let abort: AbortController | null = null;
    const retryAborts = this.retryAborts;
    const ctrl: AttemptControl = {
      isStale: () => st.removed || st.revoking || st.paused || st.epoch !== epoch || this.ended(loop),
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
  abortRetry(st: PartitionState): void {
    this.retryAborts.get(st)?.abort(new Error('partition revoked, paused or moved'));
  }
  abortAllRetries(): void {
    for (const a of this.retryAborts.values()) a.abort(new Error('consumer stopping'));
  }
  /** After a handler failed for good: the partition waits at the failed message until resume(). */
  private pauseAt(st: PartitionState, epoch: number, offset: number): void {
    if (st.removed || st.revoking || st.epoch !== epoch) return;
    st.paused = true;
    this.host.seekTo(st, offset);
  }
  /**
   * A handler failure the app must hear about: the 'error' event when someone listens (run()
   * goes on with the other partitions), otherwise run() rejects with it.
   */
  private surface(err: ConsumerHandlerError): void {
    this.host.log.warn({ topic: err.topic, partition: err.partition, offset: err.offset, attempts: err.attempts, err: err.message }, 'handler failed; partition paused');
    if (!this.host.emitError(err)) throw err;
  }
  /** After a handler failed: deliver from `offset` again next time (unless the app moved the partition itself). */
  private rewind(st: PartitionState, epoch: number, offset: number): void {
    if (st.removed || st.revoking || st.epoch !== epoch) return;
    this.host.seekTo(st, offset);
  }
  /** Yields to the event loop (setImmediate) when delivery has run for YIELD_EVERY_MS without one. */
  private async yieldIfBusy(): Promise<void> {
    if (this.yieldDue()) await this.yieldNow();
  }
  private yieldDue(): boolean {
    return Date.now() - this.lastYieldMs >= YIELD_EVERY_MS;
  }
  private async yieldNow(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYieldMs = Date.now();
  }}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
