/**
 * Produce (key 0). `records` is one or more RecordBatch v2 (see "Record batches"), byte-identical
 * to what the broker stores except for what the broker patches: baseOffset and
 * partitionLeaderEpoch (the partition's leader epoch, 0 on a single broker; neither is covered
 * by the CRC), and, on a LogAppendTime topic, the timestamp-type bit and maxTimestamp (then it
 * recomputes the CRC). The broker validates each batch, its records' framing included, first.
 * Nothing else changes.
 *
 *   request:  { acks: 0 | 1 | -1, timeoutMs, topics: [{ name, partitions: [{ partition, records: bin }] }] }
 *   response: { throttleTimeMs, topics: [{ name, partitions: [{ partition, errorCode, errorMessage,
 *               baseOffset, logAppendTimeMs, logStartOffset }] }] }
 *
 * acks 0: the broker sends NO response (as Kafka); the client must not wait for one. An acks
 * value other than 0, 1 or -1 is answered INVALID_REQUIRED_ACKS (21) in the request-error shape.
 * acks -1 ('all'): on one broker, acked once flushed per the topic's flush policy.
 * `logAppendTimeMs` is the broker's append time on a LogAppendTime topic and -1 on a
 * CreateTime topic (the default).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ERRORS } from '../errors.js';
import { Bytes, ErrorCodeField, Int32, Int64, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

export const ProduceRequest = Type.Object({
  acks: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(-1)], { errorCode: ERRORS.INVALID_REQUIRED_ACKS.code }),
  timeoutMs: Int32({ minimum: 0 }),
  topics: Type.Array(
    Type.Object({ name: TopicName(), partitions: Type.Array(Type.Object({ partition: PartitionIndex(), records: Bytes() }), { maxItems: 100000 }) }),
    { maxItems: 100000 },
  ),
});
export const ProducePartitionResponse = Type.Object({
  partition: PartitionIndex(),
  errorCode: ErrorCodeField(),
  errorMessage: NullableString(),
  baseOffset: Int64(),
  logAppendTimeMs: Int64(),
  logStartOffset: Int64(),
});
export const ProduceResponse = Type.Object({
  throttleTimeMs: Int32({ minimum: 0 }),
  topics: Type.Array(Type.Object({ name: Type.String(), partitions: Type.Array(ProducePartitionResponse) })),
});
export type ProduceRequest = StaticRequest<typeof ProduceRequest>;
export type ProduceResponse = Static<typeof ProduceResponse>;
export type ProducePartitionResponse = Static<typeof ProducePartitionResponse>;
