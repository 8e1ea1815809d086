/**
 * The consumer's fetcher: keeps one Fetch in flight per leader broker for every assigned
 * partition that has room in its prefetch buffer, decodes what comes back into chunks of
 * messages, and hands them to the consumer (consumer.ts), which delivers them to the app.
 *
 * - Pipelining: a partition is fetched again as soon as its previous response is decoded and
 *   its buffer of not-yet-started chunks is under `maxBytesPerPartition`, so the next fetch
 *   is in flight while the app processes the current chunk.
 * - Bounded: per partition (`maxBytesPerPartition` of waiting chunks + the one being
 *   processed + one in flight) and in total (`maxPrefetchBytes`); past that, fetching stops
 *   until the app catches up. Paused partitions are neither fetched nor delivered.
 * - Decoding: batch by batch, records below the fetch offset skipped (a fetch returns whole
 *   batches, the first may start earlier), control batches skipped, a trailing partial batch
 *   (the response's byte limit) left for the next fetch. One message object per record and no
 *   per-record closures or promises.
 * - A batch that does not decode (bad CRC, or malformed records behind a valid CRC) does not
 *   cost the good batches ahead of it: their records are delivered first, then the partition
 *   stops with a CorruptBatchError (CORRUPT_MESSAGE) naming topic, partition and the batch's
 *   offsets, until the app seeks — to `lastOffset + 1` to skip it. A bad batch wholly below the
 *   fetch offset (the app has sought past it) is skipped.
 * - A seek bumps the partition's epoch: answers to fetches sent before it are dropped.
 * - Start positions ('earliest', 'latest', { timestamp }) are resolved with ListOffsets.
 *   OFFSET_OUT_OF_RANGE resets per `autoOffsetReset`, except for an explicit numeric offset
 *   from assign()/seek() (strict), which surfaces the error instead.
 */
import { WakeTimer } from '../wake-timer.js';
import type { Logger } from 'pino';
import type { FetchResponse, ListOffsetsResponse } from '../../protocol/apis/index.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../protocol/apis/index.js';
import { ErrorCode, RillError, errorEntry, errorFromCode, isRetriable, rillError } from '../../protocol/errors.js';
import {
  BATCH_LENGTH_POS,
  CONTROL_MASK,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  decodeBatch,
  readBatchHeader,
  type DecodedBatch,
  type RecordHeader,
} from '../../protocol/record-batch.js';
import { describeBatchCorruption } from '../../protocol/record-validation.js';
import { partitionKey } from '../accumulator.js';
import type { BrokerPool } from '../broker-pool.js';
import { CorruptBatchError, codeNeedsMetadataRefresh } from '../errors.js';
import type { Metadata } from '../metadata.js';
import { backoffMs } from '../retry.js';
import type { AutoOffsetReset, ConsumedMessage, OffsetSpec, RetryOptions } from '../types.js';

/** Bytes counted per record on top of key and value, for buffer accounting. */
const RECORD_ACCOUNTING_OVERHEAD_BYTES = 64;
const NO_HEADERS: Readonly<Record<string, Buffer | null>> = Object.freeze({});

/** Decoded messages of one partition from one fetch response; `next` is the delivery cursor. */
export interface MessageChunk {
  messages: ConsumedMessage[];
  next: number;
  bytes: number;
  epoch: number;
  highWatermark: number;
}

