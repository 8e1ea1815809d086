/**
 * OffsetCommit (key 8). A group member commits with its memberId and memberEpoch; a commit
 * from a fenced (expelled or stale) member is refused with FENCED_MEMBER_EPOCH /
 * STALE_MEMBER_EPOCH / UNKNOWN_MEMBER_ID. memberId '' with memberEpoch -1 (the defaults) is a
 * "simple" commit, accepted only while the group has no live members, else NON_EMPTY_GROUP
 * (68). Each partition's error carries its reason in `errorMessage`.
 *
 *   request:  { groupId, memberId? = '', memberEpoch? = -1,
 *               topics: [{ name, partitions: [{ partition, committedOffset, committedMetadata? = null }] }] }
 *   response: { topics: [{ name, partitions: [{ partition, errorCode, errorMessage }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, GroupId, Int32, Int64, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

export const OffsetCommitRequest = Type.Object({
  groupId: GroupId(),
  memberId: Defaulted(Type.String({ maxLength: 255 }), ''),
  memberEpoch: Defaulted(Int32({ minimum: -1 }), -1),
  topics: Type.Array(
    Type.Object({
      name: TopicName(),
      partitions: Type.Array(
        Type.Object({ partition: PartitionIndex(), committedOffset: Int64({ minimum: 0 }), committedMetadata: Defaulted(NullableString(), null) }),
        { maxItems: 100000 },
      ),
    }),
    { maxItems: 100000 },
  ),
});
export const OffsetCommitResponse = Type.Object({
  topics: Type.Array(
    Type.Object({ name: Type.String(), partitions: Type.Array(Type.Object({ partition: PartitionIndex(), errorCode: ErrorCodeField(), errorMessage: NullableString() })) }),
  ),
});
export type OffsetCommitRequest = StaticRequest<typeof OffsetCommitRequest>;
export type OffsetCommitResponse = Static<typeof OffsetCommitResponse>;
