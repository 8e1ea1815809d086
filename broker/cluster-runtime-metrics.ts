/**
 * The cluster's /metrics figures (metrics.ts, ClusterMetricsSnapshot) computed at scrape time
 * from the runtime's partition states and view: nothing on the produce or fetch path counts.
 */
import type { ClusterMetricsSnapshot, FollowerLag } from './metrics.js';
import type { PartitionState } from './replication/partition-state.js';

/** Under-replicated partitions and per-follower lag over the partitions this broker leads. */
export function leaderMetrics(
  nodeId: number,
  states: Iterable<PartitionState>,
  cluster: { offline: number; active: boolean; shrinks: number; expands: number },
): ClusterMetricsSnapshot {
  let under = 0;
  const followerLag: FollowerLag[] = [];
  for (const state of states) {
    if (state.role !== 'leader') continue;
    if (state.isr.length < state.replicas.length) under++;
    const end = state.log.logEndOffset;
    for (const replica of state.replicas) {
      if (replica === nodeId) continue;
      const f = state.follower(replica);
      // A follower that has not fetched yet lags by the whole log.
      followerLag.push({ topic: state.topic, partition: state.partition, replica, lagMessages: f === undefined || f.logEndOffset < 0 ? end : Math.max(0, end - f.logEndOffset) });
    }
  }
  return { underReplicatedPartitions: under, offlinePartitions: cluster.offline, activeController: cluster.active, isrShrinks: cluster.shrinks, isrExpands: cluster.expands, followerLag };
}

/** Partitions with no live leader (Kafka's OfflinePartitionsCount; the controller reports it). */
export function countOfflinePartitions(topics: Iterable<string>, partitionsOf: (topic: string) => number, leaderOf: (topic: string, partition: number) => number): number {
  let offline = 0;
  for (const topic of topics) {
    const n = partitionsOf(topic);
    for (let p = 0; p < n; p++) if (leaderOf(topic, p) < 0) offline++;
  }
  return offline;
}
