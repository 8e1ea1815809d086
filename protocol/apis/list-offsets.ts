/**
 * ListOffsets (key 2). `timestamp` -2 = earliest (log start offset), -1 = latest (the high
 * watermark), otherwise the first offset whose timestamp is >= it (offset -1 when none). For
 * -1 and -2 the response's `timestamp` is -1; for a time it is the found record's timestamp.
 *
 *   request:  { topics: [{ name, partitions: [{ partition, timestamp }] }] }
 *   response: { topics: [{ name, partitions: [{ partition, errorCode, errorMessage, timestamp, offset }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Int32, Int64, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;

export const ListOffsetsRequest = Type.Object({
  topics: Type.Array(
    Type.Object({ name: TopicName(), partitions: Type.Array(Type.Object({ partition: PartitionIndex(), currentLeaderEpoch: Defaulted(Int32({ minimum: -1 }), -1), timestamp: Int64({ minimum: -2 }) }), { maxItems: 100000 }) }),
    { maxItems: 100000 },
  ),
});
export const ListOffsetsResponse = Type.Object({
  topics: Type.Array(
    Type.Object({
      name: Type.String(),
      partitions: Type.Array(
        Type.Object({ partition: PartitionIndex(), errorCode: ErrorCodeField(), errorMessage: NullableString(), timestamp: Int64(), offset: Int64() }),
      ),
    }),
  ),
});
export type ListOffsetsRequest = StaticRequest<typeof ListOffsetsRequest>;
export type ListOffsetsResponse = Static<typeof ListOffsetsResponse>;
