/**
 * The consumer's fetcher: fetches every assigned partition that has room in its prefetch
 * buffer from its leader, decodes the answers into chunks of messages (chunk-decoder.ts) and
 * hands them to the consumer (consumer.ts), which delivers them to the app.
 *
 * - No head-of-line blocking: a partition whose last answer left it at the log's end
 *   (`caughtUp`) is fetched in a long poll of its own, never in the same Fetch as partitions
 *   that have data; the broker answers a Fetch as soon as `minBytes` (default 1) is there, so
 *   data never waits for maxWaitMs behind a partition that has none. Per broker at most
 *   MAX_DATA_FETCHES_PER_BROKER fetches for partitions with data and MAX_LONG_POLLS_PER_BROKER
 *   long polls are in flight, each partition in at most one; an answer triggers the next
 *   fetch at once.
 * - Pipelining: a partition is fetched again as soon as its previous answer is decoded and its
 *   buffer of not-yet-started chunks is under `maxBytesPerPartition`, so the next fetch is in
 *   flight while the app processes the current chunk.
 * - Bounded in bytes: per partition (`maxBytesPerPartition` of waiting chunks + the one being
 *   processed + one in flight) and in total (`maxPrefetchBytes`); past that, fetching stops
 *   until the app catches up. Paused partitions are neither fetched nor delivered.
 * - A batch that does not decode does not cost the good batches ahead of it: their records are
 *   delivered first, then the partition stops with the error (a CorruptBatchError for
 *   CORRUPT_MESSAGE) until the app seeks — to `lastOffset + 1` to skip it.
 * - A seek bumps the partition's epoch: answers to fetches sent before it are dropped.
 * - Start positions ('earliest', 'latest', { timestamp }) are resolved with ListOffsets.
 *   OFFSET_OUT_OF_RANGE resets per `autoOffsetReset`, except for an explicit numeric offset
 *   from assign()/seek() (strict), which surfaces the error instead.
 */
import type { Logger } from 'pino';
import type { FetchedRecords, SegmentedFetchResponse as FetchResponse } from '../response-decoder.js';
import { ErrorCode, errorEntry, errorFromCode, isRetriable, rillError } from '../../protocol/errors.js';
import { partitionKey } from '../topic-partition.js';
import type { RequestOptions } from '../connection.js';
import { codeNeedsMetadataRefresh } from '../errors.js';
import { LeaderWaits } from '../leader-waits.js';
import { backoffMs } from '../retry.js';
import type { OffsetSpec } from '../types.js';
import { WakeTimer } from '../wake-timer.js';
import { ChunkDecoder } from './chunk-decoder.js';
import type { FetcherOptions } from './fetcher-options.js';
import type { MessageChunk } from './message-chunk.js';
import { PartitionState } from './partition-state.js';
import { resolveStartPositions, type StartResolver } from './start-positions.js';

/**
 * Fetches for partitions with data in flight per broker at once: two keep the broker busy
 * (one answer is decoded while the next is read) without splitting the partitions so thin
 * that every Fetch carries little.
 */
export const MAX_DATA_FETCHES_PER_BROKER = 2;
/**
 * Long polls (fetches for partitions at their end) in flight per broker at once, each on a
 * socket of its own (long-poll-connections.ts). Partitions that reach their end while every
 * slot is taken wait for the first poll to answer (data on its partitions, or maxWaitMs).
 */
export const MAX_LONG_POLLS_PER_BROKER = 2;

/*
 * FETCH_WITHOUT_SIGNAL: a Fetch is not given the fetcher's AbortSignal. Node's EventTarget keeps
 * a signal's listeners in a linked list whose removed nodes keep their `next` pointer; with a
 * listener per Fetch and several Fetches in flight, each removed listener points at the one added
 * after it. Once one of them was promoted (alive at two scavenges), that dead old-space node held
 * the next listener alive through the remembered set, which held the next, and so on: each
 * Fetch's listener, entry, frame, promise and answer (with the socket chunk its records view)
 * reached old space until the next Mark-Compact, ~9 MB per 10 s at 20,000 msgs/s with lingerMs 0
 * (docs/BENCHMARKS.md, issue 8 session 15: consumer promotion). Nothing needs the signal there:
 * close() stops the fetcher and at once closes the pool and the long-poll sockets, which fails
 * every Fetch in flight, and an answer that comes after stop() is dropped.
 */

