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
 * parked produce has its own timer, so nothing waits forever. The owner calls
 * `onPartitionChange(state)` whenever a partition's high watermark, ISR or role changed.
 */
import { rillError, type RillError } from '../../protocol/errors.js';
import type { PartitionState } from './partition-state.js';

/** Kafka's default request.timeout.ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_PARKED_PRODUCES = 10_000;

/** null = acknowledged; otherwise the typed error to answer the partition with. */
export type ProduceOutcome = RillError | null;

interface Parked {
  state: PartitionState;
  /** The high watermark that acknowledges the batch (its last offset + 1). */
  requiredOffset: number;
  leaderEpoch: number;
  timer: NodeJS.Timeout;
  resolve: (outcome: ProduceOutcome) => void;
}

export interface ProducePurgatoryOptions {
  maxParked?: number;
}

export class ProducePurgatory {
  readonly maxParked: number;
  /** Parked produces per partition, in append order (so in required-offset order). */
  private readonly byPartition = new Map<PartitionState, Parked[]>();
  private parkedCount = 0;
  private closed = false;

  constructor(opts: ProducePurgatoryOptions = {}) {
    this.maxParked = opts.maxParked ?? DEFAULT_MAX_PARKED_PRODUCES;
    if (!Number.isInteger(this.maxParked) || this.maxParked < 1) throw new RangeError(`maxParked must be a positive integer, got ${this.maxParked}`);
  }

  get size(): number {
    return this.parkedCount;
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
    if (this.parkedCount >= this.maxParked) {
      return Promise.resolve(rillError('REQUEST_TIMED_OUT', `${state.topic}-${state.partition}: ${this.parkedCount} acks=all produces are already waiting for replicas`, { topic: state.topic, partition: state.partition }));
    }
    return new Promise<ProduceOutcome>((resolve) => {
      const entry: Parked = {
        state,
        requiredOffset,
        leaderEpoch,
        resolve,
        timer: setTimeout(() => {
          this.remove(entry);
          resolve(rillError('REQUEST_TIMED_OUT', `${state.topic}-${state.partition}: replicas did not reach offset ${requiredOffset} within ${timeoutMs} ms (high watermark ${state.highWatermark})`, { topic: state.topic, partition: state.partition }));
        }, timeoutMs),
      };
      let list = this.byPartition.get(state);
      if (list === undefined) this.byPartition.set(state, (list = []));
      list.push(entry);
      this.parkedCount++;
    });
  }

  /** Completes whatever the partition's new high watermark, ISR or role decides. Returns how many completed. */
  onPartitionChange(state: PartitionState): number {
    const list = this.byPartition.get(state);
    if (list === undefined) return 0;
    let done = 0;
    const keep: Parked[] = [];
    for (const p of list) {
      const v = this.verdict(p.state, p.requiredOffset, p.leaderEpoch);
      if (v === undefined) {
        keep.push(p);
        continue;
      }
      clearTimeout(p.timer);
      p.resolve(v);
      done++;
    }
    this.parkedCount -= done;
    if (keep.length === 0) this.byPartition.delete(state);
    else this.byPartition.set(state, keep);
    return done;
  }

  /** Answers every parked produce NOT_LEADER_OR_FOLLOWER and refuses new ones (broker shutdown). */
  close(): void {
    this.closed = true;
    for (const [state, list] of this.byPartition) {
      for (const p of list) {
        clearTimeout(p.timer);
        p.resolve(this.gone(state));
      }
    }
    this.byPartition.clear();
    this.parkedCount = 0;
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

  private remove(entry: Parked): void {
    const list = this.byPartition.get(entry.state);
    if (list === undefined) return;
    const i = list.indexOf(entry);
    if (i < 0) return;
    list.splice(i, 1);
    this.parkedCount--;
    if (list.length === 0) this.byPartition.delete(entry.state);
  }
}
