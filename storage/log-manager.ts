/**
 * All partition logs of one data directory: opening (and recovering) them, creating and
 * deleting them, the background schedules (retention, compaction, flush.ms, checkpoints) and
 * the data-dir-level files.
 *
 *   <dataDir>/.rill-clean-shutdown             empty file; written (and the dir fsynced) by
 *                                             close() after every log flushed, removed by open().
 *                                             Present at open = no recovery scan needed.
 *   <dataDir>/recovery-point-offset-checkpoint see checkpoint.ts; written every
 *   <dataDir>/log-start-offset-checkpoint      checkpointIntervalMs, after retention moved a log
 *                                             start, and at close.
 *
 * A partition directory `<topic>-<partition>` is split at its LAST '-'. A directory named
 * `*.deleted` is a partition whose delete was interrupted: removed on open.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { rillError } from '../protocol/errors.js';
import {
  CheckpointFormatError,
  fsyncDir,
  readOffsetCheckpoint,
  tpKey,
  unlinkIfExists,
  writeFileAtomic,
  writeOffsetCheckpoint,
  type TopicPartitionKey,
} from './checkpoint.js';
import { compactLog } from './cleaner.js';
import { DEFAULT_LOG_CONFIG, isCompacted, validateLogConfig, type LogConfig } from './log-config.js';
import {
  CLEAN_SHUTDOWN_FILE,
  DELETED_SUFFIX,
  HIGH_WATERMARK_CHECKPOINT_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  isStorableTopicName,
  parsePartitionDirName,
  partitionDirName,
} from './log-file-names.js';
import { PartitionLog } from './partition-log.js';
import { DEFAULT_PRODUCER_ID_EXPIRATION_MS } from './producer-state.js';

export interface LogManagerOptions {
  dataDir: string;
  /** Config of partitions whose topic `configFor` does not know; default: Kafka's defaults. */
  defaultConfig?: LogConfig;
  /** Per-topic config (the broker passes its topic registry); default: defaultConfig. */
  configFor?: (topic: string) => LogConfig;
  logger?: Logger;
  /** How often retention runs (Kafka's log.retention.check.interval.ms). Default 300000. */
  retentionCheckIntervalMs?: number;
  /** How often compaction runs over compacted topics. Default 15000. */
  cleanerIntervalMs?: number;
  /** How often flush.ms is checked (Kafka's log.flush.scheduler.interval.ms). Default 1000. */
  flushCheckIntervalMs?: number;
  /** How often the recovery-point and log-start checkpoints are written (log.flush.offset.checkpoint.interval.ms). Default 60000. */
  checkpointIntervalMs?: number;
  /**
   * How often the checkpoints are written while some partition's high watermark is managed by
   * replication (replica.high.watermark.checkpoint.interval.ms). Default 5000; a single broker
   * writes nothing on this schedule.
   */
  highWatermarkCheckpointIntervalMs?: number;
  /** Idempotent producers silent for this long are forgotten at each retention run. Default 1 day. */
  producerIdExpirationMs?: number;
}

const silentLogger = pino({ level: 'silent' });

export class LogManager {
  readonly dataDir: string;
  readonly defaultConfig: LogConfig;
  /** Whether the previous close() completed (no recovery scan was needed at open). */
  readonly hadCleanShutdown: boolean;
  private readonly configFor: (topic: string) => LogConfig;
  private readonly logger: Logger;
  private readonly logs = new Map<string, PartitionLog>();
  private readonly creating = new Map<string, Promise<PartitionLog>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly producerIdExpirationMs: number;
  private checkpointChain: Promise<void> = Promise.resolve();
  private checkpointScheduled = false;
  private readonly running = new Map<string, Promise<void>>();
  private closed = false;
  private wroteHighWatermarks = false;

