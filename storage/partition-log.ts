/**
 * The log of one topic partition: a list of segments, appended at the end, read anywhere,
 * trimmed at the start (retention), rewritten in the middle (compaction).
 *
 * Concurrency model: Node runs this on one thread, so everything that changes in-memory state
 * happens synchronously between awaits. Appends are validated and given offsets synchronously
 * in `append()` (so producer-sequence checks and offsets follow call order) and queued; one
 * writer loop (`drainAppendQueueSingleWriter`) takes everything queued and writes it with one
 * writev per segment touched, then acknowledges (log-writer.ts holds that pipeline and the
 * state it shares with this file). While a write or an fdatasync is in flight new
 * appends pile up and go out together: that is both the write coalescing and the group commit.
 *
 * Offsets:
 *   logStartOffset   first readable offset (advanced by retention / deleteRecordsBefore)
 *   logEndOffset     offset after the last batch written to the file (readers see up to here)
 *   highWatermark    what consumers may read: = logEndOffset on one broker; with a managed high
 *                    watermark (replication) it moves only by `updateHighWatermark`, forward
 *   durableEndOffset offsets below are fdatasynced
 *   recoveryPoint    offsets below are fdatasynced and so are their index files: recovery after
 *                    a crash starts from the segment holding it
 *
 * Flush policy (config.flushMessages / flushMs): an append whose write brings the unflushed
 * message count to flush.messages resolves only after an fdatasync that covers it (1 = every
 * append: "flush always"); one fdatasync covers every append written before it started.
 * flush.ms is applied by LogManager's timer via `flushIfDue`. A segment roll flushes the old
 * segment in the background. A failed write or fdatasync puts the log in a failed state: every
 * pending and later append rejects with KAFKA_STORAGE_ERROR until the log is reopened.
 *
 * Replication (replica-log.ts, the class this one extends; see also leader-epoch-cache.ts and
 * truncation.ts): every appended batch's partitionLeaderEpoch feeds the leader-epoch cache; a
 * follower appends its leader's batches with `appendAsFollower` (offsets and epochs kept) and
 * cuts a divergent tail with `truncateTo`; the high watermark may be managed by replication.
 */
import { mkdir } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import { rillError } from '../protocol/errors.js';
import { patchBaseOffset, patchPartitionLeaderEpoch, readPartitionLeaderEpoch, readRecordCount, setLogAppendTime } from '../protocol/record-batch.js';
import { judgeProducerBatches, parseAppendBatches, type AppendBatch } from './append-batches.js';
import { fsyncDir } from './checkpoint.js';
import { validateLogConfig, type LogConfig } from './log-config.js';
import type { AppendResult } from './log-writer.js';
import { ReplicaLog } from './replica-log.js';
import { lastSequenceOfEntry, type ProducerAppendTxn, type ProducerBatchMetadata } from './producer-state.js';
import { cleanLeftoverFiles, loadPartitionSegments } from './recovery.js';
import { segmentsToDelete } from './retention.js';
import { Segment } from './segment.js';
import { findTimestampInSegment } from './segment-reader.js';

export type { AppendResult, PartitionLogStats } from './log-writer.js';

export interface ReadResult {
  /** Whole batches (possibly none), from one positioned read; may start before fromOffset. */
  records: Buffer;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
}

export interface ReadOptions {
  /** Return the first batch even when it is larger than maxBytes (Kafka KIP-74). Default true. */
  minOneBatch?: boolean;
  /**
   * How far the read may go (Kafka's FetchIsolation): 'highWatermark' (default, consumers) or
   * 'logEnd' (a follower's replica fetch). The same on a single broker, where HW == LEO.
   */
  isolation?: 'highWatermark' | 'logEnd';
}

export interface ProducerStateView {
  epoch: number;
  lastSequence: number;
  batches: readonly ProducerBatchMetadata[];
}

