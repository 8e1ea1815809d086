/**
 * One replica fetcher per source broker (Kafka's AbstractFetcherThread): it carries every
 * partition this broker follows on that leader, in one loop over one connection.
 *
 * Per partition:
 *   truncating  on being added (becoming a follower) or after a leader-epoch change: ask the
 *               leader where our last epoch ended (OffsetsForLeaderEpoch) and truncate a
 *               divergent tail by KIP-279's rules (below), possibly over several rounds;
 *   fetching    fetch from our log end offset with our replicaId (the fetch offset is the report
 *               of how far we have the log, as in Kafka), append the leader's batches exactly
 *               (appendAsFollower, CRC-checked first) and take the leader's high watermark;
 *   delayed     a partition-level error: retried after the backoff, the others keep going.
 *
 * KIP-279 truncation, given our latest epoch E and the leader's answer (E', end):
 *   end = -1 (the leader knows no epoch <= E)  → truncate to our high watermark;
 *   we know no epoch <= E'                     → truncate to min(end, our log end);
 *   our epoch for E' is not E' itself          → truncate to where our epoch below E' ended,
 *                                                 and ask again with the new latest epoch;
 *   else                                       → truncate to min(end, where our E' ends).
 * Every round removes at least one epoch, so it ends; rounds are also capped.
 *
 * An empty log skips the question. OFFSET_OUT_OF_RANGE on fetch: below the leader's log start
 * the log is restarted at the leader's log start; above the leader's log end it is truncated to
 * it (both are Kafka's handling). Connection failures close the connection and the loop waits
 * an exponential backoff with jitter (bounded) before reconnecting; partitions keep their state.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import pino from 'pino';
import type { FetchResponse, OffsetsForLeaderEpochResponse } from '../../protocol/apis/index.js';
import { ErrorCode, RillError, rillError } from '../../protocol/errors.js';
import { batchSize, readLastOffset, validateBatch } from '../../protocol/record-batch.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import { PeerConnection, type PeerConnectionOptions } from './peer-connection.js';

export interface SourceBroker {
  nodeId: number;
  host: string;
  port: number;
}

export interface ReplicaFetcherOptions {
  source: SourceBroker;
  /** This broker's node id, sent as the Fetch and OffsetsForLeaderEpoch replicaId. */
  localBrokerId: number;
  /** replica.fetch.wait.max.ms (Kafka default 500). */
  fetchWaitMaxMs?: number;
  /** replica.fetch.min.bytes (default 1). */
  fetchMinBytes?: number;
  /** replica.fetch.response.max.bytes (default 10 MiB). */
  fetchResponseMaxBytes?: number;
  /** replica.fetch.max.bytes per partition (default 1 MiB). */
  fetchMaxBytes?: number;
  /** replica.fetch.backoff.ms: the first reconnect / partition-retry wait (default 1000). */
  fetchBackoffMs?: number;
  /** The longest backoff after consecutive failures (default 10000). */
  fetchBackoffMaxMs?: number;
  /** request timeout of each request, the fetch's wait added (default 30000). */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Dial the source broker over TLS with these options (its listener is SSL); null = plain TCP. */
  tls?: PeerConnectionOptions['tls'];
  logger?: Logger;
}

export interface ReplicaFetcherStats {
  fetches: number;
  bytesAppended: number;
  truncations: number;
  connects: number;
  connectFailures: number;
}

export interface ReplicaFetcherEvents {
  /** After each append or high-watermark change of a partition (the broker wakes waiters). */
  fetched: [PartitionLog];
  /** A partition-level failure (logged too); it is retried after the backoff. */
  'partition-error': [PartitionLog, Error];
}

type Phase = 'truncating' | 'fetching' | 'delayed';

interface FollowedPartition {
  log: PartitionLog;
  /** The leader's epoch as the metadata says (sent as currentLeaderEpoch). */
  leaderEpoch: number;
  phase: Phase;
  /** The phase to resume after a delay. */
  resume: Phase;
  retryAtMs: number;
}

/** The most OffsetsForLeaderEpoch rounds for one partition before it is retried later. */
const MAX_TRUNCATION_ROUNDS = 64;

const silentLogger = pino({ level: 'silent' });

