/**
 * The replication side of a partition log (KIP-101/279), split from partition-log.ts; the
 * class chain is LogWriter (log-writer.ts: the append/flush pipeline) <- ReplicaLog (this
 * file) <- PartitionLog (partition-log.ts: open, the leader's append, reads, retention,
 * compaction, close), so PartitionLog's public API is what it was.
 *
 * Here: the leader epoch stamped into appended batches, the high watermark (following the log
 * end on a single broker, or managed by replication and moved only forward), the leader-epoch
 * cache's queries, a follower's append of its leader's batches as fetched, and truncation of a
 * divergent tail. Truncation runs in the log's maintenance lane (`runMaintenance`, also used
 * by retention and compaction), which therefore lives here too, with the producer state and
 * the segment reader that truncation rewinds.
 */
import type { Logger } from 'pino';
import { rillError } from '../protocol/errors.js';
import { INT32_MAX, readBaseOffset, readPartitionLeaderEpoch, readProducerState, readRecordCount } from '../protocol/record-batch.js';
import { parseAppendBatches, type AppendBatch } from './append-batches.js';
import { fsyncDir } from './checkpoint.js';
import type { EpochEndOffset, EpochEntry } from './leader-epoch-cache.js';
import type { LogConfig } from './log-config.js';
import { LogWriter, type AppendResult } from './log-writer.js';
import { ProducerStateManager } from './producer-state.js';
import { Segment } from './segment.js';
import { SegmentReader } from './segment-reader.js';
import { cutSegmentAt, deleteRemovedSegments, replayProducers } from './truncation.js';

export abstract class ReplicaLog extends LogWriter {
  /** Called when the log start offset moves (LogManager checkpoints it). */
  onLogStartOffsetChange: ((log: this) => void) | null = null;
  readonly producers = new ProducerStateManager();

  protected maintenance: Promise<unknown> = Promise.resolve();
  protected readonly reader = new SegmentReader();
  private currentLeaderEpoch = 0;

  protected constructor(topic: string, partition: number, dir: string, config: LogConfig, logger: Logger, leaderEpoch: number) {
    super(topic, partition, dir, config, logger);
    this.setLeaderEpoch(leaderEpoch);
  }

  /**
   * The partition's leader epoch, stamped into every batch appended by the leader's path
   * (0 on a single broker, which is also what Metadata reports). Not persisted: whoever opens
   * the log (the broker, later the cluster's partition state) passes it.
   */
  get leaderEpoch(): number {
    return this.currentLeaderEpoch;
  }

