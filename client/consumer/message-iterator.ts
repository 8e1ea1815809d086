/**
 * `for await (const message of consumer)` and `consumer.iterate({ signal })`: messages one at
 * a time, round robin across partitions (ReadyRing). The message handed out last counts as
 * processed when the loop asks for the next one; a loop that ends — break, return, throw, the
 * signal, stop(), close() — leaves the message in hand unprocessed (at least once: it is
 * delivered again after a rebalance or restart, never lost).
 */
import { onAbortOf, stopWatching, type SignalWatcher } from '../abort-watch.js';
import type { ConsumedMessage } from '../types.js';
import type { PartitionState } from './partition-state.js';
import { finishProcessing, type ReadyRing } from './ready-ring.js';

/** What the iterator needs of the consumer. */
export interface IteratorHost {
  readonly ring: ReadyRing;
  /** stop() or close() was called. */
  stopping(): boolean;
  /** A group failure that ended the membership: the loop throws it. */
  fatalError(): Error | null;
  /** The loop is over (the consumer may be read again). */
  ended(): void;
}

const DONE: IteratorResult<ConsumedMessage> = Object.freeze({ done: true, value: undefined });

export class MessageIterator implements AsyncIterableIterator<ConsumedMessage> {
  /** The message handed out last, processed once next() is called again. */
  private yieldedState: PartitionState | null = null;
  private yieldedEpoch = 0;
  private yieldedOffset = 0;
  private finished = false;
  /** Wakes the ring when the signal aborts (one watch for the loop; abort-watch.ts). */
  private readonly abortWatch: SignalWatcher | null;

  constructor(
    private readonly host: IteratorHost,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.abortWatch = signal === undefined ? null : onAbortOf(signal, () => this.host.ring.wake());
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ConsumedMessage>> {
    this.release(true);
    const ring = this.host.ring;
    for (;;) {
      if (this.finished || this.host.stopping() || this.signal?.aborted === true) {
        this.end();
        return DONE;
      }
      let m: ConsumedMessage | null;
      try {
        const fatal = this.host.fatalError();
        if (fatal !== null) throw fatal;
        m = ring.pull();
      } catch (err) {
        this.end();
        throw err;
      }
      if (m !== null) {
        const st = ring.pulledState!;
        st.processing++;
        this.yieldedState = st;
        this.yieldedEpoch = ring.pulledEpoch;
        this.yieldedOffset = m.offset;
        return { done: false, value: m };
      }
      // abortWatch (one watch for the loop) wakes the ring when the signal aborts.
      await ring.waitForData();
    }
  }

  /** break, return and a throw in the loop body all land here and cannot be told apart: the message in hand stays unprocessed. */
  async return(): Promise<IteratorResult<ConsumedMessage>> {
    this.end();
    return DONE;
  }

  /** Ends the loop (stop(), close(), return(), the signal); the message in hand stays unprocessed. */
  end(): void {
    this.release(false);
    if (this.finished) return;
    this.finished = true;
    if (this.abortWatch !== null) stopWatching(this.abortWatch);
    this.host.ended();
  }

  /** Ends the processing of the message handed out last. */
  private release(processed: boolean): void {
    const st = this.yieldedState;
    if (st === null) return;
    this.yieldedState = null;
    finishProcessing(st, this.yieldedEpoch, processed ? this.yieldedOffset + 1 : -1);
  }
}
