/**
 * DeleteTopics (key 20).
 *
 *   request:  { topics: [name], timeoutMs }
 *   response: { topics: [{ name, errorCode, errorMessage }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, Int32, NullableString, TopicName } from './common.js';

export const DeleteTopicsRequest = Type.Object({
  topics: Type.Array(TopicName(), { maxItems: 10000 }),
  timeoutMs: Int32({ minimum: 0 }),
});
export const DeleteTopicsResponse = Type.Object({
  topics: Type.Array(Type.Object({ name: Type.String(), errorCode: ErrorCodeField(), errorMessage: NullableString() })),
});
export type DeleteTopicsRequest = Static<typeof DeleteTopicsRequest>;
export type DeleteTopicsResponse = Static<typeof DeleteTopicsResponse>;
