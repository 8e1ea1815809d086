/**
 * CreateTopics (key 19).
 *
 *   request:  { topics: [{ name, numPartitions? = -1, replicationFactor? = -1,
 *                          configs? = {} (e.g. { 'retention.ms': '3600000' }),
 *                          assignments? = [] ([{ partitionIndex, brokerIds }]) }],
 *               timeoutMs? = 60000, validateOnly? = false }
 *   response: { topics: [{ name, errorCode, errorMessage, numPartitions }] }
 *
 * numPartitions -1 (or left out) means the broker's `num.partitions`, replicationFactor -1 the
 * broker's default (1 on a single broker), as Kafka's CreateTopics v4+. The response reports the
 * partition count the topic got. `assignments` places each partition's replicas by hand
 * (preferred leader first), as Kafka's: with it, numPartitions and replicationFactor must be -1,
 * every partition 0..n-1 is listed once, all with the same number of distinct, registered
 * brokers; anything else is INVALID_REPLICA_ASSIGNMENT (or INVALID_REQUEST).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Int32, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

export const CreateTopicsRequest = Type.Object({
  topics: Type.Array(
    Type.Object({
      name: TopicName(),
      numPartitions: Defaulted(Int32({ minimum: -1, maximum: 100000 }), -1),
      replicationFactor: Defaulted(Int32({ minimum: -1, maximum: 32767 }), -1),
      configs: Defaulted(Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 4096 })), {}),
      assignments: Defaulted(
        Type.Array(Type.Object({ partitionIndex: PartitionIndex(), brokerIds: Type.Array(Int32({ minimum: 0 }), { maxItems: 32767 }) }), { maxItems: 100000 }),
        [],
      ),
    }),
    { maxItems: 10000 },
  ),
  timeoutMs: Defaulted(Int32({ minimum: 0 }), 60000),
  validateOnly: Defaulted(Type.Boolean(), false),
});
export const CreateTopicsResponse = Type.Object({
  topics: Type.Array(Type.Object({ name: Type.String(), errorCode: ErrorCodeField(), errorMessage: NullableString(), numPartitions: Int32() })),
});
export type CreateTopicsRequest = StaticRequest<typeof CreateTopicsRequest>;
export type CreateTopicsResponse = Static<typeof CreateTopicsResponse>;
