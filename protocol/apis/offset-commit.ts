/**
 * OffsetCommit (key 8). A group member commits with its memberId and memberEpoch; a commit
 * from a fenced (expelled or stale) member is refused with FENCED_MEMBER_EPOCH /
 * STALE_MEMBER_EPOCH / UNKNOWN_MEMBER_ID. memberId '' with memberEpoch -1 is a "simple"
 * commit, accepted only while the group has no live members (as Kafka).
 *
 *   request:  { groupId, memberId, memberEpoch, topics: [{ name, partitions: [{ partition, committedOffset, committedMetadata }] }] }
 *   response: { topics: [{ name, partitions: [{ partition, errorCode }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, GroupId, Int32, Int64, NullableString, PartitionIndex, TopicName } from './common.js';

export const OffsetCommitRequest = Type.Object({
  groupId: GroupId(),
  memberId: Type.String({ maxLength: 255 }),
  memberEpoch: Int32({ minimum: -1 }),
  topics: Type.Array(
    Type.Object({
      name: TopicName(),
      partitions: Type.Array(
        Type.Object({ partition: PartitionIndex(), committedOffset: Int64({ minimum: 0 }), committedMetadata: NullableString() }),
        { maxItems: 100000 },
      ),
    }),
    { maxItems: 100000 },
  ),
});
export const OffsetCommitResponse = Type.Object({
  topics: Type.Array(Type.Object({ name: Type.String(), partitions: Type.Array(Type.Object({ partition: PartitionIndex(), errorCode: ErrorCodeField() })) })),
});
export type OffsetCommitRequest = Static<typeof OffsetCommitRequest>;
export type OffsetCommitResponse = Static<typeof OffsetCommitResponse>;
