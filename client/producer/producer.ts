/**
 * The public producer: send() puts records into per-partition batches (accumulator.ts); the
 * sender (sender.ts) drains ready batches, one Produce request per leader broker, and settles
 * each batch from its partition's answer. send() resolves once every batch holding its
 * messages is acked: one promise per batch, never one per record.
 *
 * Idempotence (producer id, sequences, epoch bumps) is idempotence.ts's; partitioning (murmur2
 * for keys, sticky for null keys) is partitioner.ts's.
 *
 * AbortSignal (`send(record, { signal })`), as KafkaJS/Java users expect: aborting only stops
 * the waiting. The send() rejects with the signal's reason at once; its records still in a
 * batch that was not sent yet (or not yet appended, waiting for buffer memory) are dropped;
 * records already in a batch that went out are not un-sent and may still be written.
 */
import type { Logger } from 'pino';
import { COMPRESSION_TYPES, isCompression } from '../../protocol/compression/index.js';
import { rillError } from '../../protocol/errors.js';
import { AbortRace } from '../abort-watch.js';
import { BrokerPool } from '../broker-pool.js';
import type { ClientContext } from '../context.js';
import { abortError } from '../errors.js';
import { Metadata } from '../metadata.js';
import { NO_METRICS } from '../metrics.js';
import { retryOptions, withRetry } from '../retry.js';
import type { CompressionType, Message, Partitioner, ProducerConfig, ProducerRecord, RecordMetadata, RetryOptions, SendOptions } from '../types.js';
import { RecordAccumulator, producerClockMs, type AckMode, type ProducerBatch } from './accumulator.js';
import { Idempotence, MAX_IDEMPOTENT_IN_FLIGHT } from './idempotence.js';
import { DefaultPartitioner } from './partitioner.js';
import { RECORD_OVERHEAD_BYTES, dataBytes, estimateHeaderBytes, normalizeAcks, timestampOf, toKeyBuffer, toValueBuffer } from './records.js';
import { Sender } from './sender.js';

export { normalizeAcks } from './records.js';

/**
 * Where one send()'s messages went. Usually all into one batch, at consecutive indexes: then
 * only `first`/`firstIndex` are kept; the per-message arrays are made when a second batch appears.
 */
interface Appended {
  first: ProducerBatch | null;
  firstIndex: number;
  /** Per message, once the messages span more than one batch; else null. */
  batches: ProducerBatch[] | null;
  indexes: number[] | null;
  /** messages.length */
  size: number;
  /** Messages appended so far. */
  count: number;
  /** The send was aborted: stop appending. */
  aborted: boolean;
}