export interface PartitionLogOpenOptions {
  topic: string;
  partition: number;
  dir: string;
  config: LogConfig;
  logger?: Logger;
  /** null after a clean shutdown; else the checkpointed recovery point (0 = recover everything). */
  recoveryPoint: number | null;
  /** The checkpointed log start offset, if any. */
  logStartOffset?: number;
  /** The partition's current leader epoch, stamped into appended batches; default 0. */
  leaderEpoch?: number;
  /**
   * Absent (a single broker): the high watermark follows the log end. A number (a replica in a
   * cluster, from the replication-offset-checkpoint): the high watermark starts at
   * min(it, logEndOffset) and moves only by `updateHighWatermark`.
   */
  highWatermark?: number;
}

/** How `PartitionLog.append` treats the batches it is given. */
export interface AppendOptions {
  /**
   * Default true: the leader's path, which overwrites each batch's partitionLeaderEpoch with
   * the log's `leaderEpoch`. False keeps the epoch the batch carries: a follower appending
   * its leader's batches must store the leader's epoch, not its own.
   */
  stampLeaderEpoch?: boolean;
}

const silentLogger = pino({ level: 'silent' });

export class PartitionLog extends ReplicaLog {
  private constructor(opts: PartitionLogOpenOptions, logger: Logger) {
    super(opts.topic, opts.partition, opts.dir, opts.config, logger, opts.leaderEpoch ?? 0);
  }

