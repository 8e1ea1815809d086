/**
 * The write side of a partition log: the state every part of PartitionLog shares (segments,
 * offsets, flush bookkeeping) and the single-writer pipeline that puts accepted appends on
 * disk. PartitionLog (partition-log.ts) extends it with opening, the append checks, reads,
 * retention and truncation; the concurrency model and the flush policy are described there.
 *
 * Pipeline: `enqueue` queues bytes whose offsets are assigned; one writer loop
 * (`drainAppendQueueSingleWriter`) takes everything queued and writes it with one writev per
 * segment touched, rolls segments, then acknowledges (at once, or after the group-committed
 * fdatasync the flush policy asks for). A failed write or fdatasync puts the log in the failed
 * state (`fail`): everything pending rejects with KAFKA_STORAGE_ERROR.
 */
import type { Logger } from 'pino';
import { RillError, rillError } from '../protocol/errors.js';
import type { AppendBatch } from './append-batches.js';
import { fsyncDir } from './checkpoint.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { validateLogConfig, type LogConfig } from './log-config.js';
import { MAX_RELATIVE_OFFSET } from './offset-index.js';
import type { ProducerBatchMetadata } from './producer-state.js';
import { Segment } from './segment.js';
import { SegmentList } from './segment-list.js';
import { TailCache } from './tail-cache.js';

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped on the batches, -1 unless message.timestamp.type=LogAppendTime. */
  logAppendTimeMs: number;
  logStartOffset: number;
  /** An idempotent retry: the offsets are the original ones and nothing was written. */
  duplicate: boolean;
}

export interface PartitionLogStats {
  /** append() calls accepted (duplicates included). */
  appends: number;
  duplicates: number;
  /** writev calls on .log files. */
  writes: number;
  bytesAppended: number;
  /** fdatasync calls on .log files. */
  fsyncs: number;
  /** Full flushes (log + indexes), the ones that advance the recovery point. */
  flushes: number;
  rolls: number;
  reads: number;
  /** Reads answered from the in-memory tail (tail-cache.ts), counted in `reads` too. */
  tailReads: number;
  segmentsDeleted: number;
}

export interface PendingAppend {
  buf: Buffer;
  batches: AppendBatch[];
  messages: number;
  result: AppendResult;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

export interface AckWaiter {
  /** Resolve once this offset (exclusive) is written, or durable when `durable`. */
  throughOffset: number;
  durable: boolean;
  result: AppendResult;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

export abstract class LogWriter {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  config: LogConfig;
  /** Called after every successful write and high-watermark move (the broker wakes parked fetches). */
  onAppend: ((log: this) => void) | null = null;
  readonly stats: PartitionLogStats = {
    appends: 0, duplicates: 0, writes: 0, bytesAppended: 0, fsyncs: 0, flushes: 0, rolls: 0, reads: 0, tailReads: 0, segmentsDeleted: 0,
  };
  /** epoch → start offset of this partition (leader-epoch-checkpoint). */
  readonly epochCache: LeaderEpochCache;

  protected readonly logger: Logger;
  protected readonly segments = new SegmentList();
  /** Copies of the last written batches, for reads at the tail (tail-cache.ts). */
  protected readonly tail = new TailCache();
  protected startOffset = 0;
  protected endOffset = 0;
  protected highWatermarkOffset = 0;
  /** Whether replication moves the high watermark (else writes move it with the log end). */
  protected highWatermarkManaged = false;
  protected nextOffsetToAssign = 0;
  protected durableOffset = 0;
  protected recoveryPointOffset = 0;
  protected lastFlushMs = Date.now();
  protected unflushedMessages = 0;
  protected appendQueue: PendingAppend[] = [];
  protected writingGroup: PendingAppend[] = [];
  protected writerLoop: Promise<void> | null = null;
  protected ackWaiters: AckWaiter[] = [];
  protected readonly dirtySegments = new Set<Segment>();
  protected syncLoop: Promise<void> | null = null;
  protected readonly backgroundFlushes = new Set<Promise<void>>();
  protected syncRequested = false;
  protected failure: Error | null = null;
  protected closed = false;

  protected constructor(topic: string, partition: number, dir: string, config: LogConfig, logger: Logger) {
    this.topic = topic;
    this.partition = partition;
    this.dir = dir;
    this.config = validateLogConfig({ ...config });
    this.logger = logger;
    this.epochCache = new LeaderEpochCache(dir);
  }