/** Everything the consumer knows about one assigned partition. */
export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** Next offset to fetch; -1 while the start position is being resolved. */
  fetchOffset = -1;
  /** A start position waiting for ListOffsets ('earliest' | 'latest' | { timestamp }). */
  pendingStart: Exclude<OffsetSpec, number> | null = null;
  /** The position came from an explicit offset: out of range is an error, not a reset. */
  strict = false;
  paused = false;
  /** Being revoked (group rebalance): no more fetches or deliveries. */
  revoking = false;
  removed = false;
  /** Bumped by every seek; chunks and answers of older epochs are dropped. */
  epoch = 0;
  fetching = false;
  resolving = false;
  failures = 0;
  retryAtMs = 0;
  /** partitionMaxBytes of the next fetch (grows when a single batch does not fit). */
  fetchSizeBytes: number;
  /** Chunks decoded and not yet started by the app, oldest first. */
  readonly chunks: MessageChunk[] = [];
  bufferedBytes = 0;
  highWatermark = -1;
  logStartOffset = -1;
  /** A non-retriable failure, surfaced to the app once; fetching stops until seek(). */
  error: Error | null = null;
  errorReported = false;
  /** Offset after the last message the app finished processing; -1 before any is known. */
  processedOffset = -1;
  /** Messages (or batches) handed to the app and not finished yet. */
  processing = 0;
  /** Resolved when `processing` drops to 0 (revocation waits on it). */
  idleWaiters: Array<() => void> = [];
  /** In the consumer's ready ring. */
  inRing = false;

  constructor(topic: string, partition: number, fetchSizeBytes: number) {
    this.topic = topic;
    this.partition = partition;
    this.key = partitionKey(topic, partition);
    this.fetchSizeBytes = fetchSizeBytes;
  }
}

export interface FetcherOptions {
  pool: BrokerPool;
  metadata: Metadata;
  logger: Logger;
  retry: RetryOptions;
  requestTimeoutMs: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  maxBytesPerPartition: number;
  maxPrefetchBytes: number;
  autoOffsetReset: AutoOffsetReset;
  /** A partition got a chunk or an error for the app. */
  onReady: (state: PartitionState) => void;
}

export class Fetcher {
  readonly partitions = new Map<string, PartitionState>();
  private readonly opts: FetcherOptions;
  private readonly log: Logger;
  private readonly nodesFetching = new Set<number>();
  private readonly refreshingTopics = new Set<string>();
  private totalBufferedBytes = 0;
  private readonly abort = new AbortController();
  private kickScheduled = false;
  private readonly wakeTimer = new WakeTimer(() => this.fetchRound());
  private stopped = false;

  constructor(opts: FetcherOptions) {
    this.opts = opts;
    this.log = opts.logger;
  }

  /** Bytes decoded and waiting for the app, across partitions. */
  get bufferedBytes(): number {
    return this.totalBufferedBytes;
  }

  add(topic: string, partition: number, start: OffsetSpec, strict: boolean): PartitionState {
    const st = new PartitionState(topic, partition, this.opts.maxBytesPerPartition);
    this.partitions.set(st.key, st);
    this.setStart(st, start, strict);
    return st;
  }

  remove(st: PartitionState): void {
    st.removed = true;
    this.clearChunks(st);
    this.partitions.delete(st.key);
  }

  /** Moves a partition to `start`: buffered chunks and in-flight answers are dropped. */
  seek(st: PartitionState, start: OffsetSpec, strict: boolean): void {
    st.epoch++;
    this.clearChunks(st);
    this.setStart(st, start, strict);
  }

  /** The next undelivered chunk of a partition, or undefined. */
  takeChunk(st: PartitionState): MessageChunk | undefined {
    const chunk = st.chunks.shift();
    if (chunk === undefined) return undefined;
    st.bufferedBytes -= chunk.bytes;
    this.totalBufferedBytes -= chunk.bytes;
    if (st.bufferedBytes < this.opts.maxBytesPerPartition) this.kick();
    return chunk;
  }

  /** Puts back the undelivered rest of a chunk (the partition was paused mid-chunk). */
  putBack(st: PartitionState, chunk: MessageChunk): void {
    if (chunk.epoch !== st.epoch || st.removed) return;
    st.chunks.unshift(chunk);
    // Counted again in full, so that taking it again balances the books.
    st.bufferedBytes += chunk.bytes;
    this.totalBufferedBytes += chunk.bytes;
  }