export class Producer {
  private readonly log: Logger;
  private readonly pool: BrokerPool;
  private readonly metadata: Metadata;
  private readonly accumulator: RecordAccumulator;
  private readonly sender: Sender;
  private readonly idempotence: Idempotence | null;
  private readonly partitioner = new DefaultPartitioner();
  private readonly customPartitioner: Partitioner | undefined;
  private readonly retry: RetryOptions;
  private readonly acks: AckMode;
  /** dropUnsent for an aborted send: one function per producer, not a closure per send. */
  private readonly dropUnsentRecords = (state: Appended): void => this.dropUnsent(state);
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
    const idempotent = config.idempotent ?? this.acks === -1;
    const compression: CompressionType = config.compression ?? 'none';
    if (!isCompression(compression)) {
      throw rillError('UNSUPPORTED_COMPRESSION_TYPE', `compression must be one of ${COMPRESSION_TYPES.join(', ')}; got '${String(compression)}'`);
    }
    const maxInFlightPerPartition = config.maxInFlightRequests ?? MAX_IDEMPOTENT_IN_FLIGHT;
    if (!Number.isInteger(maxInFlightPerPartition) || maxInFlightPerPartition < 1) {
      throw new RangeError(`maxInFlightRequests must be a positive integer, got ${maxInFlightPerPartition}`);
    }
    if (idempotent && maxInFlightPerPartition > MAX_IDEMPOTENT_IN_FLIGHT) {
      throw new RangeError(`an idempotent producer allows at most ${MAX_IDEMPOTENT_IN_FLIGHT} in-flight requests per partition, got ${maxInFlightPerPartition}`);
    }
    const deliveryTimeoutMs = config.deliveryTimeoutMs;
    if (deliveryTimeoutMs !== undefined && (!Number.isInteger(deliveryTimeoutMs) || deliveryTimeoutMs < 1)) {
      throw new RangeError(`deliveryTimeoutMs must be a positive integer, got ${deliveryTimeoutMs}`);
    }
    this.customPartitioner = config.partitioner;
    const metrics = ctx.metrics ?? NO_METRICS;
    this.pool = new BrokerPool(ctx.brokers, {
      clientId: ctx.clientId,
      connectionTimeoutMs: ctx.connectionTimeoutMs,
      requestTimeoutMs: ctx.requestTimeoutMs,
      retry: this.retry,
      logger: this.log,
      metrics,
      tls: ctx.tls ?? null,
      ...(ctx.knownBrokers !== undefined ? { knownBrokers: ctx.knownBrokers } : {}),
    });
    this.metadata = new Metadata(this.pool, { logger: this.log, retry: this.retry, allowAutoTopicCreation: config.allowAutoTopicCreation ?? true });
    this.idempotence = idempotent ? new Idempotence(this.pool, this.retry, this.log) : null;
    this.accumulator = new RecordAccumulator({
      batchBytes: config.batchBytes ?? 1024 * 1024,
      lingerMs: config.lingerMs ?? 5,
      bufferMemoryBytes: config.bufferMemoryBytes ?? 32 * 1024 * 1024,
      ...(config.maxBlockMs !== undefined ? { maxBlockMs: config.maxBlockMs } : {}),
      onBatchClosed: (batch) => {
        const count = this.metadata.cached(batch.topic)?.partitions.length ?? 0;
        this.partitioner.batchClosed(batch.topic, batch.partition, count);
        this.sender.wake();
      },
    });
    this.sender = new Sender({
      accumulator: this.accumulator,
      metadata: this.metadata,
      pool: this.pool,
      idempotence: this.idempotence,
      retry: this.retry,
      compression,
      maxInFlightPerPartition,
      requestTimeoutMs: ctx.requestTimeoutMs,
      // The sender's default (Kafka's 120 s) when not given.
      ...(deliveryTimeoutMs !== undefined ? { deliveryTimeoutMs } : {}),
      metrics,
      logger: this.log,
    });
  }

  /** Connects to the cluster (and gets a producer id when idempotent). send() does it lazily. */
  connect(): Promise<void> {
    if (this.closing) return Promise.reject(closedError());
    this.connectPromise ??= (async () => {
      await withRetry(this.retry, () => this.metadata.refresh([]));
      if (this.idempotence !== null) await this.idempotence.ensureProducerId();
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
   * awaiting it) never overtakes it, so per-key order holds across calls too. When the buffer
   * (bufferMemoryBytes) is full, send() waits for room, at most maxBlockMs (then it rejects
   * with BufferExhaustedError). See the file comment for `signal`.
   */
  send(record: ProducerRecord, options?: SendOptions): Promise<RecordMetadata[]> {
    let topic: string;
    let acks: AckMode;
    const signal = options?.signal;
    try {
      if (this.closing) throw closedError();
      if (signal?.aborted === true) throw abortError(signal);
      topic = record.topic;
      if (typeof topic !== 'string' || topic.length === 0) throw rillError('INVALID_TOPIC_EXCEPTION', 'send() needs a topic name');
      if (!Array.isArray(record.messages) || record.messages.length === 0) throw rillError('INVALID_RECORD', `send() to '${topic}' needs at least one message`);
      acks = record.acks === undefined ? this.acks : normalizeAcks(record.acks);
      if (this.idempotence !== null && acks !== -1) {
        throw rillError('INVALID_REQUIRED_ACKS', `this producer is idempotent and sends with acks 'all'; create it with idempotent: false to send with acks ${acks}`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const messages = record.messages;
    const state: Appended = { first: null, firstIndex: 0, batches: null, indexes: null, size: messages.length, count: 0, aborted: false };
    const prior = this.appendTail;
    // Fast path: nobody queued ahead, producer id and topic metadata at hand: append now.
    const cached = prior === null && (this.idempotence === null || this.idempotence.hasProducerId) ? this.metadata.cached(topic) : undefined;
    let appended: Appended | Promise<Appended>;
    if (cached !== undefined) {
      try {
        appended = this.appendMessages(topic, cached.partitions.length, messages, acks, 0, state, signal);
      } catch (err) {
        return Promise.reject(err);
      }
    } else {
      appended = (async () => {
        if (prior !== null) await prior;
        if (state.aborted) throw abortError(signal!);
        if (this.idempotence !== null) await this.idempotence.ensureProducerId();
        const info = await this.metadata.topic(topic, { waitForTopic: true });
        if (state.aborted) throw abortError(signal!);
        // Issued before close(): close() waits for this append (appendTail) and delivers it.
        return this.appendMessages(topic, info.partitions.length, messages, acks, 0, state, signal);
      })();
    }
    let acked: Promise<RecordMetadata[]>;
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
      acked = appended.then((a) => this.awaitAcks(topic, a));
    } else {
      acked = this.awaitAcks(topic, appended);
    }
    // One listener per signal, however many sends carry it (abort-watch.ts).
    return signal === undefined ? acked : new AbortableSend(state, signal, this.dropUnsentRecords).race(acked);
  }

  /** Takes an aborted send's records out of the batches that were not drained yet. */
  private dropUnsent(state: Appended): void {
    const ranges = new Map<ProducerBatch, { from: number; to: number }>();
    for (let i = 0; i < state.count; i++) {
      const b = state.batches === null ? state.first! : state.batches[i]!;
      if (b.encoded !== null || b.settled) continue;
      const index = state.indexes === null ? state.firstIndex + i : state.indexes[i]!;
      const r = ranges.get(b);
      // A send's records in one batch are contiguous (appends never interleave).
      if (r === undefined) ranges.set(b, { from: index, to: index + 1 });
      else r.to = Math.max(r.to, index + 1);
    }
    for (const [batch, r] of ranges) this.accumulator.release(batch.drop(r.from, r.to));
    if (ranges.size > 0) this.sender.wake();
  }

  /**
   * Appends messages[from..] to the accumulator; synchronous unless the buffer is full, in
   * which case it continues asynchronously once memory frees up (or fails after maxBlockMs).
   */
  private appendMessages(topic: string, partitionCount: number, messages: Message[], acks: AckMode, from: number, state: Appended, signal: AbortSignal | undefined): Appended | Promise<Appended> {
    // Wall clock for the records' timestamps; the producer's clock for their batch's age.
    const now = Date.now();
    const clock = producerClockMs();
    for (let i = from; i < messages.length; i++) {
      const m = messages[i]!;
      if (m === null || typeof m !== 'object') throw rillError('INVALID_RECORD', `message ${i} must be an object`);
      // Checked and measured here, before any memory is taken; encoded only in appendOne.
      const timestamp = timestampOf(m.timestamp, now, i);
      const key = toKeyBuffer(m.key, i);
      const value = m.value;
      const headers = m.headers;
      const bytes = RECORD_OVERHEAD_BYTES + (key === null ? 0 : key.length) + dataBytes(value, 'value', i) + estimateHeaderBytes(headers, i);
      const partition = this.partitionFor(topic, m, key, partitionCount);
      const wait = this.accumulator.reserve(bytes, signal);
      if (wait !== undefined) {
        // The buffer is full: let queued batches go out while we wait for room.
        this.sender.wake();
        return wait.then(() => {
          if (this.closed || state.aborted) {
            this.accumulator.release(bytes);
            throw this.closed ? closedError() : abortError(signal!);
          }
          this.appendOne(topic, partition, timestamp, key, value, headers, bytes, acks, producerClockMs(), i, state);
          return this.appendMessages(topic, partitionCount, messages, acks, i + 1, state, signal);
        });
      }
      this.appendOne(topic, partition, timestamp, key, value, headers, bytes, acks, clock, i, state);
    }
    this.sender.wake();
    return state;
  }

  private appendOne(
    topic: string,
    partition: number,
    timestamp: number,
    key: Buffer | null,
    value: Message['value'],
    headers: Message['headers'],
    bytes: number,
    acks: AckMode,
    clock: number,
    i: number,
    state: Appended,
  ): void {
    const accumulator = this.accumulator;
    let batch: ProducerBatch;
    try {
      batch = accumulator.appendRecord(topic, partition, timestamp, key, value, headers, bytes, acks, clock);
    } catch (err) {
      // Not appended: its memory goes back.
      accumulator.release(bytes);
      throw err;
    }
    const index = accumulator.lastIndex;
    // A new batch: numbered once per batch, not per record (these lookups were ~40% of the
    // producer's per-message CPU when done per record).
    if (index === 0) this.sender.onNewBatch(batch);
    if (state.first === null) {
      state.first = batch;
      state.firstIndex = index;
    } else if (state.batches === null && batch !== state.first) {
      // A second batch: from here on, keep where every message went.
      state.batches = new Array<ProducerBatch>(state.size).fill(state.first, 0, i);
      state.indexes = new Array<number>(state.size);
      for (let k = 0; k < i; k++) state.indexes[k] = state.firstIndex + k;
    }
    if (state.batches !== null) {
      state.batches[i] = batch;
      state.indexes![i] = index;
    }
    state.count = i + 1;
    if (accumulator.lastReady) this.sender.wake();
  }

  /** One promise per distinct batch, then the per-message offsets. */
  private awaitAcks(topic: string, a: Appended): Promise<RecordMetadata[]> {
    // Every message went into one batch (the common case): wait on it alone.
    if (a.batches === null) return a.first!.done.then(() => consecutiveOffsets(topic, a.first!, a.firstIndex, a.size));
    return this.awaitBatches(topic, a.batches, a.indexes!);
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

  /**
   * Sends everything buffered now and resolves when all of it (and all in flight) is settled,
   * including the messages of send() calls made before flush() that were still waiting for
   * metadata or buffer memory (as Java's flush() covers every send() before it).
   */
  async flush(): Promise<void> {
    if (this.appendTail !== null) await this.appendTail;
    this.accumulator.beginFlush();
    try {
      this.sender.wake();
      const all: Array<Promise<void>> = [];
      for (const b of this.accumulator.pendingBatches()) all.push(b.done);
      this.sender.unsettled(all);
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
    this.sender.stop();
    await this.pool.close();
  }

  private hasPendingWork(): boolean {
    if (this.appendTail !== null || this.accumulator.queues.size > 0 || this.accumulator.waitingForMemory > 0) return true;
    return this.sender.hasPendingWork;
  }

  private partitionFor(topic: string, m: Message, key: Buffer | null, partitionCount: number): number {
    let partition: number;
    if (m.partition !== undefined && m.partition !== null) partition = m.partition;
    else if (this.customPartitioner !== undefined) partition = this.customPartitioner({ topic, partitionCount, key, value: toValueBuffer(m.value) });
    else partition = this.partitioner.partition(topic, key, partitionCount);
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
      throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' has ${partitionCount} partition(s); partition ${partition} does not exist`, { topic, partition });
    }
    return partition;
  }
}

/** `count` messages at consecutive indexes of one acked batch. */
/** `acked`, unless the send's signal fires first: then its unsent records are dropped and it rejects. */
class AbortableSend extends AbortRace<RecordMetadata[]> {
  constructor(
    private readonly state: Appended,
    signal: AbortSignal,
    private readonly dropUnsent: (state: Appended) => void,
  ) {
    super(signal, abortError);
  }

  override onAbort(): void {
    this.state.aborted = true;
    this.dropUnsent(this.state);
    super.onAbort();
  }
}

function consecutiveOffsets(topic: string, batch: ProducerBatch, firstIndex: number, count: number): RecordMetadata[] {
  const out = new Array<RecordMetadata>(count);
  const partition = batch.partition;
  if (batch.baseOffset >= 0 && !batch.droppedRecords) {
    // The common case, without a call per record: offsets follow each other.
    const first = batch.baseOffset + firstIndex;
    for (let i = 0; i < count; i++) out[i] = { topic, partition, offset: first + i };
    return out;
  }
  for (let i = 0; i < count; i++) out[i] = { topic, partition, offset: batch.offsetOf(firstIndex + i) };
  return out;
}

/** One `{ topic, partition, offset }` per message, once its batch is acked (acks 0: offset -1). */
function offsetsOf(topic: string, batches: ProducerBatch[], indexes: number[]): RecordMetadata[] {
  const out = new Array<RecordMetadata>(batches.length);
  for (let i = 0; i < batches.length; i++) {
    const b = batches[i]!;
    out[i] = { topic, partition: b.partition, offset: b.offsetOf(indexes[i]!) };
  }
  return out;
}

function closedError(): Error {
  return new Error('the producer is closed');
}
