/**
 * rill's storage engine: partition logs of segment files with sparse indexes, retention,
 * compaction and crash recovery. No sockets; the broker builds on LogManager and PartitionLog.
 */
export { LogManager, type LogManagerOptions } from './log-manager.js';
export {
  PartitionLog,
  type AppendResult,
  type PartitionLogOpenOptions,
  type PartitionLogStats,
  type ProducerStateView,
  type ReadOptions,
  type ReadResult,
} from './partition-log.js';
export {
  DEFAULT_LOG_CONFIG,
  LOG_CONFIG_KEYS,
  isCompacted,
  isDeleteRetained,
  logConfigKey,
  logConfigToStrings,
  parseLogConfig,
  validateLogConfig,
  type CleanupPolicy,
  type LogConfig,
  type LogConfigKey,
  type TimestampType,
} from './log-config.js';
export { compactLog, type CleanerStats } from './cleaner.js';
export { segmentsToDelete, byStartOffset, bySize, byTime, type RetentionDecision } from './retention.js';
export { fsyncDir, writeFileAtomic, readOffsetCheckpoint, writeOffsetCheckpoint } from './checkpoint.js';
export {
  CLEAN_SHUTDOWN_FILE,
  HIGH_WATERMARK_CHECKPOINT_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  parsePartitionDirName,
  partitionDirName,
  segmentFilePath,
} from './log-file-names.js';
export { OffsetIndex, OFFSET_INDEX_ENTRY_BYTES } from './offset-index.js';
export { TimeIndex, TIME_INDEX_ENTRY_BYTES } from './time-index.js';
export { ProducerStateManager, PRODUCER_BATCH_CACHE_SIZE, incrementSequence } from './producer-state.js';
export {
  LeaderEpochCache,
  LEADER_EPOCH_CHECKPOINT_FILE,
  UNDEFINED_EPOCH,
  UNDEFINED_EPOCH_OFFSET,
  formatLeaderEpochCheckpoint,
  parseLeaderEpochCheckpoint,
  type EpochEndOffset,
  type EpochEntry,
} from './leader-epoch-cache.js';
