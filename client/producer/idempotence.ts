/**
 * Idempotence and epoch handling (the Java client's TransactionManager, without transactions).
 *
 * - The producer gets a producer id + epoch (InitProducerId) and numbers every partition's
 *   records from sequence 0; a batch gets its baseSequence when first drained, is encoded once,
 *   and is resent byte for byte. The broker acks a duplicate with its original offsets and
 *   refuses a gap with OUT_OF_ORDER_SEQUENCE_NUMBER, so retries neither duplicate nor reorder.
 * - OUT_OF_ORDER_SEQUENCE_NUMBER on a batch behind a failed one is only a consequence of the
 *   gap: retried. On the partition's first unacked batch (or UNKNOWN_PRODUCER_ID) the broker
 *   and the producer disagree about the sequence; a sent batch that failed for good leaves a
 *   hole in it. In both cases the producer waits for every in-flight request, bumps its epoch
 *   (InitProducerId with its current id/epoch), restarts every partition's sequence at 0 and
 *   restamps the queued retries (header fields + CRC only; the records are not re-encoded).
 */
import type { Logger } from 'pino';
import { ErrorCode, errorFromCode, isRetriable } from '../../protocol/errors.js';
import { patchProducerState } from '../../protocol/record-batch.js';
import type { BrokerPool } from '../broker-pool.js';
import { withRetry } from '../retry.js';
import type { RetryOptions } from '../types.js';
import type { ProducerBatch } from './accumulator.js';
import type { PartitionSendState } from './partition-state.js';

export const MAX_IDEMPOTENT_IN_FLIGHT = 5;
/** Sequences are int32 and wrap to 0 after 2^31 - 1, as Kafka's. */
export const SEQUENCE_WRAP = 0x80000000;
const TRANSACTION_TIMEOUT_MS = 60_000;

/** What a bump attempt ended in. */
export type BumpOutcome = 'bumped' | 'retry-later' | 'gave-up';

export class Idempotence {
  producerId = -1;
  producerEpoch = -1;
  /** Set when the sequence state must restart under a new epoch; the sender then bumps. */
  bumpRequired = false;
  private bumping = false;
  private bumpFailures = 0;
  private initializing: Promise<void> | null = null;

  constructor(
    private readonly pool: BrokerPool,
    private readonly retry: RetryOptions,
    private readonly log: Logger,
  ) {}

  get hasProducerId(): boolean {
    return this.producerId >= 0;
  }

  get isBumping(): boolean {
    return this.bumping;
  }

