/**
 * Names of everything storage puts on disk.
 *
 *   <dataDir>/
 *     .rill-clean-shutdown              marker: present only between a clean close and the next open
 *     recovery-point-offset-checkpoint  per partition: offsets below are flushed (log + indexes)
 *     log-start-offset-checkpoint       per partition: the first readable offset
 *     <topic>-<partition>/              one directory per partition (topic may contain '-' and '.';
 *                                       the partition number follows the LAST '-')
 *       00000000000000000000.log        segment data: record batches, named by base offset,
 *       00000000000000000000.index      20 digits so that `ls` sorts numerically
 *       00000000000000000000.timeindex
 *       <name>.cleaned / <name>.swap    compaction output before / after its commit point
 *       <name>.deleted                  a segment file waiting for its last reader to finish
 *     <topic>-<partition>.deleted/      a partition being deleted (removed on the next open)
 */
import { join } from 'node:path';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
export const DELETED_SUFFIX = '.deleted';
export const TEMP_SUFFIX = '.tmp';

export const CLEAN_SHUTDOWN_FILE = '.rill-clean-shutdown';
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
/**
 * Kafka's replication-offset-checkpoint: the high watermark of every partition whose high
 * watermark replication manages (one file per data dir, the offset-checkpoint format). A
 * partition absent from it is a single broker's: its high watermark follows its log end.
 */
export const HIGH_WATERMARK_CHECKPOINT_FILE = 'replication-offset-checkpoint';

/** Width of a segment file's base-offset name (Long.MAX_VALUE has 19 digits; Kafka uses 20). */
export const OFFSET_NAME_DIGITS = 20;

export type SegmentFileKind = 'log' | 'index' | 'timeindex';

const SUFFIX_OF: Record<SegmentFileKind, string> = { log: LOG_SUFFIX, index: INDEX_SUFFIX, timeindex: TIME_INDEX_SUFFIX };

export function offsetFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(OFFSET_NAME_DIGITS, '0');
}

/** `<dir>/<20-digit base offset>.<kind>[extra]`, e.g. extra = '.swap'. */
export function segmentFilePath(dir: string, baseOffset: number, kind: SegmentFileKind, extra = ''): string {
  return join(dir, offsetFileStem(baseOffset) + SUFFIX_OF[kind] + extra);
}

export interface ParsedSegmentFileName {
  baseOffset: number;
  kind: SegmentFileKind;
  /** '' for a live file, or one of CLEANED_SUFFIX, SWAP_SUFFIX, DELETED_SUFFIX, TEMP_SUFFIX. */
  extra: string;
}

const SEGMENT_FILE_RE = /^(\d{20})\.(log|index|timeindex)(\.cleaned|\.swap|\.deleted|\.tmp)?$/;

/** Parses a segment file name; undefined for anything else. */
export function parseSegmentFileName(name: string): ParsedSegmentFileName | undefined {
  const m = SEGMENT_FILE_RE.exec(name);
  if (m === null) return undefined;
  const baseOffset = Number(m[1]);
  if (!Number.isSafeInteger(baseOffset)) return undefined;
  return { baseOffset, kind: m[2] as SegmentFileKind, extra: m[3] ?? '' };
}

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * Splits `<topic>-<partition>` at the LAST '-' (topic names may contain '-' and '.').
 * Undefined for names that are not partition directories (no '-', a non-numeric partition,
 * an empty topic, or a `.deleted` directory).
 */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | undefined {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const digits = name.slice(dash + 1);
  if (!/^\d{1,10}$/.test(digits)) return undefined;
  const partition = Number(digits);
  if (partition > 2 ** 31 - 1) return undefined;
  return { topic: name.slice(0, dash), partition };
}

/** Topic names storage can hold as a directory name (the broker applies Kafka's stricter rules). */
export function isStorableTopicName(topic: string): boolean {
  return topic.length > 0 && topic.length <= 249 && topic !== '.' && topic !== '..' && !/[/\\\0\s]/.test(topic);
}
