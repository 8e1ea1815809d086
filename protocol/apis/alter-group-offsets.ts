/**
 * AlterGroupOffsets (key 1001, rill's own; Kafka does this with an OffsetCommit from an admin
 * client). Sets a group's committed offsets, used by `rill groups reset-offsets --execute`.
 * Refused with NON_EMPTY_GROUP while the group has live members. Offsets are written as given;
 * the admin client clamps them into [log start, log end] when it builds the plan.
 *
 *   request:  { groupId, topics: [{ name, partitions: [{ partition, offset, metadata? = null }] }] }
 *   response: { errorCode, errorMessage, topics: [{ name, partitions: [{ partition, errorCode, errorMessage }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, GroupId, Int64, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

export const AlterGroupOffsetsRequest = Type.Object({
  groupId: GroupId(),
  topics: Type.Array(
    Type.Object({
      name: TopicName(),
      partitions: Type.Array(Type.Object({ partition: PartitionIndex(), offset: Int64({ minimum: 0 }), metadata: Defaulted(NullableString(), null) }), { maxItems: 100000 }),
    }),
    { maxItems: 100000 },
  ),
});
export const AlterGroupOffsetsResponse = Type.Object({
  errorCode: ErrorCodeField(),
  errorMessage: NullableString(),
  topics: Type.Array(
    Type.Object({ name: Type.String(), partitions: Type.Array(Type.Object({ partition: PartitionIndex(), errorCode: ErrorCodeField(), errorMessage: NullableString() })) }),
  ),
});
export type AlterGroupOffsetsRequest = StaticRequest<typeof AlterGroupOffsetsRequest>;
export type AlterGroupOffsetsResponse = Static<typeof AlterGroupOffsetsResponse>;
