/**
 * Kafka OffsetFetch (key 9) v0-8: committed offsets from `__consumer_offsets` (shared with
 * rill's OffsetFetch and the KIP-848 groups). v0-7 ask for one group (topics null from v2 =
 * every committed partition); v8 for several, each with its own error. A partition without a
 * commit answers offset -1 with empty metadata, as Kafka does. requireStable (v7+) needs no
 * wait: rill has no transactions, so no commit is ever pending.
 */
import type { KafkaRequestBody, KafkaResponseInput, OFFSET_FETCH } from '../../../protocol/kafka/index.js';
import type { BrokerContext } from '../../context.js';
import { coordinatorOf } from '../../groups/index.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf } from './group-support.js';

type TopicsRequest = Array<{ name: string; partitionIndexes: number[] }> | null;
type FetchedTopic = {
  name: string;
  partitions: Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; metadata: string; errorCode: number }>;
};

function fetchGroup(ctx: BrokerContext, groupId: string, topics: TopicsRequest): { errorCode: number; topics: FetchedTopic[] } {
  try {
    const res = coordinatorOf(ctx).fetchOffsets({ groupId, topics: topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes })) });
    return {
      errorCode: res.errorCode,
      topics: res.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, committedOffset: p.committedOffset, committedLeaderEpoch: -1, metadata: p.metadata ?? '', errorCode: p.errorCode })),
      })),
    };
  } catch (err) {
    const errorCode = errorCodeOf(ctx, err, 'OffsetFetch');
    // v0-1 have no group-level error: the partitions asked for carry it.
    const failed = (topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode })),
    }));
    return { errorCode, topics: failed };
  }
}

export const offsetFetchHandler: KafkaHandler = (ctx, req, info) => {
  const body = req as KafkaRequestBody<typeof OFFSET_FETCH>;
  if (info.apiVersion >= 8) {
    return {
      throttleTimeMs: 0,
      groups: body.groups.map((g) => ({ groupId: g.groupId, ...fetchGroup(ctx, g.groupId, g.topics) })),
    } satisfies KafkaResponseInput<typeof OFFSET_FETCH>;
  }
  const { errorCode, topics } = fetchGroup(ctx, body.groupId, body.topics);
  return { throttleTimeMs: 0, errorCode, topics } satisfies KafkaResponseInput<typeof OFFSET_FETCH>;
};
