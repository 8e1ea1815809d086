/**
 * Where acks=all produces wait for their replicas (Kafka's DelayedProduce in the produce
 * purgatory). After the leader appended a batch ending at offset L, the produce parks until
 * one of:
 *
 *   the high watermark reaches L + 1   → success; or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the
 *                                        ISR shrank below min.insync.replicas meanwhile (the
 *                                        batch is in the log but fewer replicas than promised
 *                                        hold it; the producer may retry, idempotence dedups)
 *   this broker stops leading, or leads  → NOT_LEADER_OR_FOLLOWER (the new leader may or may not
 *   at another epoch                      have the batch; the producer retries there)
 *   request.timeout.ms passes           → REQUEST_TIMED_OUT
 *   the purgatory is closed             → NOT_LEADER_OR_FOLLOWER (the broker is going away)
 *
 * Before the append, `checkBeforeAppend` refuses acks=all with NOT_ENOUGH_REPLICAS when the
 * committed ISR is smaller than min.insync.replicas (Kafka's check: nothing is written then).
 *
 * Bounded: at most `maxParked` produces wait at once; one more is answered REQUEST_TIMED_OUT
 * at once (its batch is in the log; a retry is deduplicated for idempotent producers). Every
 * parked produce has a deadline, so nothing waits forever. The owner calls
 * `onPartitionChange(state)` whenever a partition's high watermark, ISR or role changed.
 *
 * Garbage: an acks=all producer parks a produce per batch, and the purgatory outlives them all,
 * so adding to and deleting from long-lived Maps, or a setTimeout per park, fills V8's old space
 * (see broker/fetch-purgatory.ts). Deadlines share one timer (deadline-queue.ts); each
 * partition's parked produces are an array kept for the partition's life (a WeakMap entry set
 * once), compacted in place as they complete.
 */
import { performance } from 'node:perf_hooks';
import { rillError, type RillError } from '../../protocol/errors.js';
import { DeadlineQueue } from '../deadline-queue.js';
import type { PartitionState } from './partition-state.js';

/** Kafka's default request.timeout.ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_PARKED_PRODUCES = 10_000;

/** null = acknowledged; otherwise the typed error to answer the partition with. */
export type ProduceOutcome = RillError | null;

interface Parked {
  readonly state: PartitionState;
  /** The high watermark that acknowledges the batch (its last offset + 1). */
  readonly requiredOffset: number;
  readonly leaderEpoch: number;
  readonly timeoutMs: number;
  /** performance.now() at which request.timeout.ms has passed. */
  readonly deadline: number;
  /** Place in the deadline queue; -1 once answered. */
  heapIndex: number;
  readonly resolve: (outcome: ProduceOutcome) => void;
}

export interface ProducePurgatoryOptions {
  maxParked?: number;
}

export class ProducePurgatory {
  readonly maxParked: number;
  /**
   * Parked produces per partition, in append order (so in required-offset order). A
   * partition's array stays once made (emptied, not deleted) and goes with its PartitionState.
   */
  private readonly byPartition = new WeakMap<PartitionState, Parked[]>();
  /** Every parked produce (also the way to reach them all on close). */
  private readonly deadlines = new DeadlineQueue<Parked>((p) => this.timedOut(p));
  private closed = false;

  constructor(opts: ProducePurgatoryOptions = {}) {
    this.maxParked = opts.maxParked ?? DEFAULT_MAX_PARKED_PRODUCES;
    if (!Number.isInteger(this.maxParked) || this.maxParked < 1) throw new RangeError(`maxParked must be a positive integer, got ${this.maxParked}`);
  }

  get size(): number {
    return this.deadlines.size;
  }

  /** NOT_LEADER_OR_FOLLOWER or (acks=all) NOT_ENOUGH_REPLICAS before anything is appended; null = go ahead. */
  checkBeforeAppend(state: PartitionState, acks: number): RillError | null {
    const notLeader = state.checkLeader();
    if (notLeader !== null) return notLeader;
    if (acks === -1 && state.isUnderMinIsr) {
      return rillError('NOT_ENOUGH_REPLICAS', `${state.topic}-${state.partition}: the ISR ${JSON.stringify(state.isr)} has fewer than min.insync.replicas=${state.minInsyncReplicas} replicas`, {
        topic: state.topic,
        partition: state.partition,
      });
    }
    return null;
  }