/** Fetches in flight to one broker. */
interface NodeFetches {
  data: number;
  /** Long-poll slots in use (index = slot). */
  pollSlots: boolean[];
}

export type { FetcherOptions } from './fetcher-options.js';

export class Fetcher {
  readonly partitions = new Map<string, PartitionState>();
  private readonly opts: FetcherOptions;
  private readonly log: Logger;
  private readonly inFlight = new Map<number, NodeFetches>();
  private readonly decoder = new ChunkDecoder();
  /** Partitions waiting for a new leader (leader-waits.ts). */
  private readonly leaders: LeaderWaits;
  private totalBufferedBytes = 0;
  private readonly abort = new AbortController();
  private kickScheduled = false;
  private readonly wakeTimer = new WakeTimer(() => this.fetchRound());
  private stopped = false;
  /** Every Fetch's request options, made once (no object per Fetch; no AbortSignal: FETCH_WITHOUT_SIGNAL). */
  private readonly fetchOptions: Readonly<RequestOptions>;

  constructor(opts: FetcherOptions) {
    this.opts = opts;
    this.fetchOptions = Object.freeze({ timeoutMs: opts.requestTimeoutMs + opts.maxWaitMs, segmentedRecords: true });
    this.log = opts.logger;
    this.leaders = new LeaderWaits(opts.metadata, opts.pool);
    // ListOffsets and metadata refreshes add an 'abort' listener to this signal and remove it when
    // answered. A signal whose last listener goes drops its per-type entry (a Map delete) and makes
    // it again on the next add: a fresh Map table and list root per request, which the long-lived
    // signal kept past scavenges (docs/BENCHMARKS.md, issue 8 session 15). One listener that stays
    // keeps it. Fetches carry no signal at all (FETCH_WITHOUT_SIGNAL).
    this.abort.signal.addEventListener('abort', keepAbortListenersWarm);
  }

  /** Fetches in flight to every broker (data fetches and long polls). */
  get fetchesInFlight(): number {
    let n = 0;
    for (const f of this.inFlight.values()) {
      n += f.data;
      for (const busy of f.pollSlots) if (busy) n++;
    }
    return n;
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
    this.leaders.forget(st.key);
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

  /**
   * Schedules a fetch round (coalesced) at the end of the current turn: the next Fetch leaves in
   * the same turn as the answer that made room, not after a pass through the event loop's poll
   * phase (setImmediate), so records the broker appends meanwhile wait one hop less.
   */
  kick(): void {
    if (this.kickScheduled || this.stopped) return;
    this.kickScheduled = true;
    queueMicrotask(this.kickNow);
  }

  private readonly kickNow = (): void => {
    this.kickScheduled = false;
    this.fetchRound();
  };

  stop(): void {
    this.stopped = true;
    this.abort.abort(new Error('consumer closed'));
    this.wakeTimer.cancel();
  }

  private setStart(st: PartitionState, start: OffsetSpec, strict: boolean): void {
    st.caughtUp = false;
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
    // Made on first use: most rounds fill one of the three or none (garbage per round otherwise).
    let toResolve: Map<number, PartitionState[]> | null = null;
    let toFetch: Map<number, PartitionState[]> | null = null;
    let toPoll: Map<number, PartitionState[]> | null = null;
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
      if (!this.leaders.canSend(st.topic, st.partition, st.key)) {
        this.refreshTopic(st.topic);
        continue;
      }
      // Expired or marked stale by another partition: refresh in the background.
      if (this.opts.metadata.cached(st.topic) === undefined) this.refreshTopic(st.topic);
      const leader = this.opts.metadata.leaderOf(st.topic, st.partition);
      const target = wantsResolve ? (toResolve ??= new Map()) : st.caughtUp ? (toPoll ??= new Map()) : (toFetch ??= new Map());
      let list = target.get(leader);
      if (list === undefined) {
        list = [];
        target.set(leader, list);
      }
      list.push(st);
    }
    if (toResolve !== null) for (const [node, list] of toResolve) this.resolveStarts(node, list);
    if (toFetch !== null) for (const [node, list] of toFetch) {
      const n = this.nodeFetches(node);
      if (n.data >= MAX_DATA_FETCHES_PER_BROKER) continue;
      n.data++;
      this.fetchFrom(node, list, -1);
    }
    if (toPoll !== null) for (const [node, list] of toPoll) {
      const n = this.nodeFetches(node);
      const slot = n.pollSlots.indexOf(false);
      if (slot < 0) continue;
      n.pollSlots[slot] = true;
      this.fetchFrom(node, list, slot);
    }
    if (wakeInMs >= 0) this.armTimer(wakeInMs);
  }

