/**
 * OffsetFetch (key 9). Committed offsets of a group; committedOffset -1 means none.
 *
 *   request:  { groupId, topics: [{ name, partitions: [p] }] | null (every committed partition) }
 *   response: { errorCode, topics: [{ name, partitions: [{ partition, committedOffset, metadata, errorCode }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, GroupId, Int64, Nullable, NullableString, PartitionIndex, TopicName } from './common.js';

export const OffsetFetchRequest = Type.Object({
  groupId: GroupId(),
  topics: Nullable(Type.Array(Type.Object({ name: TopicName(), partitions: Type.Array(PartitionIndex(), { maxItems: 100000 }) }), { maxItems: 100000 })),
});
export const OffsetFetchResponse = Type.Object({
  errorCode: ErrorCodeField(),
  topics: Type.Array(
    Type.Object({
      name: Type.String(),
      partitions: Type.Array(Type.Object({ partition: PartitionIndex(), committedOffset: Int64({ minimum: -1 }), metadata: NullableString(), errorCode: ErrorCodeField() })),
    }),
  ),
});
export type OffsetFetchRequest = Static<typeof OffsetFetchRequest>;
export type OffsetFetchResponse = Static<typeof OffsetFetchResponse>;
