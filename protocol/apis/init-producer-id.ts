/**
 * InitProducerId (key 22). An idempotent producer asks for a producer id and epoch once; it
 * then numbers its batches per partition from sequence 0. A new producer sends `{}` (or
 * producerId -1, producerEpoch -1). Passing its current id/epoch bumps the epoch (used after a
 * fatal sequence error) instead of allocating a new id. `transactionalId` and
 * `transactionTimeoutMs` are accepted for Kafka's shape but unused: rill has no transactions.
 *
 * Sequence numbers: each batch's baseSequence is the previous batch's baseSequence plus its
 * recordCount, per partition, starting at 0 (wrapping from 2^31-1 to 0, as Kafka).
 *
 *   request:  { transactionalId? = null, transactionTimeoutMs? = 60000, producerId? = -1, producerEpoch? = -1 }
 *   response: { errorCode, producerId, producerEpoch, throttleTimeMs }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Int16, Int32, Int64, NullableString, type StaticRequest } from './common.js';

export const InitProducerIdRequest = Type.Object({
  transactionalId: Defaulted(NullableString(), null),
  transactionTimeoutMs: Defaulted(Int32({ minimum: 0 }), 60000),
  producerId: Defaulted(Int64({ minimum: -1 }), -1),
  producerEpoch: Defaulted(Int16(), -1),
});
export const InitProducerIdResponse = Type.Object({
  errorCode: ErrorCodeField(),
  producerId: Int64({ minimum: -1 }),
  producerEpoch: Int16(),
  throttleTimeMs: Int32({ minimum: 0 }),
});
export type InitProducerIdRequest = StaticRequest<typeof InitProducerIdRequest>;
export type InitProducerIdResponse = Static<typeof InitProducerIdResponse>;
