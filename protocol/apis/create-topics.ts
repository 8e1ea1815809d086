/**
 * CreateTopics (key 19).
 *
 *   request:  { topics: [{ name, numPartitions, replicationFactor, configs: { 'retention.ms': '...' } }],
 *               timeoutMs, validateOnly }
 *   response: { topics: [{ name, errorCode, errorMessage, numPartitions }] }
 *
 * numPartitions -1 means the broker's `num.partitions`; replicationFactor -1 the broker default.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, Int32, NullableString, TopicName } from './common.js';

export const CreateTopicsRequest = Type.Object({
  topics: Type.Array(
    Type.Object({
      name: TopicName(),
      numPartitions: Int32({ minimum: -1, maximum: 100000 }),
      replicationFactor: Int32({ minimum: -1, maximum: 32767 }),
      configs: Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 4096 })),
    }),
    { maxItems: 10000 },
  ),
  timeoutMs: Int32({ minimum: 0 }),
  validateOnly: Type.Boolean(),
});
export const CreateTopicsResponse = Type.Object({
  topics: Type.Array(Type.Object({ name: Type.String(), errorCode: ErrorCodeField(), errorMessage: NullableString(), numPartitions: Int32() })),
});
export type CreateTopicsRequest = Static<typeof CreateTopicsRequest>;
export type CreateTopicsResponse = Static<typeof CreateTopicsResponse>;
