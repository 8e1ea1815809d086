/**
 * The producer: send() puts records into per-partition batches (accumulator.ts); a sender
 * drains ready batches, one Produce request per leader broker, and settles each batch from
 * its partition's answer. send() resolves once every batch holding its messages is acked.
 *
 * Ordering and idempotence (the Java client's design):
 * - An idempotent producer gets a producer id + epoch (InitProducerId) and numbers every
 *   partition's records from sequence 0; a batch gets its baseSequence and is encoded ONCE,
 *   when first drained, and is resent byte for byte. The broker acks a duplicate with its
 *   original offsets and refuses a gap with OUT_OF_ORDER_SEQUENCE_NUMBER, so retries can
 *   neither duplicate nor reorder.
 * - At most `maxInFlightRequests` (<= 5 when idempotent) batches per partition are unacked.
 * - A batch that fails retriably waits in its partition's retry queue (sequence order) and the
 *   partition sends nothing new until every older in-flight batch has answered; then the
 *   retries go out again in order, then new batches.
 * - OUT_OF_ORDER_SEQUENCE_NUMBER on a batch behind a failed one is just a consequence of the
 *   gap: retried. On the partition's first unacked batch (or UNKNOWN_PRODUCER_ID) the broker
 *   and the producer disagree about the sequence, and a batch that failed for good leaves a
 *   hole in it: in both cases the producer waits for all in-flight requests, bumps its epoch
 *   (InitProducerId with its current id/epoch), restarts every partition's sequence at 0 and
 *   restamps the queued retries (header fields + CRC only; the records are not re-encoded).
 */
import { WakeTimer } from './wake-timer.js';
import type { Logger } from 'pino';
import type { ProduceResponse } from '../protocol/apis/index.js';
import { ErrorCode, RillError, errorFromCode, isRetriable, rillError } from '../protocol/errors.js';
import { encodeBatch, patchProducerState } from '../protocol/record-batch.js';
import {
  BATCH_OVERHEAD_BYTES,
  RecordAccumulator,
  estimateRecordBytes,
  partitionKey,
  type AckMode,
  type PendingRecord,
  type ProducerBatch,
  type RecordHeader,
} from './accumulator.js';
import { BrokerPool } from './broker-pool.js';
import { codeNeedsMetadataRefresh, needsMetadataRefresh } from './errors.js';
import { Metadata } from './metadata.js';
import { DefaultPartitioner } from './partitioner.js';
import { backoffMs, retryOptions, withRetry } from './retry.js';
import type { ClientContext } from './context.js';
import type { Acks, CompressionType, Message, MessageHeaders, Partitioner, ProducerConfig, ProducerRecord, RecordMetadata, RetryOptions } from './types.js';

const MAX_IDEMPOTENT_IN_FLIGHT = 5;
const SEQUENCE_WRAP = 0x80000000;
/** Slack on top of the broker-side produce timeout before the client gives up on an answer. */
const PRODUCE_TIMEOUT_SLACK_MS = 5_000;

export function normalizeAcks(acks: Acks): AckMode {
  if (acks === 'all' || acks === -1) return -1;
  if (acks === 0 || acks === 1) return acks;
  throw rillError('INVALID_REQUIRED_ACKS', `acks must be 0, 1, -1 or 'all', got ${String(acks)}`);
}

/** Per-partition send state: sequence numbers, in-flight batches and the retry queue. */
interface PartitionSendState {
  topic: string;
  partition: number;
  key: string;
  /** Sequence the next new batch gets. */
  nextSequence: number;
  /** Sequence of the last record acked, -1 before any. */
  lastAckedSequence: number;
  /** Batches sent and unanswered, oldest first. */
  inFlight: ProducerBatch[];
  /** Batches to send again, in sequence (creation) order. */
  retries: ProducerBatch[];
  /** True while re-sending the retry queue after a settled round. */
  resending: boolean;
}

interface Appended {
  batches: ProducerBatch[];
  indexes: number[];
}

interface RequestBuilder {
  node: number;
  acks: AckMode;
  batches: ProducerBatch[];
  partitions: Set<string>;
}