  protected enqueue(records: Buffer, batches: AppendBatch[], messages: number, logAppendTimeMs: number): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.appendQueue.push({
        buf: records,
        batches,
        messages,
        result: {
          baseOffset: batches[0]!.baseOffset,
          lastOffset: batches[batches.length - 1]!.lastOffset,
          logAppendTimeMs,
          logStartOffset: this.startOffset,
          duplicate: false,
        },
        resolve,
        reject,
      });
      // Started from a microtask, so every append made in this tick (a Promise.all burst, a
      // produce request's partitions) goes out in the first writev.
      if (this.writerLoop === null) this.writerLoop = Promise.resolve().then(() => this.drainAppendQueueSingleWriter());
    });
  }

  protected answerDuplicate(meta: ProducerBatchMetadata): Promise<AppendResult> {
    this.stats.appends++;
    this.stats.duplicates++;
    const durable = this.config.flushMessages === 1;
    const result: AppendResult = {
      baseOffset: meta.baseOffset,
      lastOffset: meta.lastOffset,
      logAppendTimeMs: this.config.messageTimestampType === 'LogAppendTime' ? meta.timestampMs : -1,
      logStartOffset: this.startOffset,
      duplicate: true,
    };
    const reached = durable ? this.durableOffset : this.endOffset;
    if (meta.lastOffset < reached) return Promise.resolve(result);
    // The original is still queued or being flushed: answer when it is done.
    return new Promise((resolve, reject) => {
      this.ackWaiters.push({ throughOffset: meta.lastOffset + 1, durable, result, resolve, reject });
    });
  }

  /** The writer loop: takes everything queued, writes it, acknowledges, repeats. */
  private async drainAppendQueueSingleWriter(): Promise<void> {
    try {
      while (this.appendQueue.length > 0 && this.failure === null) {
        this.writingGroup = this.appendQueue;
        this.appendQueue = [];
        await this.writeGroupSingleWriter(this.writingGroup);
        this.writingGroup = [];
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      // A group that failed (or whose log failed during its write) is answered only here, once
      // no write refers to its bytes: the caller may reuse the buffer it appended from as soon
      // as its append settles (broker/frame-buffer-pool.ts).
      const orphaned = this.writingGroup;
      this.writingGroup = [];
      this.writerLoop = null;
      if (orphaned.length > 0) {
        const e = this.storageError(this.failure ?? new Error('the writer stopped'));
        for (const p of orphaned) p.reject(e);
      }
    }
  }

  private async writeGroupSingleWriter(group: PendingAppend[]): Promise<void> {
    const cfg = this.config;
    const nowMs = Date.now();
    let seg = this.segments.last()!;
    let chunks: Buffer[] = [];
    let chunkBytes = 0;
    let pendingBatches: AppendBatch[] = [];

    const writeOut = async (): Promise<void> => {
      if (chunkBytes === 0) return;
      await seg.writeSingleWriter(chunks, chunkBytes);
      this.stats.writes++;
      this.dirtySegments.add(seg);
      let position = seg.sizeBytes;
      for (const b of pendingBatches) {
        seg.observeBatchSingleWriter(
          { position, sizeBytes: b.sizeBytes, baseOffset: b.baseOffset, lastOffset: b.lastOffset, maxTimestamp: b.maxTimestamp },
          cfg.indexIntervalBytes,
          nowMs,
        );
        position += b.sizeBytes;
      }
      seg.commitWriteSingleWriter(chunkBytes);
      this.stats.bytesAppended += chunkBytes;
      this.endOffset = pendingBatches[pendingBatches.length - 1]!.lastOffset + 1;
      this.tail.onWritten(chunks, chunkBytes, seg.baseOffset, pendingBatches[0]!.baseOffset, this.endOffset);
      if (!this.highWatermarkManaged) this.highWatermarkOffset = this.endOffset;
      chunks = [];
      chunkBytes = 0;
      pendingBatches = [];
    };

    for (const p of group) {
      let runStart = -1;
      let runEnd = -1;
      for (const b of p.batches) {
        const size = seg.sizeBytes + chunkBytes;
        const rollBase = seg.rollBaseMs >= 0 ? seg.rollBaseMs : size > 0 ? nowMs : -1;
        const mustRoll = size > 0 && (
          size + b.sizeBytes > cfg.segmentBytes
          || size + b.sizeBytes > 0xffffffff
          || b.lastOffset - seg.baseOffset > MAX_RELATIVE_OFFSET
          || (rollBase >= 0 && nowMs - rollBase > cfg.segmentMs)
        );
        if (mustRoll) {
          if (runStart >= 0) chunks.push(p.buf.subarray(runStart, runEnd));
          runStart = -1;
          await writeOut();
          seg = await this.rollSingleWriter(b.baseOffset);
        }
        if (runStart < 0) runStart = b.pos;
        runEnd = b.pos + b.sizeBytes;
        chunkBytes += b.sizeBytes;
        pendingBatches.push(b);
      }
      if (runStart >= 0) chunks.push(runStart === 0 && runEnd === p.buf.length ? p.buf : p.buf.subarray(runStart, runEnd));
    }
    await writeOut();
    // The log failed while this group was being written (a background flush): answer it with
    // the failure, not an ack nobody would settle.
    if (this.failure !== null) throw this.failure;

    let messages = 0;
    for (const p of group) messages += p.messages;
    this.unflushedMessages += messages;
    const needsSync = this.unflushedMessages >= cfg.flushMessages;
    for (const p of group) {
      if (needsSync) {
        this.ackWaiters.push({ throughOffset: p.result.lastOffset + 1, durable: true, result: p.result, resolve: p.resolve, reject: p.reject });
      } else {
        p.result.logStartOffset = this.startOffset;
        p.resolve(p.result);
      }
    }
    if (needsSync) {
      this.unflushedMessages = 0;
      this.requestSync();
    }
    this.settleAckWaiters();
    if (this.onAppend !== null) this.onAppend(this);
  }

  /** Closes the active segment for appends and starts a new one at `baseOffset`. */
  private async rollSingleWriter(baseOffset: number): Promise<Segment> {
    const old = this.segments.last()!;
    old.onBecomeInactive();
    await old.persistIndexes(false);
    const seg = await Segment.create(this.dir, baseOffset);
    await fsyncDir(this.dir);
    this.segments.append(seg);
    this.stats.rolls++;
    this.logger.debug({ topic: this.topic, partition: this.partition, segment: baseOffset }, 'rolled a new log segment');
    // Flush the old segment (data + indexes) in the background: advances the recovery point.
    const flushing = this.flush().catch((err: unknown) => this.fail(err as Error));
    this.backgroundFlushes.add(flushing);
    void flushing.finally(() => this.backgroundFlushes.delete(flushing));
    return seg;
  }

  /** Group commit: one fdatasync round covers every write finished before it started. */
  private requestSync(): void {
    if (this.syncLoop !== null) {
      this.syncRequested = true;
      return;
    }
    this.syncLoop = this.runSyncLoop();
  }

  private async runSyncLoop(): Promise<void> {
    try {
      do {
        this.syncRequested = false;
        const target = this.endOffset;
        await this.syncDirtySegments();
        if (target > this.durableOffset) this.durableOffset = target;
        this.lastFlushMs = Date.now();
        this.settleAckWaiters();
      } while (this.syncRequested && this.failure === null);
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.syncLoop = null;
    }
  }

  /**
   * fdatasyncs every segment written since its last fdatasync. A segment whose fdatasync is
   * already in flight (started by the group commit or a flush) is waited for, not skipped.
   */
  private async syncDirtySegments(): Promise<void> {
    const segs = [...this.dirtySegments];
    const synced = await Promise.all(segs.map((s) => s.datasync()));
    for (const did of synced) if (did) this.stats.fsyncs++;
    const active = this.segments.last();
    for (const s of segs) if (s !== active && !s.dirty) this.dirtySegments.delete(s);
  }

  protected settleAckWaiters(): void {
    const waiters = this.ackWaiters;
    let i = 0;
    while (i < waiters.length) {
      const w = waiters[i]!;
      const reached = w.durable ? this.durableOffset : this.endOffset;
      if (w.throughOffset > reached) break;
      w.result.logStartOffset = this.startOffset;
      w.resolve(w.result);
      i++;
    }
    if (i > 0) this.ackWaiters = waiters.slice(i);
  }

  protected storageError(cause: Error): RillError {
    return rillError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition}: the log failed (${cause.message}) and refuses appends until reopened`, {
      topic: this.topic,
      partition: this.partition,
      cause,
    });
  }

  /** Puts the log in the failed state and rejects everything waiting. */
  protected fail(err: Error): void {
    if (this.failure === null) {
      this.failure = err;
      this.logger.error({ topic: this.topic, partition: this.partition, err }, 'log write failed; the partition refuses appends until reopened');
    }
    this.tail.clear();
    const e = this.storageError(this.failure);
    // The group being written is the writer loop's to answer, after its write returns (see
    // drainAppendQueueSingleWriter): its bytes are still in use until then.
    const pending = this.writerLoop === null ? [...this.writingGroup, ...this.appendQueue] : this.appendQueue;
    if (this.writerLoop === null) this.writingGroup = [];
    this.appendQueue = [];
    for (const p of pending) p.reject(e);
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const w of waiters) w.reject(e);
  }

  // ----------------------------------------------------------------------------------- flush

  /**
   * Full flush: fdatasync every segment written since the last one and write + fdatasync
   * pending index entries; advances the durable offset and the recovery point.
   */
  async flush(): Promise<void> {
    if (this.failure !== null) throw this.storageError(this.failure);
    const target = this.endOffset;
    const all = this.segments.toArray();
    let from = this.segments.floorIndex(this.recoveryPointOffset);
    if (from < 0) from = 0;
    try {
      await this.syncDirtySegments();
      await this.epochCache.persist();
      for (let i = from; i < all.length; i++) {
        const s = all[i]!;
        if (!s.isDeleted) await s.persistIndexes(true);
      }
    } catch (err) {
      this.fail(err as Error);
      throw this.storageError(err as Error);
    }
    if (target > this.durableOffset) this.durableOffset = target;
    if (target > this.recoveryPointOffset) this.recoveryPointOffset = target;
    this.lastFlushMs = Date.now();
    this.stats.flushes++;
    this.settleAckWaiters();
  }

  /** flush.ms: flushes when unflushed data is older than config.flushMs. */
  async flushIfDue(nowMs: number): Promise<boolean> {
    if (this.failure !== null || this.closed) return false;
    if (this.durableOffset >= this.endOffset) return false;
    if (nowMs - this.lastFlushMs < this.config.flushMs) return false;
    await this.flush();
    return true;
  }
}
