/**
 * Which closed segments retention may delete: three predicates, each walked over the segments
 * oldest first while it holds (Kafka's UnifiedLog.deleteOldSegments). Only whole segments are
 * deleted, never the active (last) one; deletable segments always form a prefix.
 *
 *   byStartOffset  every offset of the segment is below the log start offset
 *                  (i.e. the next segment starts at or below it)
 *   byTime         retention.ms >= 0 and now - (the segment's largest timestamp) > retention.ms
 *   bySize         retention.bytes >= 0 and the log minus this segment is still >= retention.bytes
 *
 * byTime and bySize apply only when cleanup.policy includes 'delete'.
 */
import { isDeleteRetained, type LogConfig } from './log-config.js';

export interface RetainedSegment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  /** The records' largest timestamp (or the file's mtime when they have none). */
  readonly largestTimestampMs: number;
}

export type RetentionReason = 'log-start-offset' | 'retention.ms' | 'retention.bytes';

export interface RetentionDecision {
  /** How many of the oldest segments to delete. */
  count: number;
  reason: RetentionReason;
}

/** Oldest segments (a prefix, excluding the last) for which `pred` holds. */
function prefixWhile(segments: readonly RetainedSegment[], pred: (s: RetainedSegment, i: number) => boolean): number {
  let n = 0;
  while (n < segments.length - 1 && pred(segments[n]!, n)) n++;
  return n;
}

export function byStartOffset(segments: readonly RetainedSegment[], logStartOffset: number): number {
  return prefixWhile(segments, (_s, i) => segments[i + 1]!.baseOffset <= logStartOffset);
}

export function byTime(segments: readonly RetainedSegment[], retentionMs: number, nowMs: number): number {
  if (retentionMs < 0) return 0;
  return prefixWhile(segments, (s) => nowMs - s.largestTimestampMs > retentionMs);
}

export function bySize(segments: readonly RetainedSegment[], retentionBytes: number): number {
  if (retentionBytes < 0) return 0;
  let total = 0;
  for (const s of segments) total += s.sizeBytes;
  let excess = total - retentionBytes;
  return prefixWhile(segments, (s) => {
    if (excess - s.sizeBytes < 0) return false;
    excess -= s.sizeBytes;
    return true;
  });
}

/** The largest prefix any predicate allows, with the predicate that allowed it. */
export function segmentsToDelete(segments: readonly RetainedSegment[], cfg: LogConfig, nowMs: number, logStartOffset: number): RetentionDecision {
  let decision: RetentionDecision = { count: byStartOffset(segments, logStartOffset), reason: 'log-start-offset' };
  if (isDeleteRetained(cfg)) {
    const t = byTime(segments, cfg.retentionMs, nowMs);
    if (t > decision.count) decision = { count: t, reason: 'retention.ms' };
    const b = bySize(segments, cfg.retentionBytes);
    if (b > decision.count) decision = { count: b, reason: 'retention.bytes' };
  }
  return decision;
}