  /**
   * Waits until the batch ending before `requiredOffset` is acknowledged (see the file comment).
   * `leaderEpoch` is the epoch the batch was appended in.
   */
  park(state: PartitionState, requiredOffset: number, leaderEpoch: number, timeoutMs: number): Promise<ProduceOutcome> {
    const now = this.verdict(state, requiredOffset, leaderEpoch);
    if (now !== undefined) return Promise.resolve(now);
    if (this.closed) return Promise.resolve(this.gone(state));
    if (this.deadlines.size >= this.maxParked) {
      return Promise.resolve(rillError('REQUEST_TIMED_OUT', `${state.topic}-${state.partition}: ${this.deadlines.size} acks=all produces are already waiting for replicas`, { topic: state.topic, partition: state.partition }));
    }
    return new Promise<ProduceOutcome>((resolve) => {
      const entry: Parked = { state, requiredOffset, leaderEpoch, timeoutMs, deadline: performance.now() + timeoutMs, heapIndex: -1, resolve };
      let list = this.byPartition.get(state);
      if (list === undefined) this.byPartition.set(state, (list = []));
      list.push(entry);
      this.deadlines.push(entry);
    });
  }

  /** Completes whatever the partition's new high watermark, ISR or role decides. Returns how many completed. */
  onPartitionChange(state: PartitionState): number {
    const list = this.byPartition.get(state);
    if (list === undefined || list.length === 0) return 0;
    let done = 0;
    // Compacted in place: the kept ones slide down over the answered ones, order unchanged.
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      const v = this.verdict(p.state, p.requiredOffset, p.leaderEpoch);
      if (v === undefined) {
        list[kept++] = p;
        continue;
      }
      this.deadlines.remove(p);
      p.resolve(v);
      done++;
    }
    list.length = kept;
    return done;
  }

  /** Answers every parked produce NOT_LEADER_OR_FOLLOWER and refuses new ones (broker shutdown). */
  close(): void {
    this.closed = true;
    this.deadlines.stop();
    for (const p of this.deadlines.snapshot()) {
      this.deadlines.remove(p);
      this.byPartition.get(p.state)!.length = 0;
      p.resolve(this.gone(p.state));
    }
  }

  /** The answer now, or undefined to keep waiting. */
  private verdict(state: PartitionState, requiredOffset: number, leaderEpoch: number): ProduceOutcome | undefined {
    if (state.role !== 'leader' || state.leaderEpoch !== leaderEpoch) return this.gone(state);
    if (state.highWatermark < requiredOffset) return undefined;
    if (state.isUnderMinIsr) {
      return rillError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', `${state.topic}-${state.partition}: written, but the ISR ${JSON.stringify(state.isr)} shrank below min.insync.replicas=${state.minInsyncReplicas}`, {
        topic: state.topic,
        partition: state.partition,
      });
    }
    return null;
  }

  private gone(state: PartitionState): RillError {
    return rillError('NOT_LEADER_OR_FOLLOWER', `${state.topic}-${state.partition}: leadership changed before the replicas acknowledged`, { topic: state.topic, partition: state.partition });
  }

  /** request.timeout.ms passed: the one exceptional way out of the middle of a partition's array. */
  private timedOut(p: Parked): void {
    this.deadlines.remove(p);
    const list = this.byPartition.get(p.state)!;
    const i = list.indexOf(p);
    if (i >= 0) list.splice(i, 1);
    p.resolve(
      rillError('REQUEST_TIMED_OUT', `${p.state.topic}-${p.state.partition}: replicas did not reach offset ${p.requiredOffset} within ${p.timeoutMs} ms (high watermark ${p.state.highWatermark})`, {
        topic: p.state.topic,
        partition: p.state.partition,
      }),
    );
  }
}
