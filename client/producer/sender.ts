/**
 * The sender loop (the Java client's Sender): drains ready batches from the accumulator, one
 * Produce request per leader broker (and acks mode), and settles each batch from its
 * partition's answer.
 *
 * - At most `maxInFlightPerPartition` (<= 5 when idempotent) batches per partition are unacked.
 * - A batch that fails retriably waits in its partition's retry queue (creation = sequence
 *   order) with backoff, and the partition sends nothing new until every older in-flight batch
 *   has answered; then the retries go out again in order, then new batches.
 * - Idempotence (sequence numbers, epoch bumps) is idempotence.ts's; the sender asks it.
 * - Runs are coalesced: many wake() calls in one turn cause one drain, in a microtask at the
 *   end of that turn; a WakeTimer brings the loop back for lingering batches and backoffs.
 */
import type { Logger } from 'pino';
import type { ProduceResponse } from '../../protocol/apis/index.js';
import { ErrorCode, RillError, errorFromCode, isRetriable, rillError } from '../../protocol/errors.js';
import type { BrokerPool } from '../broker-pool.js';
import { codeNeedsMetadataRefresh, needsMetadataRefresh } from '../errors.js';
import type { Metadata } from '../metadata.js';
import type { ClientMetrics } from '../metrics.js';
import { backoffMs } from '../retry.js';
import { partitionKey } from '../topic-partition.js';
import type { CompressionType, RetryOptions } from '../types.js';
import { LeaderWaits } from '../leader-waits.js';
import { WakeTimer } from '../wake-timer.js';
import { BATCH_OVERHEAD_BYTES, producerClockMs, type AckMode, type ProducerBatch, type RecordAccumulator } from './accumulator.js';
import type { Idempotence } from './idempotence.js';
import { newPartitionState, type PartitionSendState } from './partition-state.js';

/** Slack on top of the broker-side produce timeout before the client gives up on an answer. */
const PRODUCE_TIMEOUT_SLACK_MS = 5_000;
/** Kafka's delivery.timeout.ms default. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 120_000;

export interface SenderOptions {
  accumulator: RecordAccumulator;
  metadata: Metadata;
  pool: BrokerPool;
  /** null for a producer that is not idempotent. */
  idempotence: Idempotence | null;
  retry: RetryOptions;
  compression: CompressionType;
  maxInFlightPerPartition: number;
  requestTimeoutMs: number;
  /** A batch older than this is not retried again (Kafka's delivery.timeout.ms). Default 120,000. */
  deliveryTimeoutMs?: number;
  metrics: ClientMetrics;
  logger: Logger;
}

interface RequestBuilder {
  node: number;
  acks: AckMode;
  batches: ProducerBatch[];
  partitions: Set<string>;
}

export class Sender {
  private readonly opts: SenderOptions;
  private readonly accumulator: RecordAccumulator;
  private readonly idempotence: Idempotence | null;
  private readonly metrics: ClientMetrics;
  private readonly log: Logger;
  private readonly partitions = new Map<string, PartitionSendState>();
  /** batch -> its creation rank, for ordering retries. */
  private readonly batchOrder = new WeakMap<ProducerBatch, number>();
  private batchCounter = 0;
  private drainScheduled = false;
  private readonly wakeTimer = new WakeTimer(() => this.drain());
  /** Partitions waiting for a new leader (leader-waits.ts). */
  private readonly leaders: LeaderWaits;
  private stopped = false;

  constructor(opts: SenderOptions) {
    this.opts = opts;
    this.accumulator = opts.accumulator;
    this.idempotence = opts.idempotence;
    this.metrics = opts.metrics;
    this.log = opts.logger;
    this.leaders = new LeaderWaits(opts.metadata, opts.pool);
  }

  /** A new batch opened in the accumulator: number it and make sure its partition is known. */
  onNewBatch(batch: ProducerBatch): void {
    this.batchOrder.set(batch, this.batchCounter++);
    this.partitionState(batch.topic, batch.partition);
  }