  /**
   * Opens (creating if needed) the partition directory: finishes interrupted deletes and
   * compactions, scans and recovers segments (see recovery.ts), rebuilds producer state.
   */
  static async open(opts: PartitionLogOpenOptions): Promise<PartitionLog> {
    const logger = opts.logger ?? silentLogger;
    const log = new PartitionLog(opts, logger);
    await mkdir(opts.dir, { recursive: true });
    await cleanLeftoverFiles(opts.dir, opts.topic, opts.partition, logger);
    const epochProblem = await log.epochCache.load();
    if (epochProblem !== null) logger.warn({ topic: opts.topic, partition: opts.partition, reason: epochProblem }, 'ignored an unreadable leader-epoch-checkpoint; rebuilding it from the log');
    const { segments, truncated } = await loadPartitionSegments({
      topic: opts.topic,
      partition: opts.partition,
      dir: opts.dir,
      logger,
      recoveryPoint: opts.recoveryPoint,
      indexIntervalBytes: log.config.indexIntervalBytes,
      producerState: log.producers,
      // The log is the truth: every batch's epoch is replayed; the checkpoint only adds epochs
      // whose batches were since compacted away.
      onBatch: (b) => log.epochCache.assign(b.partitionLeaderEpoch, b.baseOffset),
    });
    if (segments.length === 0) {
      const base = opts.logStartOffset ?? 0;
      segments.push(await Segment.create(opts.dir, base));
      await fsyncDir(opts.dir);
    }
    for (const s of segments) {
      log.segments.append(s);
      if (s.dirty) log.dirtySegments.add(s);
    }
    const last = log.segments.last()!;
    log.endOffset = last.nextOffset;
    log.highWatermarkOffset = log.endOffset;
    if (opts.highWatermark !== undefined) {
      log.highWatermarkManaged = true;
      log.highWatermarkOffset = Math.max(0, Math.min(opts.highWatermark, log.endOffset));
    }
    log.nextOffsetToAssign = log.endOffset;
    const first = log.segments.first()!;
    log.startOffset = Math.min(Math.max(opts.logStartOffset ?? 0, first.baseOffset), log.endOffset);
    log.highWatermarkOffset = Math.max(log.highWatermarkOffset, log.startOffset);
    log.epochCache.truncateFromEnd(log.endOffset);
    log.epochCache.truncateFromStart(log.startOffset);
    if (opts.recoveryPoint === null) {
      log.durableOffset = log.endOffset;
      log.recoveryPointOffset = log.endOffset;
    } else {
      await log.flush();
    }
    if (truncated) {
      logger.warn({ topic: log.topic, partition: log.partition, logEndOffset: log.endOffset }, 'log recovered to its valid prefix');
    }
    return log;
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  /**
   * The offset after the last batch written to the log: the next offset to assign once the
   * appends still queued (accepted, not yet written) are out. Readers see offsets below it.
   */
  get logEndOffset(): number {
    return this.endOffset;
  }

  /** Offsets below this are fdatasynced. */
  get durableEndOffset(): number {
    return this.durableOffset;
  }

  /** Offsets below this are flushed with their indexes (the recovery-point checkpoint). */
  get recoveryPoint(): number {
    return this.recoveryPointOffset;
  }

  get sizeBytes(): number {
    return this.segments.totalBytes();
  }

  get segmentCount(): number {
    return this.segments.size;
  }

  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets(): number[] {
    return this.segments.toArray().map((s) => s.baseOffset);
  }

  /** The segment being appended to. */
  get activeSegment(): Segment {
    return this.segments.last()!;
  }

  get isFailed(): boolean {
    return this.failure !== null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  producerState(producerId: number): ProducerStateView | undefined {
    const e = this.producers.get(producerId);
    if (e === undefined) return undefined;
    return { epoch: e.epoch, lastSequence: lastSequenceOfEntry(e), batches: e.batches.slice() };
  }

  updateConfig(cfg: LogConfig): void {
    this.config = validateLogConfig({ ...cfg });
  }

  // ---------------------------------------------------------------------------------- append

  /**
   * Appends one or more concatenated v2 batches (already CRC-checked by the caller). Checks
   * structure and max.message.bytes, judges idempotent-producer sequences, assigns offsets
   * from the log end by patching baseOffset in `records`, stamps the log's leaderEpoch into
   * partitionLeaderEpoch (unless `opts.stampLeaderEpoch` is false; neither field is covered by
   * the CRC) and LogAppendTime when so configured, then queues the bytes; resolves per the
   * flush policy.
   */
  append(records: Buffer, opts: AppendOptions = {}): Promise<AppendResult> {
    if (this.failure !== null) return Promise.reject(this.storageError(this.failure));
    if (this.closed) return Promise.reject(rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log is closed`, { topic: this.topic, partition: this.partition }));
    let batches: AppendBatch[];
    let txn: ProducerAppendTxn | null;
    const nowMs = Date.now();
    const logAppendTime = this.config.messageTimestampType === 'LogAppendTime';
    const leaderEpoch = opts.stampLeaderEpoch === false ? -1 : this.leaderEpoch;
    try {
      batches = parseAppendBatches(records, this.config.maxMessageBytes, this.topic, this.partition);
      if (logAppendTime) for (const b of batches) b.maxTimestamp = nowMs;
      const judged = judgeProducerBatches(this.producers, records, batches, this.nextOffsetToAssign, nowMs);
      if (judged !== null && 'duplicate' in judged) return this.answerDuplicate(judged.duplicate);
      txn = judged;
    } catch (err) {
      return Promise.reject(err);
    }
    this.stats.appends++;
    // Everything checked: from here on nothing throws and state changes.
    let offset = this.nextOffsetToAssign;
    let messages = 0;
    for (const b of batches) {
      patchBaseOffset(records, b.pos, offset);
      if (leaderEpoch >= 0) patchPartitionLeaderEpoch(records, b.pos, leaderEpoch);
      if (logAppendTime) setLogAppendTime(records, b.pos, nowMs);
      b.baseOffset = offset;
      b.lastOffset = offset + b.lastOffsetDelta;
      offset = b.lastOffset + 1;
      messages += readRecordCount(records, b.pos);
    }
    txn?.commit();
    this.nextOffsetToAssign = offset;
    if (leaderEpoch >= 0) this.assignEpoch(leaderEpoch, batches[0]!.baseOffset);
    else for (const b of batches) this.assignEpoch(readPartitionLeaderEpoch(records, b.pos), b.baseOffset);
    return this.enqueue(records, batches, messages, logAppendTime ? nowMs : -1);
  }

  // ------------------------------------------------------------------------------------ read

  /**
   * Whole batches starting with the one holding `fromOffset`, at most `maxBytes` (but at least
   * one batch unless minOneBatch is false), from one positioned read of one segment.
   */
  async read(fromOffset: number, maxBytes: number, opts: ReadOptions = {}): Promise<ReadResult> {
    if (this.closed) throw rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log is closed`);
    if (!Number.isSafeInteger(fromOffset)) throw rillError('OFFSET_OUT_OF_RANGE', `Offset ${fromOffset} is not an integer`);
    const minOneBatch = opts.minOneBatch ?? true;
    this.stats.reads++;
    const end = opts.isolation === 'logEnd' ? this.endOffset : this.highWatermarkOffset;
    if (fromOffset === end) return this.readResult(Buffer.alloc(0));
    if (fromOffset < this.startOffset || fromOffset > end) {
      throw rillError('OFFSET_OUT_OF_RANGE', `Offset ${fromOffset} is outside [${this.startOffset}, ${end}] of ${this.topic}-${this.partition}`, {
        topic: this.topic,
        partition: this.partition,
      });
    }
    // A tailing reader's bytes were written a moment ago: answered from memory, no file read.
    const cached = this.tail.read(fromOffset, maxBytes, minOneBatch, end);
    if (cached !== null) {
      this.stats.tailReads++;
      return this.readResult(cached);
    }
    let seg = this.segments.floor(fromOffset) ?? this.segments.first();
    while (seg !== undefined) {
      if (this.closed) throw rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log was closed during the read`);
      // Retained in the same tick as the lookup: retention or compaction can drop it from the
      // list, but its fd stays open until this read releases it.
      seg.retain();
      let records: Buffer | null;
      try {
        records = await this.reader.readFromSegment(seg, fromOffset, maxBytes, minOneBatch, end);
      } finally {
        seg.release();
      }
      if (records !== null) return this.readResult(records);
      // Nothing at or after fromOffset in this segment (a compaction gap at its end): next one.
      seg = this.segments.higher(seg.baseOffset);
    }
    return this.readResult(Buffer.alloc(0));
  }

  /**
   * Drops the in-memory tail (tail-cache.ts): later reads come from the file. For whoever
   * changes the file under a running log (a test simulating on-disk damage); the log itself
   * empties the tail whenever its own changes require it.
   */
  forgetTail(): void {
    this.tail.clear();
  }

  private readResult(records: Buffer): ReadResult {
    return { records, logStartOffset: this.startOffset, logEndOffset: this.endOffset, highWatermark: this.highWatermarkOffset };
  }

  /**
   * The first offset (>= logStartOffset) whose record timestamp is >= timestampMs, with that
   * timestamp; null when every record is older. Uses each segment's largest timestamp to skip
   * segments, the time index to skip within one, then batch headers, then decodes one batch.
   */
  async offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    if (this.closed) throw rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log is closed`);
    for (const seg of this.segments.toArray()) {
      if (this.closed) throw rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log was closed during the lookup`);
      if (seg.maxTimestampSoFar < timestampMs || seg.isDeleted) continue;
      if (seg.nextOffset <= this.startOffset) continue;
      seg.retain();
      try {
        const hit = await findTimestampInSegment(seg, timestampMs, this.startOffset);
        if (hit !== null) return hit;
      } finally {
        seg.release();
      }
    }
    return null;
  }

  // ------------------------------------------------------------------------ retention & co.

  /** Deletes the closed segments that retention.ms / retention.bytes / the log start offset allow; returns how many. */
  async applyRetention(nowMs: number): Promise<number> {
    return this.runMaintenance(async () => {
      const decision = segmentsToDelete(this.segments.toArray(), this.config, nowMs, this.startOffset);
      if (decision.count === 0) return 0;
      await this.deleteOldestSegments(decision.count, decision.reason);
      return decision.count;
    });
  }

  /**
   * Moves the log start offset to `offset` (at most the high watermark) and deletes the
   * segments wholly below it (Kafka's DeleteRecords). Returns the new log start offset.
   */
  async deleteRecordsBefore(offset: number): Promise<number> {
    return this.runMaintenance(async () => {
      if (!Number.isSafeInteger(offset) || offset > this.highWatermarkOffset || offset < 0) {
        throw rillError('OFFSET_OUT_OF_RANGE', `Cannot delete records before ${offset}: the high watermark is ${this.highWatermarkOffset}`);
      }
      if (offset <= this.startOffset) return this.startOffset;
      this.startOffset = offset;
      this.epochCache.truncateFromStart(offset);
      this.onLogStartOffsetChange?.(this);
      const decision = segmentsToDelete(this.segments.toArray(), { ...this.config, retentionMs: -1, retentionBytes: -1 }, Date.now(), offset);
      if (decision.count > 0) await this.deleteOldestSegments(decision.count, decision.reason);
      return this.startOffset;
    });
  }

  private async deleteOldestSegments(count: number, reason: string): Promise<void> {
    const removed = this.segments.removeOldest(count);
    const newStart = this.segments.first()!.baseOffset;
    if (newStart > this.startOffset) {
      this.startOffset = newStart;
      this.epochCache.truncateFromStart(newStart);
      this.onLogStartOffsetChange?.(this);
    }
    if (this.highWatermarkOffset < this.startOffset) this.highWatermarkOffset = this.startOffset;
    this.tail.trimBelow(this.startOffset);
    this.reader.forget(removed);
    for (const s of removed) this.dirtySegments.delete(s);
    for (const s of removed) {
      this.logger.info({ topic: this.topic, partition: this.partition, segment: s.baseOffset, sizeBytes: s.sizeBytes, reason }, 'deleting log segment');
      await s.markDeleted();
      this.stats.segmentsDeleted++;
    }
  }

  /** Forgets idempotent producers silent for longer than expirationMs. */
  expireProducers(nowMs: number, expirationMs: number): number {
    return this.producers.removeExpired(nowMs, expirationMs);
  }

  /**
   * For the cleaner: the closed segments (the active one excluded), a snapshot. @internal
   */
  closedSegments(): Segment[] {
    const all = this.segments.toArray();
    all.pop();
    return all;
  }

  /**
   * For the cleaner: swaps `replacement` in for the consecutive `old` segments, synchronously,
   * then deletes the old ones (readers holding them finish first). @internal
   */
  async replaceSegments(old: Segment[], replacement: Segment): Promise<void> {
    this.segments.replace(old, replacement);
    // The cached tail may hold batches the cleaner just rewrote.
    this.tail.clear();
    this.reader.forget(old);
    for (const s of old) {
      this.dirtySegments.delete(s);
      await s.markDeleted();
    }
  }

  // ----------------------------------------------------------------------------------- close

  /**
   * Waits for queued appends and maintenance, then (unless failed, or `flush: false`) writes the
   * active segment's final time-index entry and flushes everything; closes every fd.
   */
  async close(opts: { flush?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    const flush = opts.flush ?? true;
    this.closed = true; // new appends, reads and maintenance are refused from here on
    this.tail.clear();
    if (this.writerLoop !== null) await this.writerLoop;
    await this.maintenance;
    if (this.syncLoop !== null) await this.syncLoop;
    await Promise.all(this.backgroundFlushes);
    // A new leader epoch is checkpointed in the background (replica-log.ts assignEpoch): the
    // file must not be written after close() returned (the dir may be gone or reopened by then).
    await this.epochCache.idle();
    if (flush && this.failure === null) {
      this.segments.last()!.onBecomeInactive();
      await this.flush();
    }
    const e = rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log was closed`);
    for (const w of this.ackWaiters) w.reject(e);
    this.ackWaiters = [];
    for (const s of this.segments) await s.close();
  }
}