  /** Gets a producer id once (concurrent callers share the request). */
  ensureProducerId(): Promise<void> | void {
    if (this.producerId >= 0) return;
    this.initializing ??= withRetry(this.retry, async () => {
      const conn = await this.pool.any();
      const r = await conn.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: TRANSACTION_TIMEOUT_MS, producerId: -1, producerEpoch: -1 });
      if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, 'InitProducerId failed');
      this.producerId = r.producerId;
      this.producerEpoch = r.producerEpoch;
      this.log.debug({ producerId: r.producerId, producerEpoch: r.producerEpoch }, 'producer id assigned');
    }).finally(() => {
      this.initializing = null;
    });
    return this.initializing;
  }

  /** Stamps a freshly drained batch with the partition's next sequence range. */
  assignSequence(ps: PartitionSendState, batch: ProducerBatch): void {
    batch.baseSequence = ps.nextSequence;
    batch.producerEpoch = this.producerEpoch;
    ps.nextSequence = (ps.nextSequence + batch.recordCount) % SEQUENCE_WRAP;
  }

  /** The batch never left (it failed to encode): its range is handed back. */
  returnSequence(ps: PartitionSendState, batch: ProducerBatch): void {
    ps.nextSequence = batch.baseSequence;
  }

  onAcked(ps: PartitionSendState, batch: ProducerBatch): void {
    if (batch.baseSequence >= 0 && batch.producerEpoch === this.producerEpoch) {
      ps.lastAckedSequence = (batch.baseSequence + batch.recordCount - 1) % SEQUENCE_WRAP;
    }
  }

  /**
   * OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID for `batch` (which the sender retries
   * either way): decides whether the broker's sequence state differs from ours, which needs a bump.
   */
  onSequenceError(ps: PartitionSendState, batch: ProducerBatch, errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'UNKNOWN_PRODUCER_ID'): void {
    // Sequences are contiguous, so the partition's first unacked batch is the one right after
    // the last acked sequence. A gap reported for it means the broker's view differs.
    const firstUnacked = batch.producerEpoch === this.producerEpoch && batch.baseSequence === (ps.lastAckedSequence + 1) % SEQUENCE_WRAP;
    if (errorName === 'UNKNOWN_PRODUCER_ID' || firstUnacked) {
      this.log.warn({ topic: batch.topic, partition: batch.partition, error: errorName }, 'sequence state lost on the broker; bumping the producer epoch');
      this.bumpRequired = true;
    }
  }

  /** A sent batch failed for good: its sequence range is a hole (or was written): restart. */
  onFailedForGood(batch: ProducerBatch): void {
    if (batch.attempts > 0 && batch.baseSequence >= 0) this.bumpRequired = true;
  }

  /**
   * Bumps the epoch (InitProducerId with the current id/epoch) and restarts every partition's
   * sequences. The caller makes sure nothing is in flight. After `retry.retries` failed
   * attempts (or a non-retriable one) it gives up on this producer id: 'gave-up', and the
   * caller fails what waits for a retry; the next drain gets a fresh id.
   */
  async bumpEpoch(partitions: Iterable<PartitionSendState>): Promise<{ outcome: BumpOutcome; error?: Error }> {
    if (this.bumping) return { outcome: 'retry-later' };
    this.bumping = true;
    try {
      const conn = await this.pool.any();
      const r = await conn.request('InitProducerId', {
        transactionalId: null,
        transactionTimeoutMs: TRANSACTION_TIMEOUT_MS,
        producerId: this.producerId,
        producerEpoch: this.producerEpoch,
      });
      if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, 'InitProducerId (epoch bump) failed');
      this.producerId = r.producerId;
      this.producerEpoch = r.producerEpoch;
      this.bumpFailures = 0;
      this.resetSequences(partitions);
      this.bumpRequired = false;
      this.log.info({ producerId: r.producerId, producerEpoch: r.producerEpoch }, 'producer epoch bumped');
      return { outcome: 'bumped' };
    } catch (err) {
      this.bumpFailures++;
      this.log.warn({ err: (err as Error).message, failures: this.bumpFailures }, 'producer epoch bump failed');
      if (this.bumpFailures <= this.retry.retries && isRetriable(err)) return { outcome: 'retry-later', error: err as Error };
      this.bumpFailures = 0;
      this.producerId = -1;
      this.producerEpoch = -1;
      this.bumpRequired = false;
      for (const ps of partitions) {
        ps.nextSequence = 0;
        ps.lastAckedSequence = -1;
      }
      return { outcome: 'gave-up', error: err as Error };
    } finally {
      this.bumping = false;
    }
  }

  /** Failed bump attempts in a row (for the caller's backoff). */
  get failedBumps(): number {
    return this.bumpFailures;
  }

  /** New epoch: every partition's sequence restarts at 0; queued retries are restamped in order. */
  resetSequences(partitions: Iterable<PartitionSendState>): void {
    for (const ps of partitions) {
      ps.nextSequence = 0;
      ps.lastAckedSequence = -1;
      ps.resending = false;
      for (const b of ps.retries) {
        b.baseSequence = ps.nextSequence;
        b.producerEpoch = this.producerEpoch;
        b.retryAtMs = 0;
        // The new epoch and sequence are covered by the CRC: the batch is re-hashed.
        patchProducerState(b.encoded!, { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: b.baseSequence });
        ps.nextSequence = (ps.nextSequence + b.recordCount) % SEQUENCE_WRAP;
      }
    }
  }
}