export class Producer {
  private readonly log: Logger;
  private readonly pool: BrokerPool;
  private readonly metadata: Metadata;
  private readonly accumulator: RecordAccumulator;
  private readonly partitioner = new DefaultPartitioner();
  private readonly customPartitioner: Partitioner | undefined;
  private readonly retry: RetryOptions;
  private readonly acks: AckMode;
  private readonly idempotent: boolean;
  private readonly compression: CompressionType;
  private readonly maxInFlightPerPartition: number;
  private readonly requestTimeoutMs: number;
  private readonly partitions = new Map<string, PartitionSendState>();
  /** batch -> its creation rank, for ordering retries of a non-idempotent producer. */
  private readonly batchOrder = new WeakMap<ProducerBatch, number>();
  private batchCounter = 0;
  private producerId = -1;
  private producerEpoch = -1;
  private initializing: Promise<void> | null = null;
  private epochBumpRequired = false;
  private bumpingEpoch = false;
  private bumpFailures = 0;
  private drainScheduled = false;
  private readonly wakeTimer = new WakeTimer(() => this.drain());
  private readonly refreshingTopics = new Set<string>();
  private closing = false;
  private closed = false;
  private connectPromise: Promise<void> | null = null;
  /** The last send() still appending (waiting for metadata or memory); later sends queue behind it. */
  private appendTail: Promise<void> | null = null;

  constructor(ctx: ClientContext, config: ProducerConfig = {}) {
    this.log = ctx.logger.child({ component: 'producer' });
    this.retry = retryOptions(ctx.retry, config.retry);
    this.acks = normalizeAcks(config.acks ?? -1);
    if (config.idempotent === true && this.acks !== -1) {
      throw rillError('INVALID_REQUIRED_ACKS', `an idempotent producer needs acks 'all'; got acks ${this.acks} (set idempotent: false for acks 0 or 1)`);
    }
    this.idempotent = config.idempotent ?? this.acks === -1;
    this.compression = config.compression ?? 'none';
    if (this.compression !== 'none' && this.compression !== 'gzip') {
      throw rillError('UNSUPPORTED_COMPRESSION_TYPE', `compression must be 'none' or 'gzip', got '${String(this.compression)}'`);
    }
    this.maxInFlightPerPartition = config.maxInFlightRequests ?? MAX_IDEMPOTENT_IN_FLIGHT;
    if (!Number.isInteger(this.maxInFlightPerPartition) || this.maxInFlightPerPartition < 1) {
      throw new RangeError(`maxInFlightRequests must be a positive integer, got ${this.maxInFlightPerPartition}`);
    }
    if (this.idempotent && this.maxInFlightPerPartition > MAX_IDEMPOTENT_IN_FLIGHT) {
      throw new RangeError(`an idempotent producer allows at most ${MAX_IDEMPOTENT_IN_FLIGHT} in-flight requests per partition, got ${this.maxInFlightPerPartition}`);
    }
    this.customPartitioner = config.partitioner;
    this.requestTimeoutMs = ctx.requestTimeoutMs;
    this.pool = new BrokerPool(ctx.brokers, {
      clientId: ctx.clientId,
      connectionTimeoutMs: ctx.connectionTimeoutMs,
      requestTimeoutMs: ctx.requestTimeoutMs,
      retry: this.retry,
      logger: this.log,
    });
    this.metadata = new Metadata(this.pool, { logger: this.log, retry: this.retry, allowAutoTopicCreation: config.allowAutoTopicCreation ?? true });
    this.accumulator = new RecordAccumulator({
      batchBytes: config.batchBytes ?? 1024 * 1024,
      lingerMs: config.lingerMs ?? 5,
      bufferMemoryBytes: config.bufferMemoryBytes ?? 32 * 1024 * 1024,
      onBatchClosed: (batch) => {
        const count = this.metadata.cached(batch.topic)?.partitions.length ?? 0;
        this.partitioner.batchClosed(batch.topic, batch.partition, count);
        this.wakeSender();
      },
    });
  }

  /** Connects to the cluster (and gets a producer id when idempotent). send() does it lazily. */
  connect(): Promise<void> {
    if (this.closing) return Promise.reject(closedError());
    this.connectPromise ??= (async () => {
      await withRetry(this.retry, () => this.metadata.refresh([]));
      if (this.idempotent) await this.ensureProducerId();
    })().catch((err: unknown) => {
      this.connectPromise = null;
      throw err;
    });
    return this.connectPromise;
  }