  private nodeFetches(node: number): NodeFetches {
    let n = this.inFlight.get(node);
    if (n === undefined) {
      n = { data: 0, pollSlots: new Array<boolean>(MAX_LONG_POLLS_PER_BROKER).fill(false) };
      this.inFlight.set(node, n);
    }
    return n;
  }

  /** One Fetch for `states` (all led by `node`); a long poll (they are all at their end) on `pollSlot` >= 0. */
  private fetchFrom(node: number, states: PartitionState[], pollSlot: number): void {
    const epochs = new Array<number>(states.length);
    const offsets = new Array<number>(states.length);
    const byTopic = new Map<string, Array<{ partition: number; currentLeaderEpoch: number; fetchOffset: number; partitionMaxBytes: number }>>();
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
      // The leader fences a stale epoch (FENCED_LEADER_EPOCH: refresh) and one it does not know
      // yet (UNKNOWN_LEADER_EPOCH: back off), so a deposed leader never serves us (KIP-320).
      const currentLeaderEpoch = this.opts.metadata.leaderEpochOf(st.topic, st.partition);
      list.push({ partition: st.partition, currentLeaderEpoch, fetchOffset: st.fetchOffset, partitionMaxBytes: st.fetchSizeBytes });
    }
    const request = {
      maxWaitMs: this.opts.maxWaitMs,
      minBytes: this.opts.minBytes,
      maxBytes: this.opts.maxBytes,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    };
    let conn;
    try {
      conn = pollSlot >= 0 ? this.opts.longPolls.forNode(node, pollSlot) : this.opts.pool.forNode(node);
    } catch (err) {
      this.fetchDone(node, states, pollSlot);
      this.onRequestError(states, epochs, err as Error);
      return;
    }
    // No AbortSignal on a Fetch (FETCH_WITHOUT_SIGNAL, at the top of this file): stop() is followed at once by
    // closing the pool and the long-poll sockets, which fails whatever is in flight.
    conn
      .fetch(request, this.fetchOptions)
      .then(
        (response) => {
          this.fetchDone(node, states, pollSlot);
          if (!this.stopped) this.onFetchResponse(states, epochs, offsets, response);
        },
        (err: Error) => {
          this.fetchDone(node, states, pollSlot);
          if (!this.stopped) this.onRequestError(states, epochs, err);
        },
      );
  }

  private fetchDone(node: number, states: PartitionState[], pollSlot: number): void {
    const n = this.nodeFetches(node);
    if (pollSlot >= 0) n.pollSlots[pollSlot] = false;
    else n.data--;
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
        if (r.records !== null && r.records.length > 0) this.decodeInto(st, r.records);
        st.caughtUp = st.fetchOffset >= r.highWatermark;
        this.opts.onLag?.(st.topic, st.partition, Math.max(0, r.highWatermark - st.fetchOffset));
        continue;
      }
      this.onPartitionError(st, r.errorCode, r.logStartOffset, r.highWatermark);
    }
  }

  /** Decodes one partition's records into a chunk; a batch that does not decode is raised after the records before it. */
  private decodeInto(st: PartitionState, records: FetchedRecords): void {
    const { chunk, bytes, nextOffset, wholeBatches, failure } = this.decoder.decode(st.topic, st.partition, st.fetchOffset, records);
    if (wholeBatches === 0) {
      // Only a partial batch came back: it is bigger than we asked for. Ask for more next time.
      if (st.fetchSizeBytes >= this.opts.maxBytes) {
        this.fail(st, rillError('MESSAGE_TOO_LARGE', `${st.topic}[${st.partition}] at offset ${st.fetchOffset} holds a batch larger than maxBytes (${this.opts.maxBytes})`, { topic: st.topic, partition: st.partition }));
      } else {
        st.fetchSizeBytes = Math.min(this.opts.maxBytes, st.fetchSizeBytes * 2);
      }
      return;
    }
    st.fetchSizeBytes = this.opts.maxBytesPerPartition;
    st.fetchOffset = nextOffset;
    if (chunk.count > 0) {
      chunk.epoch = st.epoch;
      chunk.highWatermark = st.highWatermark;
      st.chunks.push(chunk);
      st.bufferedBytes += bytes;
      this.totalBufferedBytes += bytes;
      this.opts.onReady(st);
    }
    // After the chunk: the app gets every record before the bad batch, then the error.
    if (failure !== null) this.fail(st, failure);
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
      if (codeNeedsMetadataRefresh(code)) this.leaders.wait(st.topic, st.key);
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
      this.leaders.wait(st.topic, st.key);
      st.failures++;
      st.retryAtMs = Date.now() + backoffMs(this.opts.retry, st.failures);
    }
    if (retriable) {
      this.log.debug({ err: err.message }, 'fetch request failed; will retry');
      this.armTimer(backoffMs(this.opts.retry, 1));
    }
  }

  /** Resolves start positions ('earliest', 'latest', { timestamp }) with ListOffsets (start-positions.ts). */
  private resolveStarts(node: number, states: PartitionState[]): void {
    let conn;
    try {
      conn = this.opts.pool.forNode(node);
    } catch (err) {
      this.onRequestError(states, states.map((st) => st.epoch), err as Error);
      return;
    }
    resolveStartPositions(conn, states, this.startResolver);
  }

  private readonly startResolver: StartResolver = {
    leaderEpochOf: (st) => this.opts.metadata.leaderEpochOf(st.topic, st.partition),
    onPartitionError: (st, code) => this.onPartitionError(st, code, -1, -1),
    onRequestError: (states, epochs, err) => this.onRequestError(states, epochs, err),
    stopped: () => this.stopped,
    done: () => this.kick(),
    signal: this.abort.signal,
  };

  private fail(st: PartitionState, err: Error): void {
    st.error = err;
    st.errorReported = false;
    this.log.warn({ topic: st.topic, partition: st.partition, err: err.message }, 'partition stopped on error');
    this.opts.onReady(st);
  }

  private refreshTopic(topic: string): void {
    this.leaders.refresh(topic, this.abort.signal, (outcome, waited) => {
      if (this.stopped) return;
      if ('info' in outcome) {
        const count = outcome.info.partitions.length;
        for (const st of this.partitions.values()) {
          if (st.topic === topic && st.partition >= count) {
            this.fail(st, rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' has ${count} partition(s); partition ${st.partition} does not exist`, { topic, partition: st.partition }));
          }
        }
        this.kick();
        return;
      }
      const err = outcome.error;
      // A consumer outlives broker restarts: retriable trouble (broker down, topic not there
      // yet) is retried for as long as it lasts, with capped backoff; the rest stops the partitions.
      const retriable = isRetriable(err);
      if (retriable) this.log.warn({ topic, err: err.message }, 'metadata unavailable; will keep retrying');
      let wakeInMs = -1;
      for (const st of this.partitions.values()) {
        if (st.topic !== topic || st.removed) continue;
        // The refresh still updated the cache: partitions that have a leader keep fetching.
        if (retriable && this.leaders.hasLeader(st.topic, st.partition) && !waited.has(st.key)) continue;
        if (!retriable) {
          this.fail(st, err);
          continue;
        }
        st.failures++;
        st.retryAtMs = Date.now() + backoffMs(this.opts.retry, st.failures);
        wakeInMs = wakeInMs < 0 ? st.retryAtMs - Date.now() : Math.min(wakeInMs, st.retryAtMs - Date.now());
      }
      if (wakeInMs >= 0) this.armTimer(wakeInMs);
    });
  }

  private armTimer(inMs: number): void {
    if (this.stopped) return;
    this.wakeTimer.arm(inMs);
  }
}

/** The listener that stays on the fetcher's AbortSignal (see the constructor); stop() itself needs nothing from it. */
function keepAbortListenersWarm(): void {}