  private constructor(opts: LogManagerOptions, hadCleanShutdown: boolean) {
    this.dataDir = opts.dataDir;
    this.defaultConfig = validateLogConfig({ ...(opts.defaultConfig ?? DEFAULT_LOG_CONFIG) });
    this.configFor = opts.configFor ?? ((): LogConfig => this.defaultConfig);
    this.logger = opts.logger ?? silentLogger;
    this.hadCleanShutdown = hadCleanShutdown;
    this.producerIdExpirationMs = opts.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
  }

  /**
   * Opens every partition directory under dataDir, recovering them when the last shutdown was
   * not clean, and starts the schedules (unref'd timers).
   */
  static async open(opts: LogManagerOptions): Promise<LogManager> {
    const dataDir = opts.dataDir;
    await mkdir(dataDir, { recursive: true });
    const markerPath = join(dataDir, CLEAN_SHUTDOWN_FILE);
    const clean = await unlinkIfExists(markerPath);
    if (clean) await fsyncDir(dataDir);
    const mgr = new LogManager(opts, clean);
    const logger = mgr.logger;
    const recoveryPoints = await mgr.readCheckpoint(RECOVERY_POINT_CHECKPOINT_FILE);
    const logStarts = await mgr.readCheckpoint(LOG_START_OFFSET_CHECKPOINT_FILE);
    const highWatermarks = await mgr.readCheckpoint(HIGH_WATERMARK_CHECKPOINT_FILE);
    mgr.wroteHighWatermarks = highWatermarks.size > 0;
    const entries = await readdir(dataDir, { withFileTypes: true });
    // A brand-new data dir has no marker either; only warn when there are logs to recover.
    const hasLogs = entries.some((e) => e.isDirectory() && parsePartitionDirName(e.name) !== undefined);
    if (!clean && hasLogs) logger.warn({ dataDir }, 'no clean-shutdown marker: recovering logs past their recovery points');

    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(dataDir, entry.name);
      if (entry.name.endsWith(DELETED_SUFFIX)) {
        await rm(path, { recursive: true, force: true });
        logger.info({ dir: path }, 'removed a partition directory whose delete was interrupted');
        continue;
      }
      const tp = parsePartitionDirName(entry.name);
      if (tp === undefined) continue;
      const key = tpKey(tp.topic, tp.partition);
      let log: PartitionLog;
      try {
        log = await PartitionLog.open({
          topic: tp.topic,
          partition: tp.partition,
          dir: path,
          config: mgr.configFor(tp.topic),
          logger,
          recoveryPoint: clean ? null : recoveryPoints.get(key) ?? 0,
          ...(logStarts.has(key) ? { logStartOffset: logStarts.get(key)! } : {}),
          ...(highWatermarks.has(key) ? { highWatermark: highWatermarks.get(key)! } : {}),
        });
      } catch (err) {
        // A data dir whose logs cannot all be opened is not served at all: close what opened.
        logger.error({ err, topic: tp.topic, partition: tp.partition, dir: path }, 'cannot open partition log');
        for (const opened of mgr.logs.values()) await opened.close({ flush: false });
        throw err;
      }
      mgr.adopt(log);
    }
    await mgr.writeCheckpoints();
    mgr.startSchedules(opts);
    logger.info({ dataDir, partitions: mgr.logs.size, cleanShutdown: clean }, 'logs opened');
    return mgr;
  }

  private async readCheckpoint(name: string): Promise<Map<TopicPartitionKey, number>> {
    const path = join(this.dataDir, name);
    try {
      return await readOffsetCheckpoint(path);
    } catch (err) {
      if (!(err instanceof CheckpointFormatError)) throw err;
      this.logger.warn({ path, err: err.message }, 'ignoring a malformed checkpoint file');
      return new Map();
    }
  }

  private adopt(log: PartitionLog): void {
    log.onLogStartOffsetChange = () => this.scheduleCheckpoint();
    this.logs.set(tpKey(log.topic, log.partition), log);
  }

  private startSchedules(opts: LogManagerOptions): void {
    const every = (name: string, ms: number, task: () => Promise<void>): void => {
      const timer = setInterval(() => {
        if (this.closed || this.running.has(name)) return;
        const run = task()
          .catch((err: unknown) => this.logger.error({ err, task: name }, 'storage background task failed'))
          .finally(() => this.running.delete(name));
        this.running.set(name, run);
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every('retention', opts.retentionCheckIntervalMs ?? 300_000, () => this.runRetention());
    every('compaction', opts.cleanerIntervalMs ?? 15_000, () => this.runCompaction());
    every('flush', opts.flushCheckIntervalMs ?? 1_000, () => this.flushDue());
    every('checkpoint', opts.checkpointIntervalMs ?? 60_000, () => this.writeCheckpoints());
    every('high-watermark-checkpoint', opts.highWatermarkCheckpointIntervalMs ?? 5_000, async () => {
      for (const log of this.logs.values()) {
        if (log.isHighWatermarkManaged) return this.writeCheckpoints();
      }
    });
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(tpKey(topic, partition));
  }

  all(): IterableIterator<PartitionLog> {
    return this.logs.values();
  }

  /** Creates the partition's directory and log; returns the existing log if there is one. */
  async create(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    if (this.closed) throw rillError('KAFKA_STORAGE_ERROR', 'The log manager is closed');
    if (!isStorableTopicName(topic)) throw rillError('INVALID_TOPIC_EXCEPTION', `Topic name '${topic}' cannot be stored`);
    if (!Number.isInteger(partition) || partition < 0 || partition > 2 ** 31 - 1) throw rillError('INVALID_PARTITIONS', `Partition ${partition} is invalid`);
    const key = tpKey(topic, partition);
    const existing = this.logs.get(key);
    if (existing !== undefined) return existing;
    const pending = this.creating.get(key);
    if (pending !== undefined) return pending;
    const creation = (async (): Promise<PartitionLog> => {
      const dir = join(this.dataDir, partitionDirName(topic, partition));
      await mkdir(dir, { recursive: true });
      await fsyncDir(this.dataDir);
      // A fresh directory holds nothing to recover; an existing one (re-created after an
      // interrupted delete) is verified whole.
      const log = await PartitionLog.open({ topic, partition, dir, config, logger: this.logger, recoveryPoint: 0 });
      this.adopt(log);
      return log;
    })();
    this.creating.set(key, creation);
    try {
      return await creation;
    } finally {
      this.creating.delete(key);
    }
  }

  /**
   * Closes the log without flushing, renames its directory to `<dir>.deleted` (so a crash
   * finishes the delete on the next open) and removes it.
   */
  async delete(topic: string, partition: number): Promise<void> {
    const key = tpKey(topic, partition);
    const log = this.logs.get(key);
    if (log === undefined) return;
    this.logs.delete(key);
    await log.close({ flush: false });
    const deletedDir = log.dir + DELETED_SUFFIX;
    await rm(deletedDir, { recursive: true, force: true });
    await rename(log.dir, deletedDir);
    await fsyncDir(this.dataDir);
    await rm(deletedDir, { recursive: true, force: true });
    this.logger.info({ topic, partition }, 'deleted partition log');
    this.scheduleCheckpoint();
  }

  /**
   * Closes a failed (or any) log and opens it again with a recovery scan from its recovery
   * point: how a partition leaves the failed state.
   */
  async reopen(topic: string, partition: number): Promise<PartitionLog> {
    const key = tpKey(topic, partition);
    const old = this.logs.get(key);
    if (old === undefined) throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `${topic}-${partition} has no log`);
    this.logs.delete(key);
    const recoveryPoint = old.recoveryPoint;
    const logStartOffset = old.logStartOffset;
    const onAppend = old.onAppend;
    await old.close({ flush: !old.isFailed });
    const log = await PartitionLog.open({ topic, partition, dir: old.dir, config: old.config, logger: this.logger, recoveryPoint: old.isFailed ? recoveryPoint : null, logStartOffset, leaderEpoch: old.leaderEpoch });
    log.onAppend = onAppend;
    this.adopt(log);
    return log;
  }

  /** Retention over every log (and producer-id expiry). */
  async runRetention(nowMs: number = Date.now()): Promise<void> {
    for (const log of [...this.logs.values()]) {
      if (log.isClosed) continue;
      try {
        await log.applyRetention(nowMs);
        log.expireProducers(nowMs, this.producerIdExpirationMs);
      } catch (err) {
        this.logger.error({ err, topic: log.topic, partition: log.partition }, 'retention failed');
      }
    }
  }

  /** One compaction pass over every log whose cleanup.policy includes compact. */
  async runCompaction(nowMs: number = Date.now()): Promise<void> {
    for (const log of [...this.logs.values()]) {
      if (log.isClosed || !isCompacted(log.config)) continue;
      try {
        await compactLog(log, nowMs, this.logger);
      } catch (err) {
        this.logger.error({ err, topic: log.topic, partition: log.partition }, 'compaction failed');
      }
    }
  }

  /** flush.ms over every log. */
  async flushDue(nowMs: number = Date.now()): Promise<void> {
    for (const log of [...this.logs.values()]) {
      try {
        await log.flushIfDue(nowMs);
      } catch (err) {
        this.logger.error({ err, topic: log.topic, partition: log.partition }, 'scheduled flush failed');
      }
    }
  }

  /**
   * Writes the checkpoint files from the logs' current recovery points, start offsets and
   * (for logs whose high watermark replication manages) high watermarks.
   */
  writeCheckpoints(): Promise<void> {
    const run = this.checkpointChain.then(() => this.writeCheckpointFiles());
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  private async writeCheckpointFiles(): Promise<void> {
    const recovery = new Map<TopicPartitionKey, number>();
    const starts = new Map<TopicPartitionKey, number>();
    const highWatermarks = new Map<TopicPartitionKey, number>();
    for (const log of this.logs.values()) {
      const key = tpKey(log.topic, log.partition);
      recovery.set(key, log.recoveryPoint);
      starts.set(key, log.logStartOffset);
      if (log.isHighWatermarkManaged) highWatermarks.set(key, log.highWatermark);
    }
    await writeOffsetCheckpoint(join(this.dataDir, RECOVERY_POINT_CHECKPOINT_FILE), recovery);
    await writeOffsetCheckpoint(join(this.dataDir, LOG_START_OFFSET_CHECKPOINT_FILE), starts);
    // Only once replication manages a high watermark: a single broker's data dir stays as it was.
    if (highWatermarks.size > 0 || this.wroteHighWatermarks) {
      await writeOffsetCheckpoint(join(this.dataDir, HIGH_WATERMARK_CHECKPOINT_FILE), highWatermarks);
      this.wroteHighWatermarks = true;
    }
  }

  private scheduleCheckpoint(): void {
    if (this.checkpointScheduled || this.closed) return;
    this.checkpointScheduled = true;
    setImmediate(() => {
      this.checkpointScheduled = false;
      if (this.closed) return;
      this.writeCheckpoints().catch((err: unknown) => this.logger.error({ err }, 'writing checkpoints failed'));
    });
  }

  /**
   * Stops the schedules, waits for running tasks, flushes and closes every log, writes the
   * checkpoints and, when every log closed cleanly, the clean-shutdown marker.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.running.values());
    let allClean = true;
    for (const log of this.logs.values()) {
      try {
        if (log.isFailed) allClean = false;
        await log.close();
      } catch (err) {
        allClean = false;
        this.logger.error({ err, topic: log.topic, partition: log.partition }, 'closing a log failed');
      }
    }
    await this.checkpointChain;
    await this.writeCheckpointFiles();
    if (allClean) await writeFileAtomic(join(this.dataDir, CLEAN_SHUTDOWN_FILE), '');
    this.logger.info({ dataDir: this.dataDir, partitions: this.logs.size, clean: allClean }, 'logs closed');
  }

  /** Total bytes of every log (for metrics). */
  get sizeBytes(): number {
    let sum = 0;
    for (const log of this.logs.values()) sum += log.sizeBytes;
    return sum;
  }
}
