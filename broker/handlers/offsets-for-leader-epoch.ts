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
import { answerLeaderPartitions } from './leader-partitions.js';

type PartitionOut = OffsetsForLeaderEpochResponse['topics'][number]['partitions'][number];

function failedPartition(partition: number, errorCode: number, errorMessage: string): PartitionOut {
  return { partition, errorCode, errorMessage, leaderEpoch: -1, endOffset: -1 };
}

export const offsetsForLeaderEpochHandler: Handler<'OffsetsForLeaderEpoch'> = async (ctx, req) => {
  // In a cluster only the leader answers where an epoch ended (a follower asks it).
  const topics = await answerLeaderPartitions(ctx, req.topics, failedPartition, (log, topic, p): PartitionOut => {
    const epoch = log.leaderEpoch;
    if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < epoch) {
      return failedPartition(p.partition, ErrorCode.FENCED_LEADER_EPOCH, `${topic}-${p.partition}: leader epoch ${p.currentLeaderEpoch} is older than the current ${epoch}`);
    }
    if (p.currentLeaderEpoch > epoch) {
      return failedPartition(p.partition, ErrorCode.UNKNOWN_LEADER_EPOCH, `${topic}-${p.partition}: leader epoch ${p.currentLeaderEpoch} is newer than the current ${epoch}`);
    }
    const end = log.endOffsetForEpoch(p.leaderEpoch);
    return { partition: p.partition, errorCode: 0, errorMessage: null, leaderEpoch: end.epoch, endOffset: end.endOffset };
  });
  return { topics };
};
