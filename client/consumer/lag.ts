/**
 * Consumer lag per assigned partition: the last fetch's high watermark minus the position of
 * the next message to deliver (-1 when either is not known yet). `lag()` and the periodic
 * 'lag' event (every lagIntervalMs, only while someone listens) both report it.
 */
import type { PartitionLag } from '../types.js';
import type { PartitionState } from './partition-state.js';

export function partitionLags(partitions: Iterable<PartitionState>, positionOf: (st: PartitionState) => number | null): PartitionLag[] {
  const out: PartitionLag[] = [];
  for (const st of partitions) {
    if (st.revoking) continue;
    const position = positionOf(st) ?? -1;
    const hw = st.highWatermark;
    out.push({ topic: st.topic, partition: st.partition, position, highWatermark: hw, lag: hw < 0 || position < 0 ? -1 : Math.max(0, hw - position) });
  }
  return out;
}
