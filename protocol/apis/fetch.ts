/**
 * Fetch (key 1). Long poll: the broker answers once `minBytes` are available across the
 * request, or after `maxWaitMs`, whichever comes first (a parked fetch wakes on append).
 * `records` holds whole batches; the first may start before `fetchOffset` (skip records below
 * it); at least one batch is returned even if larger than `partitionMaxBytes` (KIP-74).
 *
 * `replicaId` is the fetching broker's node id when a follower replicates, -1 (the default) for
 * a consumer. The broker does not act on it yet: every fetch reads below the high watermark,
 * which on a single broker is the log end (docs/OPERATIONS.md, "Cluster: data plane").
 *
 *   request:  { replicaId = -1, maxWaitMs, minBytes, maxBytes, topics: [{ name, partitions: [{ partition, fetchOffset, partitionMaxBytes }] }] }
 *   response: { throttleTimeMs, errorCode, topics: [{ name, partitions: [{ partition, errorCode, errorMessage,
 *               highWatermark, lastStableOffset, logStartOffset, records: bin | null }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Bytes, Defaulted, ErrorCodeField, Int32, Int64, Nullable, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

/** Fetch's replicaId of a consumer (Kafka's CONSUMER_REPLICA_ID). */
export const CONSUMER_REPLICA_ID = -1;

export const FetchRequest = Type.Object({
  replicaId: Defaulted(Int32({ minimum: -1 }), CONSUMER_REPLICA_ID),
  maxWaitMs: Int32({ minimum: 0 }),
  minBytes: Int32({ minimum: 0 }),
  maxBytes: Int32({ minimum: 1 }),
  topics: Type.Array(
    Type.Object({
      name: TopicName(),
      partitions: Type.Array(Type.Object({ partition: PartitionIndex(), currentLeaderEpoch: Defaulted(Int32({ minimum: -1 }), -1), fetchOffset: Int64({ minimum: 0 }), partitionMaxBytes: Int32({ minimum: 1 }) }), { maxItems: 100000 }),
    }),
    { maxItems: 100000 },
  ),
});
export const FetchPartitionResponse = Type.Object({
  partition: PartitionIndex(),
  errorCode: ErrorCodeField(),
  errorMessage: NullableString(),
  highWatermark: Int64(),
  lastStableOffset: Int64(),
  logStartOffset: Int64(),
  records: Nullable(Bytes()),
});
export const FetchResponse = Type.Object({
  throttleTimeMs: Int32({ minimum: 0 }),
  errorCode: ErrorCodeField(),
  topics: Type.Array(Type.Object({ name: Type.String(), partitions: Type.Array(FetchPartitionResponse) })),
});
export type FetchRequest = StaticRequest<typeof FetchRequest>;
export type FetchResponse = Static<typeof FetchResponse>;
export type FetchPartitionResponse = Static<typeof FetchPartitionResponse>;
