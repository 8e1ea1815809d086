/**
 * InitProducerId (key 22). An idempotent producer asks for a producer id and epoch once; it
 * then numbers its batches per partition from sequence 0. Passing its current id/epoch bumps
 * the epoch (used after a fatal sequence error) instead of allocating a new id.
 *
 *   request:  { transactionalId: null, transactionTimeoutMs, producerId, producerEpoch }
 *   response: { errorCode, producerId, producerEpoch, throttleTimeMs }
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, Int16, Int32, Int64, NullableString } from './common.js';

export const InitProducerIdRequest = Type.Object({
  transactionalId: NullableString(),
  transactionTimeoutMs: Int32({ minimum: 0 }),
  producerId: Int64({ minimum: -1 }),
  producerEpoch: Int16(),
});
export const InitProducerIdResponse = Type.Object({
  errorCode: ErrorCodeField(),
  producerId: Int64({ minimum: -1 }),
  producerEpoch: Int16(),
  throttleTimeMs: Int32({ minimum: 0 }),
});
export type InitProducerIdRequest = Static<typeof InitProducerIdRequest>;
export type InitProducerIdResponse = Static<typeof InitProducerIdResponse>;
