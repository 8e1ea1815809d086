/**
 * OffsetsForLeaderEpoch: where a leader epoch ended in this broker's log of the partition
 * (PartitionLog.endOffsetForEpoch, from the leader-epoch cache), so a follower can truncate a
 * divergent tail before fetching. `currentLeaderEpoch` (unless -1) is checked against the
 * partition's epoch as this broker has it (the log's leaderEpoch, which the replication layer
 * sets on becoming leader): older → FENCED_LEADER_EPOCH, newer → UNKNOWN_LEADER_EPOCH. Whether
 * this broker leads the partition is checked in a cluster (ClusterHandle.checkLeader:
 * NOT_LEADER_OR_FOLLOWER, and the epoch checks against the leader's state); a single broker
 * leads every partition it has.
 */
import type { OffsetsForLeaderEpochResponse } from '../../protocol/apis/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Handler } from '../context.js';

type PartitionOut = OffsetsForLeaderEpochResponse['topics'][number]['partitions'][number];

function failedPartition(partition: number, errorCode: number, errorMessage: string): PartitionOut {
  return { partition, errorCode, errorMessage, leaderEpoch: -1, endOffset: -1 };
}

export const offsetsForLeaderEpochHandler: Handler<'OffsetsForLeaderEpoch'> = (ctx, req) => {
  const topics: OffsetsForLeaderEpochResponse['topics'] = [];
  for (const t of req.topics) {
    const partitions: PartitionOut[] = [];
    for (const p of t.partitions) {
      // In a cluster only the leader answers where an epoch ended (a follower asks it).
      const refused = ctx.cluster === null ? null : ctx.cluster.checkLeader(t.name, p.partition, p.currentLeaderEpoch);
      const log = refused !== null ? undefined : ctx.cluster === null ? ctx.topics.partitionLog(t.name, p.partition) : ctx.cluster.localLog(t.name, p.partition);
      if (log === undefined) {
        const e = refused ?? ctx.topics.noSuchPartition(t.name, p.partition);
        partitions.push(failedPartition(p.partition, e.code, e.message));
        continue;
      }
      const epoch = log.leaderEpoch;
      if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < epoch) {
        partitions.push(failedPartition(p.partition, ErrorCode.FENCED_LEADER_EPOCH, `${t.name}-${p.partition}: leader epoch ${p.currentLeaderEpoch} is older than the current ${epoch}`));
        continue;
      }
      if (p.currentLeaderEpoch > epoch) {
        partitions.push(failedPartition(p.partition, ErrorCode.UNKNOWN_LEADER_EPOCH, `${t.name}-${p.partition}: leader epoch ${p.currentLeaderEpoch} is newer than the current ${epoch}`));
        continue;
      }
      const end = log.endOffsetForEpoch(p.leaderEpoch);
      partitions.push({ partition: p.partition, errorCode: 0, errorMessage: null, leaderEpoch: end.epoch, endOffset: end.endOffset });
    }
    topics.push({ name: t.name, partitions });
  }
  return Promise.resolve({ topics });
};