export class ReplicaFetcher extends EventEmitter<ReplicaFetcherEvents> {
  readonly source: SourceBroker;
  readonly stats: ReplicaFetcherStats = { fetches: 0, bytesAppended: 0, truncations: 0, connects: 0, connectFailures: 0 };
  private readonly opts: Required<Omit<ReplicaFetcherOptions, 'source' | 'logger' | 'tls'>>;
  private readonly tls: PeerConnectionOptions['tls'];
  private readonly logger: Logger;
  private readonly partitions = new Map<string, FollowedPartition>();
  private conn: PeerConnection | null = null;
  private loop: Promise<void> | null = null;
  private running = false;
  private consecutiveFailures = 0;
  /** Wakes the loop early from a backoff or idle sleep (new partition, close). */
  private wake: (() => void) | null = null;

  constructor(opts: ReplicaFetcherOptions) {
    super();
    this.source = opts.source;
    this.logger = (opts.logger ?? silentLogger).child({ fetcher: opts.source.nodeId });
    this.tls = opts.tls ?? null;
    this.opts = {
      localBrokerId: opts.localBrokerId,
      fetchWaitMaxMs: opts.fetchWaitMaxMs ?? 500,
      fetchMinBytes: opts.fetchMinBytes ?? 1,
      fetchResponseMaxBytes: opts.fetchResponseMaxBytes ?? 10 * 1024 * 1024,
      fetchMaxBytes: opts.fetchMaxBytes ?? 1024 * 1024,
      fetchBackoffMs: opts.fetchBackoffMs ?? 1000,
      fetchBackoffMaxMs: opts.fetchBackoffMaxMs ?? 10_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      connectionTimeoutMs: opts.connectionTimeoutMs ?? 10_000,
    };
  }

  get partitionCount(): number {
    return this.partitions.size;
  }

  /** The phase of a followed partition (for tests and metrics); undefined when not followed. */
  phaseOf(topic: string, partition: number): Phase | undefined {
    return this.partitions.get(`${topic}\u0000${partition}`)?.phase;
  }

  /**
   * Follows `log` on this source at the leader's `leaderEpoch` (becoming a follower, or a new
   * epoch of the same leader): the partition first truncates by leader epoch, then fetches.
   */
  addPartition(log: PartitionLog, leaderEpoch: number): void {
    this.partitions.set(key(log), { log, leaderEpoch, phase: 'truncating', resume: 'truncating', retryAtMs: 0 });
    this.wake?.();
  }

