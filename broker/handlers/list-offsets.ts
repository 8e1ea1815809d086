/**
 * ListOffsets: timestamp -2 → the log start offset, -1 → the high watermark (the end a
 * consumer can read to), both with timestamp -1; otherwise the first offset whose record
 * timestamp is >= it, with that record's timestamp (offset -1, timestamp -1 when every record
 * is older). In a cluster only the partition's leader answers (NOT_LEADER_OR_FOLLOWER elsewhere;
 * `currentLeaderEpoch` is checked as Fetch checks it). A partition error carries its reason in `errorMessage`.
 */
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type ListOffsetsResponse } from '../../protocol/apis/index.js';
import type { Handler } from '../context.js';
import { classifyError } from '../error-codes.js';
import { answerLeaderPartitions } from './leader-partitions.js';

type PartitionOut = ListOffsetsResponse['topics'][number]['partitions'][number];

function failedPartition(partition: number, errorCode: number, errorMessage: string): PartitionOut {
  return { partition, errorCode, errorMessage, timestamp: -1, offset: -1 };
}

export const listOffsetsHandler: Handler<'ListOffsets'> = async (ctx, req) => {
  // In a cluster only the leader answers (its high watermark is the latest offset).
  const topics = await answerLeaderPartitions(ctx, req.topics, failedPartition, async (log, topic, p): Promise<PartitionOut> => {
    try {
      if (p.timestamp === EARLIEST_TIMESTAMP) return { partition: p.partition, errorCode: 0, errorMessage: null, timestamp: -1, offset: log.logStartOffset };
      if (p.timestamp === LATEST_TIMESTAMP) return { partition: p.partition, errorCode: 0, errorMessage: null, timestamp: -1, offset: log.highWatermark };
      const hit = await log.offsetForTimestamp(p.timestamp);
      return { partition: p.partition, errorCode: 0, errorMessage: null, timestamp: hit?.timestamp ?? -1, offset: hit?.offset ?? -1 };
    } catch (err) {
      const e = classifyError(err);
      if (e.level !== null) ctx.logger[e.level]({ err, topic, partition: p.partition }, 'list offsets failed');
      return failedPartition(p.partition, e.code, e.message);
    }
  });
  return { topics };
};
