/**
 * OffsetsForLeaderEpoch (key 23, Kafka's KIP-101/KIP-279). A follower that becomes a follower
 * asks its leader where its last leader epoch ended, and truncates its log above the answer
 * before it fetches, so replicas never keep a divergent tail after a failover.
 *
 * For each partition: `leaderEpoch` is the epoch asked about; the answer is the largest epoch
 * <= it that the leader's log knows, with the offset where that epoch ended (the start of the
 * next epoch, or the leader's log end offset for its latest epoch). An epoch older than every
 * epoch the leader knows is answered leaderEpoch -1, endOffset -1. `currentLeaderEpoch` is the
 * asker's idea of the partition's current epoch (-1 = no check): older than the broker's gives
 * FENCED_LEADER_EPOCH, newer gives UNKNOWN_LEADER_EPOCH. `replicaId` is the asking broker's
 * node id (-1 for a client tool).
 *
 *   request:  { replicaId, topics: [{ name, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }] }
 *   response: { topics: [{ name, partitions: [{ partition, errorCode, errorMessage, leaderEpoch, endOffset }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Int32, Int64, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

export const OffsetsForLeaderEpochRequest = Type.Object({
  replicaId: Defaulted(Int32({ minimum: -1 }), -1),
  topics: Type.Array(
    Type.Object({
      name: TopicName(),
      partitions: Type.Array(
        Type.Object({ partition: PartitionIndex(), currentLeaderEpoch: Defaulted(Int32({ minimum: -1 }), -1), leaderEpoch: Int32({ minimum: 0 }) }),
        { maxItems: 100000 },
      ),
    }),
    { maxItems: 100000 },
  ),
});
export const OffsetsForLeaderEpochResponse = Type.Object({
  topics: Type.Array(
    Type.Object({
      name: Type.String(),
      partitions: Type.Array(
        Type.Object({ partition: PartitionIndex(), errorCode: ErrorCodeField(), errorMessage: NullableString(), leaderEpoch: Int32({ minimum: -1 }), endOffset: Int64() }),
      ),
    }),
  ),
});
export type OffsetsForLeaderEpochRequest = StaticRequest<typeof OffsetsForLeaderEpochRequest>;
export type OffsetsForLeaderEpochResponse = Static<typeof OffsetsForLeaderEpochResponse>;