  /**
   * Sends messages to one topic. Resolves, once every message is acked, with one
   * `{ topic, partition, offset }` per message in the order given; rejects with the first
   * failure (messages of other batches may still have been written).
   *
   * Messages are appended to batches in call order: a send() issued after another (without
   * awaiting it) never overtakes it, so per-key order holds across calls too.
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    let topic: string;
    let acks: AckMode;
    try {
      if (this.closing) throw closedError();
      topic = record.topic;
      if (typeof topic !== 'string' || topic.length === 0) throw rillError('INVALID_TOPIC_EXCEPTION', 'send() needs a topic name');
      if (!Array.isArray(record.messages) || record.messages.length === 0) throw rillError('INVALID_RECORD', `send() to '${topic}' needs at least one message`);
      acks = record.acks === undefined ? this.acks : normalizeAcks(record.acks);
      if (this.idempotent && acks !== -1) {
        throw rillError('INVALID_REQUIRED_ACKS', `this producer is idempotent and sends with acks 'all'; create it with idempotent: false to send with acks ${acks}`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const messages = record.messages;
    const prior = this.appendTail;
    // Fast path: nobody queued ahead, producer id and topic metadata at hand: append now.
    const cached = prior === null && (!this.idempotent || this.producerId >= 0) ? this.metadata.cached(topic) : undefined;
    let appended: Appended | Promise<Appended>;
    if (cached !== undefined) {
      try {
        appended = this.appendMessages(topic, cached.partitions.length, messages, acks, 0, new Array(messages.length), new Array(messages.length));
      } catch (err) {
        return Promise.reject(err);
      }
    } else {
      appended = (async () => {
        if (prior !== null) await prior;
        if (this.idempotent) await this.ensureProducerId();
        const info = await this.metadata.topic(topic, { waitForTopic: true });
        // Issued before close(): close() waits for this append (appendTail) and delivers it.
        return this.appendMessages(topic, info.partitions.length, messages, acks, 0, new Array(messages.length), new Array(messages.length));
      })();
    }
    if (appended instanceof Promise) {
      // Later sends queue behind this one until its messages are all appended.
      const tail: Promise<void> = appended.then(
        () => undefined,
        () => undefined,
      );
      this.appendTail = tail;
      void tail.then(() => {
        if (this.appendTail === tail) this.appendTail = null;
      });
      return appended.then((a) => this.awaitAcks(topic, a));
    }
    return this.awaitAcks(topic, appended);
  }

  /**
   * Appends messages[from..] to the accumulator; synchronous unless the buffer is full, in
   * which case it continues asynchronously once memory frees up.
   */
  private appendMessages(topic: string, partitionCount: number, messages: Message[], acks: AckMode, from: number, batches: ProducerBatch[], indexes: number[]): Appended | Promise<Appended> {
    const now = Date.now();
    for (let i = from; i < messages.length; i++) {
      const m = messages[i]!;
      const pending = toPendingRecord(m, now, i);
      const partition = this.partitionFor(topic, m, pending, partitionCount);
      const bytes = estimateRecordBytes(pending);
      const wait = this.accumulator.reserve(bytes);
      if (wait !== undefined) {
        // The buffer is full: let queued batches go out while we wait for room.
        this.wakeSender();
        return wait.then(() => {
          if (this.closed) {
            this.accumulator.release(bytes);
            throw closedError();
          }
          this.appendOne(topic, partition, pending, bytes, acks, now, i, batches, indexes);
          return this.appendMessages(topic, partitionCount, messages, acks, i + 1, batches, indexes);
        });
      }
      this.appendOne(topic, partition, pending, bytes, acks, now, i, batches, indexes);
    }
    this.wakeSender();
    return { batches, indexes };
  }