  /** Schedules a fetch round (coalesced). */
  kick(): void {
    if (this.kickScheduled || this.stopped) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      this.fetchRound();
    });
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort(new Error('consumer closed'));
    this.wakeTimer.cancel();
  }

  private setStart(st: PartitionState, start: OffsetSpec, strict: boolean): void {
    st.error = null;
    st.errorReported = false;
    st.failures = 0;
    st.retryAtMs = 0;
    if (typeof start === 'number') {
      if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`offset must be a non-negative integer, got ${start}`);
      st.fetchOffset = start;
      st.pendingStart = null;
      st.strict = strict;
      // What a commit would store now: messages of older epochs no longer move it.
      st.processedOffset = start;
    } else {
      if (start !== 'earliest' && start !== 'latest' && !(typeof start === 'object' && start !== null && Number.isSafeInteger(start.timestamp))) {
        throw new RangeError(`offset must be a number, 'earliest', 'latest' or { timestamp }, got ${JSON.stringify(start)}`);
      }
      st.fetchOffset = -1;
      st.pendingStart = start;
      st.strict = false;
    }
    this.kick();
  }

  private clearChunks(st: PartitionState): void {
    for (const c of st.chunks) this.totalBufferedBytes -= c.bytes;
    st.chunks.length = 0;
    st.bufferedBytes = 0;
  }

  private fetchRound(): void {
    if (this.stopped) return;
    const now = Date.now();
    let wakeInMs = -1;
    const toResolve = new Map<number, PartitionState[]>();
    const toFetch = new Map<number, PartitionState[]>();
    for (const st of this.partitions.values()) {
      if (st.removed || st.revoking || st.error !== null || st.fetching || st.resolving) continue;
      if (st.retryAtMs > now) {
        if (wakeInMs < 0 || st.retryAtMs - now < wakeInMs) wakeInMs = st.retryAtMs - now;
        continue;
      }
      const wantsResolve = st.pendingStart !== null;
      if (!wantsResolve) {
        if (st.paused || st.bufferedBytes >= this.opts.maxBytesPerPartition) continue;
        if (this.totalBufferedBytes >= this.opts.maxPrefetchBytes) continue;
      }
      const leader = this.opts.metadata.leaderOf(st.topic, st.partition);
      if (leader < 0 || !this.opts.pool.hasNode(leader) || this.opts.metadata.cached(st.topic) === undefined) {
        this.refreshTopic(st.topic);
        continue;
      }
      const target = wantsResolve ? toResolve : toFetch;
      if (!wantsResolve && this.nodesFetching.has(leader)) continue;
      let list = target.get(leader);
      if (list === undefined) {
        list = [];
        target.set(leader, list);
      }
      list.push(st);
    }
    for (const [node, list] of toResolve) this.resolveStarts(node, list);
    for (const [node, list] of toFetch) this.fetchFrom(node, list);
    if (wakeInMs >= 0) this.armTimer(wakeInMs);
  }

  private fetchFrom(node: number, states: PartitionState[]): void {
    const epochs = new Array<number>(states.length);
    const offsets = new Array<number>(states.length);
    const byTopic = new Map<string, Array<{ partition: number; fetchOffset: number; partitionMaxBytes: number }>>();
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!;
      st.fetching = true;
      epochs[i] = st.epoch;
      offsets[i] = st.fetchOffset;
      let list = byTopic.get(st.topic);
      if (list === undefined) {
        list = [];
        byTopic.set(st.topic, list);
      }
      list.push({ partition: st.partition, fetchOffset: st.fetchOffset, partitionMaxBytes: st.fetchSizeBytes });
    }
    this.nodesFetching.add(node);
    const request = {
      maxWaitMs: this.opts.maxWaitMs,
      minBytes: this.opts.minBytes,
      maxBytes: this.opts.maxBytes,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    };
    let conn;
    try {
      conn = this.opts.pool.forNode(node);
    } catch (err) {
      this.fetchDone(node, states);
      this.onRequestError(states, epochs, err as Error);
      return;
    }
    conn
      .request('Fetch', request, { timeoutMs: this.opts.requestTimeoutMs + this.opts.maxWaitMs, signal: this.abort.signal })
      .then(
        (response) => {
          this.fetchDone(node, states);
          this.onFetchResponse(states, epochs, offsets, response);
        },
        (err: Error) => {
          this.fetchDone(node, states);
          if (!this.stopped) this.onRequestError(states, epochs, err);
        },
      );
  }

  private fetchDone(node: number, states: PartitionState[]): void {
    this.nodesFetching.delete(node);
    for (const st of states) st.fetching = false;
    this.kick();
  }

  private onFetchResponse(states: PartitionState[], epochs: number[], offsets: number[], response: FetchResponse): void {
    if (response.errorCode !== ErrorCode.NONE) {
      this.onRequestError(states, epochs, errorFromCode(response.errorCode, 'fetch refused'));
      return;
    }
    const results = new Map<string, FetchResponse['topics'][number]['partitions'][number]>();
    for (const t of response.topics) for (const p of t.partitions) results.set(partitionKey(t.name, p.partition), p);
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!;
      if (st.removed || st.epoch !== epochs[i] || st.fetchOffset !== offsets[i]) continue;
      const r = results.get(st.key);
      if (r === undefined) continue;
      if (r.errorCode === ErrorCode.NONE) {
        st.failures = 0;
        st.highWatermark = r.highWatermark;
        st.logStartOffset = r.logStartOffset;
        if (r.records !== null && r.records.length > 0) this.decodeInto(st, r.records as Buffer);
        continue;
      }
      this.onPartitionError(st, r.errorCode, r.logStartOffset, r.highWatermark);
    }
  }

  /**
   * Decodes one partition's records into a chunk, batch by batch; a batch that does not decode
   * ends the chunk and stops the partition with an error delivered after it. The hot path: no
   * closures, one object per record.
   */
  private decodeInto(st: PartitionState, records: Buffer): void {
    const topic = st.topic;
    const partition = st.partition;
    const fetchOffset = st.fetchOffset;
    let nextOffset = fetchOffset;
    let bytes = 0;
    let wholeBatches = 0;
    let failure: Error | null = null;
    const messages: ConsumedMessage[] = [];
    let pos = 0;
    while (records.length - pos >= LOG_OVERHEAD) {
      const batchLength = records.readInt32BE(pos + BATCH_LENGTH_POS);
      const sizeBytes = LOG_OVERHEAD + batchLength;
      // A batch cut by the response's byte limit; a batchLength below the header's is
      // corruption, never a partial batch (decodeBatch says so below).
      if (batchLength >= MIN_BATCH_LENGTH && sizeBytes > records.length - pos) break;
      wholeBatches++;
      let batch: DecodedBatch;
      try {
        batch = decodeBatch(records, pos);
      } catch (err) {
        const bad = this.undecodable(st, records, pos, nextOffset, err);
        if (bad === null && batchLength >= MIN_BATCH_LENGTH) {
          pos += sizeBytes;
          continue;
        }
        failure = bad ?? (err as Error);
        break;
      }
      pos += sizeBytes;
      const header = batch.header;
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      if (lastOffset < fetchOffset) continue;
      if (lastOffset + 1 > nextOffset) nextOffset = lastOffset + 1;
      if ((header.attributes & CONTROL_MASK) !== 0) continue;
      const recs = batch.records;
      for (let r = 0; r < recs.length; r++) {
        const rec = recs[r]!;
        if (rec.offset < fetchOffset) continue;
        const key = rec.key;
        const value = rec.value;
        bytes += RECORD_ACCOUNTING_OVERHEAD_BYTES + (key === null ? 0 : key.length) + (value === null ? 0 : value.length);
        messages.push({
          topic,
          partition,
          offset: rec.offset,
          key,
          value,
          headers: rec.headers.length === 0 ? (NO_HEADERS as Record<string, Buffer | null>) : headerMap(rec.headers),
          timestamp: rec.timestamp,
        });
      }
    }
    if (wholeBatches === 0) {
      // Only a partial batch came back: it is bigger than we asked for. Ask for more next time.
      if (st.fetchSizeBytes >= this.opts.maxBytes) {
        this.fail(st, rillError('MESSAGE_TOO_LARGE', `${topic}[${partition}] at offset ${fetchOffset} holds a batch larger than maxBytes (${this.opts.maxBytes})`, { topic, partition }));
      } else {
        st.fetchSizeBytes = Math.min(this.opts.maxBytes, st.fetchSizeBytes * 2);
      }
      return;
    }
    st.fetchSizeBytes = this.opts.maxBytesPerPartition;
    st.fetchOffset = nextOffset;
    if (messages.length > 0) {
      st.chunks.push({ messages, next: 0, bytes, epoch: st.epoch, highWatermark: st.highWatermark });
      st.bufferedBytes += bytes;
      this.totalBufferedBytes += bytes;
      this.opts.onReady(st);
    }
    // After the chunk: the app gets every record before the bad batch, then the error.
    if (failure !== null) this.fail(st, failure);
  }

  /**
   * The error for the batch at `pos` that `decodeBatch` refused with `err`, or null when that
   * batch lies wholly below the fetch offset (the app has sought past it: skip it). A corrupt
   * batch gets a CorruptBatchError with its offsets from its header (`nextOffset`, where the
   * partition stands, when the header is unreadable); any other refusal (a codec rill does
   * not read) keeps its code.
   */
  private undecodable(st: PartitionState, records: Buffer, pos: number, nextOffset: number, err: unknown): Error | null {
    let baseOffset = nextOffset;
    let lastOffset = nextOffset;
    try {
      const header = readBatchHeader(records, pos);
      baseOffset = header.baseOffset;
      lastOffset = header.baseOffset + Math.max(0, header.lastOffsetDelta);
      if (lastOffset < st.fetchOffset) return null;
    } catch {
      // Fewer than a header's bytes or 64-bit fields out of range: keep where the partition stands.
    }
    if (!(err instanceof RillError)) return err as Error;
    if (err.code !== ErrorCode.CORRUPT_MESSAGE) {
      return errorFromCode(err.code, `${st.topic}[${st.partition}] at offset ${baseOffset}: ${err.message}`, { topic: st.topic, partition: st.partition });
    }
    const reason = describeBatchCorruption(records, pos) ?? err.message;
    return new CorruptBatchError(st.topic, st.partition, baseOffset, lastOffset, reason);
  }

  private onPartitionError(st: PartitionState, code: number, logStartOffset: number, logEndOffset: number): void {
    const name = errorEntry(code).name;
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      const detail = `offset ${st.fetchOffset} is out of range for ${st.topic}[${st.partition}] (log start ${logStartOffset}, end ${logEndOffset})`;
      if (st.strict || this.opts.autoOffsetReset === 'none') {
        this.fail(st, errorFromCode(code, detail, { topic: st.topic, partition: st.partition }));
      } else {
        this.log.info({ topic: st.topic, partition: st.partition, fetchOffset: st.fetchOffset, resetTo: this.opts.autoOffsetReset }, 'fetch offset out of range; resetting');
        st.pendingStart = this.opts.autoOffsetReset;
        st.fetchOffset = -1;
        this.kick();
      }
      return;
    }
    if (errorEntry(code).retriable) {
      if (codeNeedsMetadataRefresh(code)) this.opts.metadata.markStale(st.topic);
      st.failures++;
      st.retryAtMs = Date.now() + backoffMs(this.opts.retry, st.failures);
      this.log.debug({ topic: st.topic, partition: st.partition, error: name, failures: st.failures }, 'fetch failed; will retry');
      this.armTimer(st.retryAtMs - Date.now());
      return;
    }
    this.fail(st, errorFromCode(code, `fetch from ${st.topic}[${st.partition}] at offset ${st.fetchOffset} failed: ${errorEntry(code).message}`, { topic: st.topic, partition: st.partition }));
  }

  /** A whole request failed (connection lost, timeout): back off its partitions and retry. */
  private onRequestError(states: PartitionState[], epochs: number[], err: Error): void {
    const retriable = isRetriable(err);
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!;
      if (st.removed || st.epoch !== epochs[i]) continue;
      if (!retriable) {
        this.fail(st, err);
        continue;
      }
      this.opts.metadata.markStale(st.topic);
      st.failures++;
      st.retryAtMs = Date.now() + backoffMs(this.opts.retry, st.failures);
    }
    if (retriable) {
      this.log.debug({ err: err.message }, 'fetch request failed; will retry');
      this.armTimer(backoffMs(this.opts.retry, 1));
    }
  }

  private resolveStarts(node: number, states: PartitionState[]): void {
    const epochs = states.map((st) => st.epoch);
    const specs = states.map((st) => st.pendingStart!);
    const byTopic = new Map<string, Array<{ partition: number; timestamp: number }>>();
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!;
      st.resolving = true;
      const spec = specs[i]!;
      const timestamp = spec === 'earliest' ? EARLIEST_TIMESTAMP : spec === 'latest' ? LATEST_TIMESTAMP : spec.timestamp;
      let list = byTopic.get(st.topic);
      if (list === undefined) {
        list = [];
        byTopic.set(st.topic, list);
      }
      list.push({ partition: st.partition, timestamp });
    }
    const done = (): void => {
      for (const st of states) st.resolving = false;
      this.kick();
    };
    let conn;
    try {
      conn = this.opts.pool.forNode(node);
    } catch (err) {
      done();
      this.onRequestError(states, epochs, err as Error);
      return;
    }
    conn.request('ListOffsets', { topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) }, { signal: this.abort.signal }).then(
      (response) => {
        this.onListOffsets(states, epochs, specs, response);
        done();
      },
      (err: Error) => {
        done();
        if (!this.stopped) this.onRequestError(states, epochs, err);
      },
    );
  }

  private onListOffsets(states: PartitionState[], epochs: number[], specs: Array<Exclude<OffsetSpec, number>>, response: ListOffsetsResponse): void {
    const results = new Map<string, ListOffsetsResponse['topics'][number]['partitions'][number]>();
    for (const t of response.topics) for (const p of t.partitions) results.set(partitionKey(t.name, p.partition), p);
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!;
      if (st.removed || st.epoch !== epochs[i] || st.pendingStart !== specs[i]) continue;
      const r = results.get(st.key);
      if (r === undefined) continue;
      if (r.errorCode !== ErrorCode.NONE) {
        this.onPartitionError(st, r.errorCode, -1, -1);
        continue;
      }
      if (r.offset < 0) {
        // No record at or after that timestamp: start at the end, as Kafka does.
        st.pendingStart = 'latest';
        continue;
      }
      st.failures = 0;
      st.pendingStart = null;
      st.fetchOffset = r.offset;
      if (st.processing === 0 && st.chunks.length === 0) st.processedOffset = r.offset;
    }
  }

  private fail(st: PartitionState, err: Error): void {
    st.error = err;
    st.errorReported = false;
    this.log.warn({ topic: st.topic, partition: st.partition, err: err.message }, 'partition stopped on error');
    this.opts.onReady(st);
  }

  private refreshTopic(topic: string): void {
    if (this.refreshingTopics.has(topic)) return;
    this.refreshingTopics.add(topic);
    this.opts.metadata.markStale(topic);
    this.opts.metadata.topic(topic, { waitForTopic: true, signal: this.abort.signal }).then(
      (info) => {
        this.refreshingTopics.delete(topic);
        for (const st of this.partitions.values()) {
          if (st.topic === topic && st.partition >= info.partitions.length) {
            this.fail(st, rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' has ${info.partitions.length} partition(s); partition ${st.partition} does not exist`, { topic, partition: st.partition }));
          }
        }
        this.kick();
      },
      (err: Error) => {
        this.refreshingTopics.delete(topic);
        if (this.stopped) return;
        // A consumer outlives broker restarts: retriable trouble (broker down, topic not there
        // yet) is retried for as long as it lasts, with capped backoff; the rest stops the partitions.
        const retriable = isRetriable(err);
        if (retriable) this.log.warn({ topic, err: err.message }, 'metadata unavailable; will keep retrying');
        let wakeInMs = -1;
        for (const st of this.partitions.values()) {
          if (st.topic !== topic || st.removed) continue;
          if (!retriable) {
            this.fail(st, err);
            continue;
          }
          st.failures++;
          st.retryAtMs = Date.now() + backoffMs(this.opts.retry, st.failures);
          wakeInMs = wakeInMs < 0 ? st.retryAtMs - Date.now() : Math.min(wakeInMs, st.retryAtMs - Date.now());
        }
        if (wakeInMs >= 0) this.armTimer(wakeInMs);
      },
    );
  }

  private armTimer(inMs: number): void {
    if (this.stopped) return;
    this.wakeTimer.arm(inMs);
  }
}

function headerMap(headers: RecordHeader[]): Record<string, Buffer | null> {
  const out: Record<string, Buffer | null> = {};
  for (let i = 0; i < headers.length; i++) out[headers[i]!.key] = headers[i]!.value;
  return out;
}