  removePartition(topic: string, partition: number): boolean {
    return this.partitions.delete(`${topic}\u0000${partition}`);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops the loop and closes the connection; resolves once the loop has ended. */
  async close(): Promise<void> {
    this.running = false;
    this.conn?.close();
    this.wake?.();
    if (this.loop !== null) await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.partitions.size === 0) {
          await this.sleep(this.opts.fetchBackoffMs);
          continue;
        }
        const conn = await this.connection();
        if (conn === null || !this.running) continue;
        await this.truncatePending(conn);
        const fetched = await this.fetchOnce(conn);
        if (!fetched) await this.sleep(this.nextRetryDelayMs());
        this.consecutiveFailures = 0;
      } catch (err) {
        if (!this.running) break;
        this.dropConnection(err as Error);
        await this.sleep(this.backoffMs());
      }
    }
    // A connect that finished after close() began is closed here.
    this.conn?.close();
    this.conn = null;
  }

  /** The open connection, or a new one; null after a failed attempt (already backed off). */
  private async connection(): Promise<PeerConnection | null> {
    if (this.conn !== null && !this.conn.isClosed) return this.conn;
    try {
      this.conn = await PeerConnection.connect({
        host: this.source.host,
        port: this.source.port,
        connectionTimeoutMs: this.opts.connectionTimeoutMs,
        maxInFlightRequests: 1,
        maxFrameBytes: this.opts.fetchResponseMaxBytes + this.opts.fetchMaxBytes + 1024 * 1024,
        tls: this.tls,
      });
      this.stats.connects++;
      return this.conn;
    } catch (err) {
      this.stats.connectFailures++;
      this.dropConnection(err as Error);
      await this.sleep(this.backoffMs());
      return null;
    }
  }

  private dropConnection(err: Error): void {
    this.consecutiveFailures++;
    this.logger.warn({ source: this.source, err: err.message, failures: this.consecutiveFailures }, 'replica fetcher lost its leader connection; reconnecting after a backoff');
    this.conn?.close();
    this.conn = null;
  }

  /** Exponential backoff with full jitter over the lower half, capped. */
  private backoffMs(): number {
    const exp = Math.min(this.opts.fetchBackoffMaxMs, this.opts.fetchBackoffMs * 2 ** Math.min(this.consecutiveFailures - 1, 20));
    return Math.round(exp / 2 + (Math.random() * exp) / 2);
  }

  private nextRetryDelayMs(): number {
    let soonest = Number.POSITIVE_INFINITY;
    for (const p of this.partitions.values()) if (p.phase === 'delayed') soonest = Math.min(soonest, p.retryAtMs - Date.now());
    return Math.max(1, Math.min(this.opts.fetchBackoffMs, soonest));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private delay(p: FollowedPartition, err: Error, resume: Phase): void {
    p.phase = 'delayed';
    p.resume = resume;
    p.retryAtMs = Date.now() + this.opts.fetchBackoffMs;
    this.logger.warn({ topic: p.log.topic, partition: p.log.partition, err: err.message }, 'replica fetch of a partition failed; retrying after the backoff');
    this.emit('partition-error', p.log, err);
  }

  // ------------------------------------------------------------------------------ truncation

  private async truncatePending(conn: PeerConnection): Promise<void> {
    const now = Date.now();
    for (const p of this.partitions.values()) {
      if (p.phase === 'delayed' && p.retryAtMs <= now) p.phase = p.resume;
    }
    for (let round = 0; round < MAX_TRUNCATION_ROUNDS; round++) {
      const asking: FollowedPartition[] = [];
      for (const p of this.partitions.values()) {
        if (p.phase !== 'truncating') continue;
        if (p.log.logEndOffset === p.log.logStartOffset) {
          p.phase = 'fetching';
        } else if (p.log.latestEpoch < 0) {
          // Batches without epochs (written before epochs existed): Kafka's fallback, the HW.
          await this.truncate(p, p.log.highWatermark);
          p.phase = 'fetching';
        } else {
          asking.push(p);
        }
      }
      if (asking.length === 0) return;
      const answer = await conn.request('OffsetsForLeaderEpoch', {
        replicaId: this.opts.localBrokerId,
        topics: groupByTopic(asking, (p) => ({ partition: p.log.partition, currentLeaderEpoch: p.leaderEpoch, leaderEpoch: p.log.latestEpoch })),
      }, this.opts.requestTimeoutMs);
      for (const p of asking) await this.applyEpochAnswer(p, findPartition(answer.topics, p.log));
    }
    for (const p of this.partitions.values()) {
      if (p.phase === 'truncating') this.delay(p, new Error(`truncation did not finish within ${MAX_TRUNCATION_ROUNDS} rounds`), 'truncating');
    }
  }

  private async applyEpochAnswer(p: FollowedPartition, r: OffsetsForLeaderEpochResponse['topics'][number]['partitions'][number] | undefined): Promise<void> {
    if (this.partitions.get(key(p.log)) !== p) return;
    if (r === undefined) {
      this.delay(p, rillError('UNKNOWN_TOPIC_OR_PARTITION', `${key(p.log)}: missing from the OffsetsForLeaderEpoch answer`), 'truncating');
      return;
    }
    if (r.errorCode !== ErrorCode.NONE) {
      this.delay(p, new RillError(r.errorCode, r.errorMessage ?? undefined, { topic: p.log.topic, partition: p.log.partition }), 'truncating');
      return;
    }
    const log = p.log;
    try {
      if (r.endOffset < 0) {
        await this.truncate(p, log.highWatermark);
        p.phase = 'fetching';
        return;
      }
      const ours = log.endOffsetForEpoch(r.leaderEpoch);
      if (ours.endOffset < 0) {
        await this.truncate(p, Math.min(r.endOffset, log.logEndOffset));
        p.phase = 'fetching';
      } else if (ours.epoch !== r.leaderEpoch) {
        // The leader's epoch E' is one we never had: our data above our last epoch < E' diverges.
        await this.truncate(p, Math.min(ours.endOffset, log.logEndOffset));
        if (log.logEndOffset === log.logStartOffset || log.latestEpoch < 0) p.phase = 'fetching';
      } else {
        await this.truncate(p, Math.min(r.endOffset, ours.endOffset));
        p.phase = 'fetching';
      }
    } catch (err) {
      this.delay(p, err as Error, 'truncating');
    }
  }

  private async truncate(p: FollowedPartition, offset: number): Promise<void> {
    if (offset >= p.log.logEndOffset) return;
    this.logger.info({ topic: p.log.topic, partition: p.log.partition, from: p.log.logEndOffset, to: offset }, 'truncating a divergent log tail');
    await p.log.truncateTo(offset);
    this.stats.truncations++;
  }

  // ---------------------------------------------------------------------------------- fetch

  /** One Fetch for every partition in the fetching phase; false when there was none. */
  private async fetchOnce(conn: PeerConnection): Promise<boolean> {
    const fetching = [...this.partitions.values()].filter((p) => p.phase === 'fetching');
    if (fetching.length === 0) return false;
    const response = await conn.request('Fetch', {
      replicaId: this.opts.localBrokerId,
      maxWaitMs: this.opts.fetchWaitMaxMs,
      minBytes: this.opts.fetchMinBytes,
      maxBytes: this.opts.fetchResponseMaxBytes,
      topics: groupByTopic(fetching, (p) => ({ partition: p.log.partition, fetchOffset: p.log.logEndOffset, partitionMaxBytes: this.opts.fetchMaxBytes })),
    }, this.opts.requestTimeoutMs + this.opts.fetchWaitMaxMs);
    this.stats.fetches++;
    for (const p of fetching) {
      if (this.partitions.get(key(p.log)) !== p || p.phase !== 'fetching') continue;
      await this.applyFetched(p, findPartition(response.topics, p.log));
    }
    return true;
  }

  private async applyFetched(p: FollowedPartition, r: FetchResponse['topics'][number]['partitions'][number] | undefined): Promise<void> {
    const log = p.log;
    if (r === undefined) {
      this.delay(p, rillError('UNKNOWN_TOPIC_OR_PARTITION', `${key(log)}: missing from the Fetch answer`), 'fetching');
      return;
    }
    try {
      if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        await this.handleOutOfRange(p, r.logStartOffset, r.highWatermark);
        return;
      }
      if (r.errorCode !== ErrorCode.NONE) {
        // A new leader or epoch is the metadata's to tell (addPartition again); until then, back off.
        this.delay(p, new RillError(r.errorCode, r.errorMessage ?? undefined, { topic: log.topic, partition: log.partition }), 'fetching');
        return;
      }
      const records = r.records === null ? Buffer.alloc(0) : toBuffer(r.records);
      const fresh = batchesFrom(records, log.logEndOffset);
      if (fresh.length > 0) {
        await log.appendAsFollower(fresh);
        this.stats.bytesAppended += fresh.length;
      }
      if (log.isHighWatermarkManaged) log.updateHighWatermark(Math.min(r.highWatermark, log.logEndOffset));
      this.emit('fetched', log);
    } catch (err) {
      this.delay(p, err as Error, 'fetching');
    }
  }

  private async handleOutOfRange(p: FollowedPartition, leaderLogStart: number, leaderHighWatermark: number): Promise<void> {
    const log = p.log;
    if (leaderLogStart >= 0 && log.logEndOffset < leaderLogStart) {
      this.logger.warn({ topic: log.topic, partition: log.partition, logEndOffset: log.logEndOffset, leaderLogStart }, 'follower is below the leader\'s log start: restarting the log there');
      await log.truncateFullyAndStartAt(leaderLogStart);
      this.stats.truncations++;
    } else if (log.latestEpoch < 0) {
      // Past the leader's end with no epochs to compare: the leader's high watermark is what it keeps.
      await this.truncate(p, Math.max(0, leaderHighWatermark));
    } else {
      // Past the leader's end: find the divergence by leader epoch again.
      p.phase = 'truncating';
    }
  }
}