  private appendOne(topic: string, partition: number, pending: PendingRecord, bytes: number, acks: AckMode, now: number, i: number, batches: ProducerBatch[], indexes: number[]): void {
    const { batch, index, full } = this.accumulator.append(topic, partition, pending, bytes, acks, now);
    if (index === 0) {
      // A new batch: number it and make sure the sender knows its partition. Done once per
      // batch, not per record (these lookups were ~40% of the producer's per-message CPU).
      this.batchOrder.set(batch, this.batchCounter++);
      this.partitionState(topic, partition);
    }
    batches[i] = batch;
    indexes[i] = index;
    if (full) this.wakeSender();
  }

  /** One promise per distinct batch, then the per-message offsets. */
  private awaitAcks(topic: string, a: Appended): Promise<RecordMetadata[]> {
    const { batches, indexes } = a;
    const only = batches[0]!;
    let oneBatch = true;
    for (let i = 1; i < batches.length && oneBatch; i++) oneBatch = batches[i] === only;
    // Every message went into one batch (the common case of small sends): wait on it alone.
    if (oneBatch) return only.done.then(() => offsetsOf(topic, batches, indexes));
    return this.awaitBatches(topic, batches, indexes);
  }

  private async awaitBatches(topic: string, batches: ProducerBatch[], indexes: number[]): Promise<RecordMetadata[]> {
    let previous: ProducerBatch | undefined;
    const waits: Array<Promise<void>> = [];
    const seen = new Set<ProducerBatch>();
    for (const b of batches) {
      if (b !== previous && !seen.has(b)) {
        seen.add(b);
        waits.push(b.done);
      }
      previous = b;
    }
    await Promise.all(waits);
    return offsetsOf(topic, batches, indexes);
  }

  /** Sends everything buffered now and resolves when all of it (and all in flight) is settled. */
  async flush(): Promise<void> {
    this.accumulator.beginFlush();
    try {
      this.wakeSender();
      const all: Array<Promise<void>> = [];
      for (const b of this.accumulator.pendingBatches()) all.push(b.done);
      for (const ps of this.partitions.values()) {
        for (const b of ps.inFlight) all.push(b.done);
        for (const b of ps.retries) all.push(b.done);
      }
      await Promise.allSettled(all);
    } finally {
      this.accumulator.endFlush();
    }
  }

