/**
 * DeleteTopics (key 20).
 *
 *   request:  { topics: [name], timeoutMs? = 60000 }
 *   response: { topics: [{ name, errorCode, errorMessage }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Int32, NullableString, type StaticRequest, TopicName } from './common.js';

export const DeleteTopicsRequest = Type.Object({
  topics: Type.Array(TopicName(), { maxItems: 10000 }),
  timeoutMs: Defaulted(Int32({ minimum: 0 }), 60000),
});
export const DeleteTopicsResponse = Type.Object({
  topics: Type.Array(Type.Object({ name: Type.String(), errorCode: ErrorCodeField(), errorMessage: NullableString() })),
});
export type DeleteTopicsRequest = StaticRequest<typeof DeleteTopicsRequest>;
export type DeleteTopicsResponse = Static<typeof DeleteTopicsResponse>;