  /** Sets the epoch that later appends stamp (a new leadership); 0 .. 2^31 - 1. */
  setLeaderEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > INT32_MAX) {
      throw new RangeError(`leaderEpoch must be an integer in 0..${INT32_MAX}, got ${epoch}`);
    }
    this.currentLeaderEpoch = epoch;
  }

  /** What consumers may read (exclusive); == logEndOffset unless the high watermark is managed. */
  get highWatermark(): number {
    return this.highWatermarkOffset;
  }

  /** Whether replication moves the high watermark (else it follows the log end). */
  get isHighWatermarkManaged(): boolean {
    return this.highWatermarkManaged;
  }

  /**
   * Hands the high watermark to replication (`initial`, clamped to [logStart, logEnd]) or, with
   * null, back to the log end (a single broker, or a partition no longer replicated).
   */
  manageHighWatermark(initial: number | null): void {
    if (initial === null) {
      this.highWatermarkManaged = false;
      this.highWatermarkOffset = this.endOffset;
      return;
    }
    this.highWatermarkManaged = true;
    this.highWatermarkOffset = Math.max(this.startOffset, Math.min(initial, this.endOffset));
  }

  /**
   * Moves a managed high watermark forward to `offset` (clamped to the log end); never back.
   * Returns whether it moved (the caller completes parked acks=all produces then).
   */
  updateHighWatermark(offset: number): boolean {
    if (!this.highWatermarkManaged) throw new Error(`${this.topic}-${this.partition}: the high watermark follows the log end here`);
    const next = Math.min(offset, this.endOffset);
    if (next <= this.highWatermarkOffset) return false;
    this.highWatermarkOffset = next;
    if (this.onAppend !== null) this.onAppend(this);
    return true;
  }

  /** The epoch → start offset entries of the leader-epoch cache, oldest first. */
  get epochEntries(): readonly EpochEntry[] {
    return this.epochCache.all;
  }

  /** The newest epoch that wrote to this log, -1 when none did. */
  get latestEpoch(): number {
    return this.epochCache.latestEpoch;
  }

  /** OffsetsForLeaderEpoch: where `epoch` ended in this log (KIP-101/279). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochCache.endOffsetFor(epoch, this.endOffset);
  }

  /**
   * A follower's append: the leader's batches exactly as fetched (CRC-checked by the caller),
   * with the leader's offsets and epochs. The first batch must start at or after the log end
   * (after, only across a gap the leader's compaction left) and offsets must increase; producer
   * state is replayed without sequence checks, as recovery does (the leader judged them).
   */
  appendAsFollower(records: Buffer): Promise<AppendResult> {
    if (this.failure !== null) return Promise.reject(this.storageError(this.failure));
    if (this.closed) return Promise.reject(rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log is closed`, { topic: this.topic, partition: this.partition }));
    let batches: AppendBatch[];
    try {
      batches = parseAppendBatches(records, Number.POSITIVE_INFINITY, this.topic, this.partition);
      let expected = this.nextOffsetToAssign;
      for (const b of batches) {
        b.baseOffset = readBaseOffset(records, b.pos);
        b.lastOffset = b.baseOffset + b.lastOffsetDelta;
        if (b.baseOffset < expected) {
          throw rillError('CORRUPT_MESSAGE', `${this.topic}-${this.partition}: replicated batch at offset ${b.baseOffset} overlaps the log, which ends at ${expected}`, { topic: this.topic, partition: this.partition });
        }
        expected = b.lastOffset + 1;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    this.stats.appends++;
    let messages = 0;
    for (const b of batches) {
      this.producers.replayBatch({ ...readProducerState(records, b.pos), lastOffsetDelta: b.lastOffsetDelta }, b.baseOffset, b.maxTimestamp);
      this.assignEpoch(readPartitionLeaderEpoch(records, b.pos), b.baseOffset);
      messages += readRecordCount(records, b.pos);
    }
    this.nextOffsetToAssign = batches[batches.length - 1]!.lastOffset + 1;
    return this.enqueue(records, batches, messages, -1);
  }

  /** Records an epoch's first batch in the cache; a new epoch is checkpointed in the background. */
  protected assignEpoch(epoch: number, baseOffset: number): void {
    if (!this.epochCache.assign(epoch, baseOffset)) return;
    // flush() persists it too before the recovery point moves past the batch: a failure here
    // only delays the file (logged), it loses nothing.
    this.epochCache.persist().catch((err: unknown) => {
      this.logger.warn({ topic: this.topic, partition: this.partition, err }, 'leader-epoch-checkpoint write failed; retried on the next flush');
    });
  }

  /**
   * Runs `fn` after every earlier maintenance task of this log (retention, compaction,
   * deleteRecordsBefore): they never overlap each other. Appends and reads go on meanwhile.
   */
  runMaintenance<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.maintenance.then(() => {
      if (this.closed) throw rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log is closed`);
      return fn();
    });
    this.maintenance = run.catch(() => undefined);
    return run;
  }

  /**
   * A follower's truncation (KIP-101/279): removes every batch at or after `offset` (a batch
   * holding `offset` goes whole) from the segments, indexes, producer state and epoch cache;
   * the high watermark, durable offset and recovery point come down with the log end. An offset
   * below the log start empties the log and restarts it at `offset`. Waits for queued appends
   * (at most a few writer rounds: the caller, a replica fetcher, stops appending first) and runs
   * as maintenance, so it never overlaps retention or compaction. Returns the new log end.
   * A read racing the truncation of its segment may fail with KAFKA_STORAGE_ERROR; nothing
   * serves consumers from a follower.
   */
  truncateTo(offset: number): Promise<number> {
    return this.truncate(offset, false);
  }

  /**
   * Empties the log and restarts it at `offset`, which may be past the log end (Kafka's
   * truncateFullyAndStartAt: a follower fell below its leader's log start). Returns `offset`.
   */
  truncateFullyAndStartAt(offset: number): Promise<number> {
    return this.truncate(offset, true);
  }

  private async truncate(offset: number, fully: boolean): Promise<number> {
    if (!Number.isSafeInteger(offset) || offset < 0) throw rillError('OFFSET_OUT_OF_RANGE', `Cannot truncate ${this.topic}-${this.partition} to ${offset}`);
    return this.runMaintenance(async () => {
      for (let round = 0; this.writerLoop !== null; round++) {
        if (round >= 8) throw rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: appends kept coming during a truncation`);
        await this.writerLoop;
      }
      if (this.failure !== null) throw this.storageError(this.failure);
      if (this.syncLoop !== null) await this.syncLoop;
      await Promise.all(this.backgroundFlushes);
      if (offset >= this.endOffset && !fully) return this.endOffset;
      try {
        await this.truncateSegments(offset, fully);
      } catch (err) {
        this.fail(err as Error);
        throw this.storageError(err as Error);
      }
      this.logger.info({ topic: this.topic, partition: this.partition, logEndOffset: this.endOffset }, 'truncated the log tail');
      return this.endOffset;
    });
  }

  private async truncateSegments(offset: number, fully: boolean): Promise<void> {
    // Emptied before the first await and again once the new end is set: no read in between
    // is answered from batches being cut.
    this.tail.clear();
    this.epochCache.truncateFromEnd(offset);
    await this.epochCache.persist();
    const all = this.segments.toArray();
    // Segments whose base is at/after the cut go whole; the one before keeps its head.
    const emptiesLog = fully || offset < this.startOffset;
    let keep = emptiesLog ? -1 : this.segments.floorIndex(offset);
    if (keep >= 0 && all[keep]!.baseOffset === offset) keep--;
    const removed = this.segments.removeFrom(keep + 1);
    this.reader.forget(removed);
    for (const s of removed) this.dirtySegments.delete(s);
    await deleteRemovedSegments(this.dir, removed);
    let end: number;
    if (this.segments.size === 0) {
      const fresh = await Segment.create(this.dir, offset);
      await fsyncDir(this.dir);
      this.segments.append(fresh);
      end = offset;
    } else {
      const last = this.segments.last()!;
      this.reader.forget([last]);
      end = await cutSegmentAt(last, offset, this.config.indexIntervalBytes);
    }
    this.endOffset = end;
    this.nextOffsetToAssign = end;
    this.unflushedMessages = 0;
    this.tail.clear();
    if (emptiesLog) {
      this.startOffset = offset;
      this.epochCache.truncateFromStart(this.startOffset);
      this.onLogStartOffsetChange?.(this);
    }
    this.highWatermarkOffset = this.highWatermarkManaged ? Math.max(this.startOffset, Math.min(this.highWatermarkOffset, end)) : end;
    // An emptied log restarted at `offset` (maybe past the old end) has nothing unsynced.
    this.durableOffset = emptiesLog ? end : Math.min(this.durableOffset, end);
    this.recoveryPointOffset = emptiesLog ? end : Math.min(this.recoveryPointOffset, end);
    await replayProducers(this.segments.toArray(), this.producers);
  }
}