function key(log: PartitionLog): string {
  return `${log.topic}\u0000${log.partition}`;
}

function groupByTopic<T>(parts: FollowedPartition[], entry: (p: FollowedPartition) => T): Array<{ name: string; partitions: T[] }> {
  const byTopic = new Map<string, T[]>();
  for (const p of parts) {
    let list = byTopic.get(p.log.topic);
    if (list === undefined) byTopic.set(p.log.topic, (list = []));
    list.push(entry(p));
  }
  return [...byTopic].map(([name, partitions]) => ({ name, partitions }));
}

function findPartition<P extends { partition: number }>(topics: Array<{ name: string; partitions: P[] }>, log: PartitionLog): P | undefined {
  return topics.find((t) => t.name === log.topic)?.partitions.find((x) => x.partition === log.partition);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The whole batches of `records` that end at or after `fromOffset` (a read may start with the
 * batch holding an earlier offset), each CRC-checked: a corrupt batch throws CORRUPT_MESSAGE and
 * nothing of the answer is appended.
 */
function batchesFrom(records: Buffer, fromOffset: number): Buffer {
  let start = -1;
  let pos = 0;
  while (pos < records.length) {
    validateBatch(records, pos);
    const size = batchSize(records, pos);
    if (start < 0 && readLastOffset(records, pos) >= fromOffset) start = pos;
    pos += size;
  }
  return start < 0 ? Buffer.alloc(0) : records.subarray(start);
}
