/**
 * OffsetFetch (key 9). Committed offsets of a group; committedOffset -1 means none. `metadata`
 * is the string the commit carried as OffsetCommit's `committedMetadata` (the two names are
 * Kafka's own: OffsetCommitRequest's committedMetadata, OffsetFetchResponse's metadata).
 *
 *   request:  { groupId, topics?: [{ name, partitions: [p] }] | null (every committed partition, the default) }
 *   response: { errorCode, topics: [{ name, partitions: [{ partition, committedOffset, metadata, errorCode }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, GroupId, Int64, Nullable, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

export const OffsetFetchRequest = Type.Object({
  groupId: GroupId(),
  topics: Defaulted(Nullable(Type.Array(Type.Object({ name: TopicName(), partitions: Type.Array(PartitionIndex(), { maxItems: 100000 }) }), { maxItems: 100000 })), null),
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
export type OffsetFetchRequest = StaticRequest<typeof OffsetFetchRequest>;
export type OffsetFetchResponse = Static<typeof OffsetFetchResponse>;