  /**
   * Runs the loop at the end of the current turn (a microtask): every send() of one
   * synchronous run still lands in one drain, and a ready batch (lingerMs 0, full) is written
   * before the process goes back to the event loop. A setImmediate here cost a trip through
   * the poll phase (other sockets' callbacks, timers) between send() and the write.
   */
  wake(): void {
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    queueMicrotask(this.drainSoon);
  }

  private readonly drainSoon = (): void => {
    this.drainScheduled = false;
    this.drain();
  };

  /** Stops the loop for good (after close() has flushed everything). */
  stop(): void {
    this.stopped = true;
    this.wakeTimer.cancel();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Promises of every batch in flight or waiting for a retry. */
  unsettled(into: Array<Promise<void>>): void {
    for (const ps of this.partitions.values()) {
      for (const b of ps.inFlight) into.push(b.done);
      for (const b of ps.retries) into.push(b.done);
    }
  }

  get hasPendingWork(): boolean {
    for (const ps of this.partitions.values()) if (ps.inFlight.length > 0 || ps.retries.length > 0) return true;
    return false;
  }

  partitionState(topic: string, partition: number): PartitionSendState {
    const key = partitionKey(topic, partition);
    let ps = this.partitions.get(key);
    if (ps === undefined) {
      ps = newPartitionState(topic, partition, key);
      this.partitions.set(key, ps);
    }
    return ps;
  }

  /**
   * Sends what is ready (see RecordAccumulator.isReady for when a lingering batch is) and arms
   * the wake timer for the next batch that will be.
   */
  drain(): void {
    if (this.stopped) return;
    const idem = this.idempotence;
    if (idem !== null && idem.bumpRequired) {
      this.maybeBumpEpoch(idem);
      return;
    }
    if (idem !== null && !idem.hasProducerId) {
      // The id was lost (a failed bump): get a fresh one, then come back.
      void Promise.resolve(idem.ensureProducerId()).then(
        () => this.wake(),
        (err: unknown) => this.failAllQueued(err as Error),
      );
      return;
    }
    const { metadata } = this.opts;
    const maxInFlight = this.opts.maxInFlightPerPartition;
    const now = producerClockMs();
    const requests = new Map<string, RequestBuilder[]>();
    let nextWakeMs = -1;

    for (const ps of this.partitions.values()) {
      const queue = this.accumulator.queues.get(ps.key);
      const hasNew = queue !== undefined && this.accumulator.isReady(queue, now);
      if (ps.retries.length === 0 && !hasNew) continue;
      if (!this.leaders.canSend(ps.topic, ps.partition, ps.key)) {
        this.refreshTopic(ps.topic);
        continue;
      }
      // Expired, or marked stale by another partition: refresh in the background.
      if (metadata.cached(ps.topic) === undefined) this.refreshTopic(ps.topic);
      const leader = metadata.leaderOf(ps.topic, ps.partition);
      while (ps.inFlight.length < maxInFlight) {
        let batch: ProducerBatch | undefined;
        if (ps.retries.length > 0) {
          // Resend in order only once the previous round has fully answered.
          if (ps.inFlight.length > 0 && !ps.resending) break;
          const head = ps.retries[0]!;
          if (head.retryAtMs > now) {
            const wait = head.retryAtMs - now;
            if (nextWakeMs < 0 || wait < nextWakeMs) nextWakeMs = wait;
            break;
          }
          ps.resending = true;
          batch = ps.retries.shift()!;
        } else {
          ps.resending = false;
          const q = this.accumulator.queues.get(ps.key);
          if (q === undefined || !this.accumulator.isReady(q, now)) break;
          batch = this.accumulator.take(ps.key)!;
          if (!this.prepare(ps, batch)) continue;
        }
        // Counted as in flight from here, so this loop honours maxInFlightRequests.
        ps.inFlight.push(batch);
        this.addToRequest(requests, leader, batch);
      }
    }

    for (const builders of requests.values()) for (const rb of builders) this.sendRequest(rb);

    // Same `now` as the readiness checks above: with a fresh clock reading, a batch that became
    // ready since then would report a wait of 0, arm no timer, and sit unsent until the next
    // send() or close(). With `now`, every batch skipped as not-yet-ready gets a timer.
    const lingerWait = this.accumulator.nextReadyInMs(now);
    if (lingerWait > 0 && (nextWakeMs < 0 || lingerWait < nextWakeMs)) nextWakeMs = lingerWait;
    if (nextWakeMs >= 0) this.wakeTimer.arm(nextWakeMs);
  }

  /** Assigns the sequence and encodes a freshly drained batch. False if it is not to be sent. */
  private prepare(ps: PartitionSendState, batch: ProducerBatch): boolean {
    if (batch.recordCount === 0) {
      // Every record was dropped by aborted sends: nothing to write.
      batch.complete(-1);
      this.accumulator.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
      return false;
    }
    const idem = this.idempotence;
    if (idem !== null) idem.assignSequence(ps, batch);
    try {
      batch.seal({
        producerId: idem !== null ? idem.producerId : -1,
        producerEpoch: idem !== null ? idem.producerEpoch : -1,
        baseSequence: idem !== null ? batch.baseSequence : -1,
        compression: this.opts.compression,
      });
    } catch (err) {
      // Nothing was sent, so the sequence range can be handed back.
      if (idem !== null) idem.returnSequence(ps, batch);
      this.settleFailed(batch, err as Error);
      return false;
    }
    if (this.metrics.enabled) {
      this.metrics.recordsSent(batch.topic, batch.recordCount);
      this.metrics.batchSize(batch.encoded!.length);
    }
    return true;
  }

  private addToRequest(requests: Map<string, RequestBuilder[]>, node: number, batch: ProducerBatch): void {
    const k = `${node}:${batch.acks}`;
    let list = requests.get(k);
    if (list === undefined) {
      list = [];
      requests.set(k, list);
    }
    const pk = partitionKey(batch.topic, batch.partition);
    // One batch per partition per request, as Kafka; a second one rides in the next request.
    let rb = list.find((r) => !r.partitions.has(pk));
    if (rb === undefined) {
      rb = { node, acks: batch.acks, batches: [], partitions: new Set() };
      list.push(rb);
    }
    rb.batches.push(batch);
    rb.partitions.add(pk);
  }

  private sendRequest(rb: RequestBuilder): void {
    const byTopic = new Map<string, Array<{ partition: number; records: Buffer }>>();
    for (const b of rb.batches) {
      b.attempts++;
      let list = byTopic.get(b.topic);
      if (list === undefined) {
        list = [];
        byTopic.set(b.topic, list);
      }
      list.push({ partition: b.partition, records: b.encoded! });
    }
    const topics: Array<{ name: string; partitions: Array<{ partition: number; records: Buffer }> }> = [];
    for (const [name, partitions] of byTopic) topics.push({ name, partitions });
    let conn;
    try {
      conn = this.opts.pool.forNode(rb.node);
    } catch (err) {
      for (const b of rb.batches) this.onBatchError(b, err as Error);
      return;
    }
    const payload = { acks: rb.acks, timeoutMs: this.opts.requestTimeoutMs, topics };
    if (rb.acks === 0) {
      conn.request('Produce', payload, { expectResponse: false }).then(
        () => {
          for (const b of rb.batches) this.onBatchAcked(b, -1);
        },
        (err: Error) => {
          for (const b of rb.batches) this.onBatchError(b, err);
        },
      );
      return;
    }
    conn.request('Produce', payload, { timeoutMs: this.opts.requestTimeoutMs + PRODUCE_TIMEOUT_SLACK_MS }).then(
      (response) => this.onProduceResponse(rb.batches, response),
      (err: Error) => {
        for (const b of rb.batches) this.onBatchError(b, err);
      },
    );
  }

  private onProduceResponse(batches: ProducerBatch[], response: ProduceResponse): void {
    type PartitionResult = ProduceResponse['topics'][number]['partitions'][number];
    // The common single-partition answer needs no map.
    let only: PartitionResult | undefined;
    let onlyTopic = '';
    let results: Map<string, PartitionResult> | null = null;
    if (response.topics.length === 1 && response.topics[0]!.partitions.length === 1) {
      onlyTopic = response.topics[0]!.name;
      only = response.topics[0]!.partitions[0]!;
    } else {
      results = new Map();
      for (const t of response.topics) for (const p of t.partitions) results.set(partitionKey(t.name, p.partition), p);
    }
    for (const b of batches) {
      const r = results === null ? (b.topic === onlyTopic && b.partition === only!.partition ? only : undefined) : results.get(partitionKey(b.topic, b.partition));
      if (r === undefined) {
        this.onBatchError(b, rillError('NETWORK_EXCEPTION', `produce response from the broker did not mention ${b.topic}[${b.partition}]`));
      } else if (r.errorCode === ErrorCode.NONE) {
        this.onBatchAcked(b, r.baseOffset);
      } else {
        this.onBatchError(b, errorFromCode(r.errorCode, r.errorMessage ?? undefined, { topic: b.topic, partition: b.partition }));
      }
    }
  }

  private onBatchAcked(batch: ProducerBatch, baseOffset: number): void {
    const ps = this.partitionState(batch.topic, batch.partition);
    removeFrom(ps.inFlight, batch);
    if (this.idempotence !== null) this.idempotence.onAcked(ps, batch);
    batch.complete(baseOffset);
    this.accumulator.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
    if (this.metrics.enabled) this.metrics.recordsAcked(batch.topic, batch.recordCount);
    this.wake();
  }

  private onBatchError(batch: ProducerBatch, err: Error): void {
    const ps = this.partitionState(batch.topic, batch.partition);
    removeFrom(ps.inFlight, batch);
    batch.lastError = err;
    const name = err instanceof RillError ? err.errorName : null;

    if (name === 'DUPLICATE_SEQUENCE_NUMBER') {
      // Written before; the broker no longer knows the offsets. Success with offset -1, as Java.
      this.onBatchAcked(batch, -1);
      return;
    }
    if (this.idempotence !== null && (name === 'OUT_OF_ORDER_SEQUENCE_NUMBER' || name === 'UNKNOWN_PRODUCER_ID')) {
      this.idempotence.onSequenceError(ps, batch, name);
      this.requeue(ps, batch, false);
      return;
    }
    const deliveryTimeoutMs = this.opts.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
    const expired = producerClockMs() - batch.createdAtMs >= deliveryTimeoutMs;
    if (isRetriable(err) && batch.attempts <= this.opts.retry.retries && !this.stopped && !expired) {
      if (needsMetadataRefresh(err) || (err instanceof RillError && codeNeedsMetadataRefresh(err.code))) {
        this.leaders.wait(ps.topic, ps.key);
      }
      this.requeue(ps, batch, true);
      return;
    }
    if (expired && isRetriable(err) && err instanceof RillError) {
      this.settleFailed(batch, errorFromCode(err.code, `${err.message} (deliveryTimeoutMs ${deliveryTimeoutMs} reached)`, { topic: batch.topic, partition: batch.partition, cause: err }));
      return;
    }
    this.settleFailed(batch, err);
  }

  private requeue(ps: PartitionSendState, batch: ProducerBatch, backoff: boolean): void {
    batch.retryAtMs = backoff ? producerClockMs() + backoffMs(this.opts.retry, batch.attempts) : 0;
    const rank = this.rank(batch);
    let i = ps.retries.length;
    while (i > 0 && this.rank(ps.retries[i - 1]!) > rank) i--;
    ps.retries.splice(i, 0, batch);
    ps.resending = false;
    this.log.debug({ topic: batch.topic, partition: batch.partition, attempts: batch.attempts, err: batch.lastError?.message }, 'batch will be retried');
    this.wake();
  }

  /** Creation order: sequences are assigned in creation order, so this is sequence order too. */
  private rank(batch: ProducerBatch): number {
    return this.batchOrder.get(batch) ?? 0;
  }

  /** Fails a batch for good (its send() calls reject) and frees its memory. */
  settleFailed(batch: ProducerBatch, err: Error): void {
    const attempts = batch.attempts;
    const failure =
      err instanceof RillError
        ? errorFromCode(err.code, `produce to ${batch.topic}[${batch.partition}] failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${err.message}`, {
            topic: batch.topic,
            partition: batch.partition,
            cause: err,
          })
        : err;
    batch.fail(failure);
    this.accumulator.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
    if (this.metrics.enabled) this.metrics.recordsFailed(batch.topic, batch.recordCount);
    // With idempotence a sent batch that failed for good leaves a hole in the partition's
    // sequence (or was written after all, so its numbers cannot be reused): later batches
    // would be refused forever. Restart the sequences under a new epoch.
    if (this.idempotence !== null) this.idempotence.onFailedForGood(batch);
    this.wake();
  }

  private maybeBumpEpoch(idem: Idempotence): void {
    if (idem.isBumping) return;
    for (const ps of this.partitions.values()) if (ps.inFlight.length > 0) return; // wait for every answer
    void idem.bumpEpoch(this.partitions.values()).then(({ outcome, error }) => {
      if (outcome === 'retry-later') {
        this.wakeTimer.arm(backoffMs(this.opts.retry, Math.max(1, idem.failedBumps)));
        return;
      }
      if (outcome === 'gave-up') {
        // Give up on this producer id: fail what waits for a retry; the next drain gets a new id.
        for (const ps of this.partitions.values()) {
          for (const b of ps.retries.splice(0)) {
            b.fail(error!);
            this.accumulator.release(b.sizeBytes - BATCH_OVERHEAD_BYTES);
            if (this.metrics.enabled) this.metrics.recordsFailed(b.topic, b.recordCount);
          }
        }
      }
      this.wake();
    });
  }

  /**
   * Refreshes a topic's metadata once at a time. When it fails (after the metadata retries),
   * the batches waiting for a partition that still has no reachable leader fail with that
   * (retriable) error; partitions of the topic that do have a leader keep sending, and so does
   * every other topic: one dead partition never blocks the rest.
   */
  private refreshTopic(topic: string): void {
    this.leaders.refresh(topic, undefined, (outcome) => {
      if ('info' in outcome) {
        this.wake();
        return;
      }
      const err = outcome.error;
      let failed = 0;
      for (const ps of this.partitions.values()) {
        if (ps.topic !== topic || this.leaders.hasLeader(topic, ps.partition)) continue;
        failed++;
        this.failQueued(ps, partitionError(err, topic, ps.partition));
      }
      this.log.warn({ topic, err: err.message, partitions: failed }, 'metadata refresh failed; failed the queued batches of partitions without a leader');
      this.wake();
    });
  }

  private failAllQueued(err: Error): void {
    for (const ps of this.partitions.values()) this.failQueued(ps, err);
  }

  private failQueued(ps: PartitionSendState, err: Error): void {
    for (const b of ps.retries.splice(0)) this.settleFailed(b, err);
    let b: ProducerBatch | undefined;
    while ((b = this.accumulator.take(ps.key)) !== undefined) this.settleFailed(b, err);
  }
}

/** The topic-level metadata error, naming the partition whose batches it fails. */
function partitionError(err: Error, topic: string, partition: number): Error {
  if (!(err instanceof RillError)) return err;
  return errorFromCode(err.code, `${topic}[${partition}] has no available leader: ${err.message}`, { topic, partition, cause: err });
}

function removeFrom(list: ProducerBatch[], batch: ProducerBatch): void {
  // The acked batch is almost always the oldest in flight.
  if (list[0] === batch) {
    list.shift();
    return;
  }
  const i = list.indexOf(batch);
  if (i >= 0) list.splice(i, 1);
}