  /** Flushes, then closes the connections. Later sends reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    // New sends are refused now, but ones already waiting for buffer memory still append as
    // earlier batches complete: flush until nothing is left.
    for (;;) {
      if (this.appendTail !== null) await this.appendTail;
      await this.flush();
      if (!this.hasPendingWork()) break;
      // Let I/O run before looking again (never spin on microtasks).
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.closed = true;
    this.wakeTimer.cancel();
    await this.pool.close();
  }

  private hasPendingWork(): boolean {
    if (this.appendTail !== null || this.accumulator.queues.size > 0 || this.accumulator.waitingForMemory > 0) return true;
    for (const ps of this.partitions.values()) if (ps.inFlight.length > 0 || ps.retries.length > 0) return true;
    return false;
  }

  private partitionFor(topic: string, m: Message, pending: PendingRecord, partitionCount: number): number {
    let partition: number;
    if (m.partition !== undefined && m.partition !== null) partition = m.partition;
    else if (this.customPartitioner !== undefined) partition = this.customPartitioner({ topic, partitionCount, key: pending.key, value: pending.value });
    else partition = this.partitioner.partition(topic, pending.key, partitionCount);
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
      throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' has ${partitionCount} partition(s); partition ${partition} does not exist`, { topic, partition });
    }
    return partition;
  }

  private partitionState(topic: string, partition: number): PartitionSendState {
    const key = partitionKey(topic, partition);
    let ps = this.partitions.get(key);
    if (ps === undefined) {
      ps = { topic, partition, key, nextSequence: 0, lastAckedSequence: -1, inFlight: [], retries: [], resending: false };
      this.partitions.set(key, ps);
    }
    return ps;
  }

  private ensureProducerId(): Promise<void> | void {
    if (this.producerId >= 0) return;
    this.initializing ??= withRetry(this.retry, async () => {
      const conn = await this.pool.any();
      const r = await conn.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, 'InitProducerId failed');
      this.producerId = r.producerId;
      this.producerEpoch = r.producerEpoch;
      this.log.debug({ producerId: r.producerId, producerEpoch: r.producerEpoch }, 'producer id assigned');
    }).finally(() => {
      this.initializing = null;
    });
    return this.initializing;
  }

  /** Runs the sender soon (coalesced: many sends in one tick cause one drain). */
  private wakeSender(): void {
    if (this.drainScheduled || this.closed) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    if (this.closed) return;
    if (this.epochBumpRequired) {
      this.maybeBumpEpoch();
      return;
    }
    if (this.idempotent && this.producerId < 0) {
      // The id was lost (a failed bump): get a fresh one, then come back.
      void Promise.resolve(this.ensureProducerId()).then(
        () => this.wakeSender(),
        (err: unknown) => this.failAllQueued(err as Error),
      );
      return;
    }
    const now = Date.now();
    const requests = new Map<string, RequestBuilder[]>();
    let nextWakeMs = -1;
    const wakeIn = (ms: number): void => {
      if (nextWakeMs < 0 || ms < nextWakeMs) nextWakeMs = ms;
    };

    for (const ps of this.partitions.values()) {
      const queue = this.accumulator.queues.get(ps.key);
      const hasNew = queue !== undefined && this.accumulator.isReady(queue, now);
      if (ps.retries.length === 0 && !hasNew) continue;
      const leader = this.metadata.leaderOf(ps.topic, ps.partition);
      if (leader < 0 || !this.pool.hasNode(leader) || this.metadata.cached(ps.topic) === undefined) {
        this.refreshTopic(ps.topic);
        continue;
      }
      while (ps.inFlight.length < this.maxInFlightPerPartition) {
        let batch: ProducerBatch | undefined;
        if (ps.retries.length > 0) {
          // Resend in order only once the previous round has fully answered.
          if (ps.inFlight.length > 0 && !ps.resending) break;
          const head = ps.retries[0]!;
          if (head.retryAtMs > now) {
            wakeIn(head.retryAtMs - now);
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
    if (lingerWait > 0) wakeIn(lingerWait);
    if (nextWakeMs >= 0) this.armTimer(nextWakeMs);
  }

  /** Assigns the sequence and encodes a freshly drained batch. False if it failed to encode. */
  private prepare(ps: PartitionSendState, batch: ProducerBatch): boolean {
    if (this.idempotent) {
      batch.baseSequence = ps.nextSequence;
      batch.producerEpoch = this.producerEpoch;
      ps.nextSequence = (ps.nextSequence + batch.recordCount) % SEQUENCE_WRAP;
    }
    try {
      batch.setEncoded(encodeBatch(batch.records, {
        producerId: this.idempotent ? this.producerId : -1,
        producerEpoch: this.idempotent ? this.producerEpoch : -1,
        baseSequence: this.idempotent ? batch.baseSequence : -1,
        compression: this.compression,
      }));
    } catch (err) {
      // Nothing was sent, so the sequence range can be handed back.
      if (this.idempotent) ps.nextSequence = batch.baseSequence;
      this.settleFailed(batch, err as Error);
      return false;
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
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    let conn;
    try {
      conn = this.pool.forNode(rb.node);
    } catch (err) {
      for (const b of rb.batches) this.onBatchError(b, err as Error);
      return;
    }
    const payload = { acks: rb.acks, timeoutMs: this.requestTimeoutMs, topics };
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
    conn.request('Produce', payload, { timeoutMs: this.requestTimeoutMs + PRODUCE_TIMEOUT_SLACK_MS }).then(
      (response) => this.onProduceResponse(rb.batches, response),
      (err: Error) => {
        for (const b of rb.batches) this.onBatchError(b, err);
      },
    );
  }

  private onProduceResponse(batches: ProducerBatch[], response: ProduceResponse): void {
    const results = new Map<string, ProduceResponse['topics'][number]['partitions'][number]>();
    for (const t of response.topics) for (const p of t.partitions) results.set(partitionKey(t.name, p.partition), p);
    for (const b of batches) {
      const r = results.get(partitionKey(b.topic, b.partition));
      if (r === undefined) {
        this.onBatchError(b, rillError('NETWORK_EXCEPTION', `produce response from the broker did not mention ${b.topic}[${b.partition}]`));
      } else if (r.errorCode === ErrorCode.NONE) {
        this.onBatchAcked(b, r.baseOffset);
      } else {
        const message = r.errorMessage ?? undefined;
        this.onBatchError(b, errorFromCode(r.errorCode, message, { topic: b.topic, partition: b.partition }));
      }
    }
  }

  private onBatchAcked(batch: ProducerBatch, baseOffset: number): void {
    const ps = this.partitionState(batch.topic, batch.partition);
    removeFrom(ps.inFlight, batch);
    if (this.idempotent && batch.baseSequence >= 0 && batch.producerEpoch === this.producerEpoch) {
      ps.lastAckedSequence = (batch.baseSequence + batch.recordCount - 1) % SEQUENCE_WRAP;
    }
    batch.complete(baseOffset);
    this.accumulator.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
    this.wakeSender();
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
    if (this.idempotent && (name === 'OUT_OF_ORDER_SEQUENCE_NUMBER' || name === 'UNKNOWN_PRODUCER_ID')) {
      // Sequences are contiguous, so the partition's first unacked batch is the one right
      // after the last acked sequence. A gap reported for it means the broker's view differs.
      const firstUnacked = batch.producerEpoch === this.producerEpoch && batch.baseSequence === (ps.lastAckedSequence + 1) % SEQUENCE_WRAP;
      if (name === 'UNKNOWN_PRODUCER_ID' || firstUnacked) {
        this.log.warn({ topic: batch.topic, partition: batch.partition, error: name }, 'sequence state lost on the broker; bumping the producer epoch');
        this.epochBumpRequired = true;
      }
      this.requeue(ps, batch, false);
      return;
    }
    if (isRetriable(err) && batch.attempts <= this.retry.retries && !this.closed) {
      if (needsMetadataRefresh(err) || (err instanceof RillError && codeNeedsMetadataRefresh(err.code))) {
        this.metadata.markStale(batch.topic);
      }
      this.requeue(ps, batch, true);
      return;
    }
    this.settleFailed(batch, err);
  }

  private requeue(ps: PartitionSendState, batch: ProducerBatch, backoff: boolean): void {
    batch.retryAtMs = backoff ? Date.now() + backoffMs(this.retry, batch.attempts) : 0;
    const rank = this.rank(batch);
    let i = ps.retries.length;
    while (i > 0 && this.rank(ps.retries[i - 1]!) > rank) i--;
    ps.retries.splice(i, 0, batch);
    ps.resending = false;
    this.log.debug({ topic: batch.topic, partition: batch.partition, attempts: batch.attempts, err: batch.lastError?.message }, 'batch will be retried');
    this.wakeSender();
  }

  /** Creation order: sequences are assigned in creation order, so this is sequence order too. */
  private rank(batch: ProducerBatch): number {
    return this.batchOrder.get(batch) ?? 0;
  }

  private settleFailed(batch: ProducerBatch, err: Error): void {
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
    // With idempotence a sent batch that failed for good leaves a hole in the partition's
    // sequence (or was written after all, so its numbers cannot be reused): later batches
    // would be refused forever. Restart the sequences under a new epoch.
    if (this.idempotent && batch.attempts > 0 && batch.baseSequence >= 0) this.epochBumpRequired = true;
    this.wakeSender();
  }

  private maybeBumpEpoch(): void {
    if (this.bumpingEpoch) return;
    for (const ps of this.partitions.values()) if (ps.inFlight.length > 0) return; // wait for every answer
    this.bumpingEpoch = true;
    void (async () => {
      try {
        const conn = await this.pool.any();
        const r = await conn.request('InitProducerId', {
          transactionalId: null,
          transactionTimeoutMs: 60_000,
          producerId: this.producerId,
          producerEpoch: this.producerEpoch,
        });
        if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, 'InitProducerId (epoch bump) failed');
        this.producerId = r.producerId;
        this.producerEpoch = r.producerEpoch;
        this.bumpFailures = 0;
        this.resetSequences();
        this.epochBumpRequired = false;
        this.log.info({ producerId: r.producerId, producerEpoch: r.producerEpoch }, 'producer epoch bumped');
      } catch (err) {
        this.bumpFailures++;
        this.log.warn({ err: (err as Error).message, failures: this.bumpFailures }, 'producer epoch bump failed');
        if (this.bumpFailures > this.retry.retries || !isRetriable(err)) {
          // Give up on this producer id: fail what waits for a retry and start over with a new id.
          this.bumpFailures = 0;
          this.producerId = -1;
          this.producerEpoch = -1;
          this.epochBumpRequired = false;
          for (const ps of this.partitions.values()) {
            const retries = ps.retries.splice(0);
            for (const b of retries) {
              b.fail(err as Error);
              this.accumulator.release(b.sizeBytes - BATCH_OVERHEAD_BYTES);
            }
            ps.nextSequence = 0;
            ps.lastAckedSequence = -1;
          }
        } else {
          this.bumpingEpoch = false;
          this.armTimer(backoffMs(this.retry, this.bumpFailures));
          return;
        }
      } finally {
        if (this.bumpingEpoch) this.bumpingEpoch = false;
      }
      this.wakeSender();
    })();
  }

  /** New epoch: every partition's sequence restarts at 0; queued retries are restamped in order. */
  private resetSequences(): void {
    for (const ps of this.partitions.values()) {
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

  /** Refreshes a topic's metadata once at a time; on failure the topic's waiting batches fail. */
  private refreshTopic(topic: string): void {
    if (this.refreshingTopics.has(topic)) return;
    this.refreshingTopics.add(topic);
    this.metadata.markStale(topic);
    this.metadata.topic(topic, { waitForTopic: true }).then(
      () => {
        this.refreshingTopics.delete(topic);
        this.wakeSender();
      },
      (err: Error) => {
        this.refreshingTopics.delete(topic);
        this.log.warn({ topic, err: err.message }, 'metadata refresh failed; failing the topic\'s queued batches');
        for (const ps of this.partitions.values()) {
          if (ps.topic !== topic) continue;
          for (const b of ps.retries.splice(0)) this.settleFailed(b, err);
          let b: ProducerBatch | undefined;
          while ((b = this.accumulator.take(ps.key)) !== undefined) this.settleFailed(b, err);
        }
      },
    );
  }

  private failAllQueued(err: Error): void {
    for (const ps of this.partitions.values()) {
      for (const b of ps.retries.splice(0)) this.settleFailed(b, err);
      let b: ProducerBatch | undefined;
      while ((b = this.accumulator.take(ps.key)) !== undefined) this.settleFailed(b, err);
    }
  }

  private armTimer(inMs: number): void {
    this.wakeTimer.arm(inMs);
  }
}

/** One `{ topic, partition, offset }` per message, once its batch is acked (acks 0: offset -1). */
function offsetsOf(topic: string, batches: ProducerBatch[], indexes: number[]): RecordMetadata[] {
  const out = new Array<RecordMetadata>(batches.length);
  for (let i = 0; i < batches.length; i++) {
    const b = batches[i]!;
    out[i] = { topic, partition: b.partition, offset: b.baseOffset < 0 ? -1 : b.baseOffset + indexes[i]! };
  }
  return out;
}

function removeFrom(list: ProducerBatch[], batch: ProducerBatch): void {
  const i = list.indexOf(batch);
  if (i >= 0) list.splice(i, 1);
}

function closedError(): Error {
  return new Error('the producer is closed');
}

function toBuffer(v: unknown, what: string, index: number): Buffer | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw rillError('INVALID_RECORD', `message ${index}: ${what} must be a Buffer, a string or null`);
}

function toHeaders(h: MessageHeaders | undefined, index: number): RecordHeader[] {
  if (h === undefined || h === null) return NO_HEADERS;
  const out: RecordHeader[] = [];
  for (const key of Object.keys(h)) out.push({ key, value: toBuffer(h[key], `header '${key}'`, index) });
  return out;
}

const NO_HEADERS: RecordHeader[] = [];

function toPendingRecord(m: Message, now: number, index: number): PendingRecord {
  if (m === null || typeof m !== 'object') throw rillError('INVALID_RECORD', `message ${index} must be an object`);
  const timestamp = m.timestamp ?? now;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw rillError('INVALID_TIMESTAMP', `message ${index}: timestamp must be ms since the epoch, got ${timestamp}`);
  return { key: toBuffer(m.key, 'key', index), value: toBuffer(m.value, 'value', index), headers: toHeaders(m.headers, index), timestamp };
}
