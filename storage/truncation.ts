/**
 * Cutting the tail of a partition log (a follower removing the batches its leader does not
 * have, KIP-101/279). PartitionLog.truncateTo orders the steps:
 *
 *   1. the leader-epoch cache drops the epochs starting at or past the cut, and its checkpoint
 *      is rewritten;
 *   2. segments wholly past the cut are renamed `.deleted` (a crash finishes the delete on open);
 *   3. the segment holding the cut is ftruncated + fdatasynced at a batch boundary and its
 *      indexes are rebuilt from its batch headers;
 *   4. producer state is replayed from the remaining batch headers.
 *
 * Crash safety: when truncateTo returns, the cut is on disk (renames fsynced with the directory,
 * the cut segment fdatasynced). A crash between the steps leaves a prefix of the old log plus
 * part of its tail; opening the log rebuilds the epoch cache from the batches themselves, so the
 * leftover tail still carries its old epochs, and the follower's next OffsetsForLeaderEpoch
 * finds and cuts it again. Every step is idempotent.
 */
import { fsyncDir } from './checkpoint.js';
import type { ProducerStateManager } from './producer-state.js';
import { scanSegment } from './recovery.js';
import type { Segment } from './segment.js';

/**
 * Cuts `seg` before the first batch whose last offset is >= `offset` (so a cut inside a batch
 * drops the whole batch), rebuilds its in-memory state and indexes, and returns its new next
 * offset.
 */
export async function cutSegmentAt(seg: Segment, offset: number, indexIntervalBytes: number): Promise<number> {
  const found = await seg.locateBatch(offset, seg.sizeBytes);
  if (found !== null) await seg.truncateTo(found.position);
  seg.resetForRescanSingleWriter();
  const scan = await scanSegment(seg, 'headers', seg.baseOffset, (b) => {
    seg.observeBatchSingleWriter(b, indexIntervalBytes, b.maxTimestamp >= 0 ? b.maxTimestamp : Date.now());
  });
  if (scan.problem !== null) throw new Error(`${seg.logPath}: ${scan.problem} after truncation`);
  await seg.persistIndexes(true);
  return seg.nextOffset;
}

/** Marks the removed segments deleted (renamed now, unlinked once no reader holds them). */
export async function deleteRemovedSegments(dir: string, removed: readonly Segment[]): Promise<void> {
  for (const s of removed) await s.markDeleted();
  if (removed.length > 0) await fsyncDir(dir);
}

/** Producer state replayed from every batch header of `segments` (in order). */
export async function replayProducers(segments: readonly Segment[], producers: ProducerStateManager): Promise<void> {
  producers.clear();
  for (const seg of segments) {
    seg.retain();
    try {
      const scan = await scanSegment(seg, 'headers', seg.baseOffset, (b) => producers.replayBatch(b, b.baseOffset, b.maxTimestamp));
      if (scan.problem !== null) throw new Error(`${seg.logPath}: ${scan.problem} while replaying producer state`);
    } finally {
      seg.release();
    }
  }
}
