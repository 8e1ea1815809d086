/**
 * FindCoordinator (key 10). Which broker coordinates each group: the leader of the
 * `__consumer_offsets` partition the group id hashes to.
 *
 *   request:  { keyType? = 0 (group), keys: [groupId] }
 *   response: { coordinators: [{ key, nodeId, host, port, errorCode, errorMessage }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, GroupId, Int32, NullableString, type StaticRequest } from './common.js';

export const FindCoordinatorRequest = Type.Object({
  keyType: Defaulted(Type.Literal(0), 0),
  keys: Type.Array(GroupId(), { minItems: 1, maxItems: 10000 }),
});
export const FindCoordinatorResponse = Type.Object({
  coordinators: Type.Array(
    Type.Object({ key: Type.String(), nodeId: Int32(), host: Type.String(), port: Int32({ minimum: -1, maximum: 65535 }), errorCode: ErrorCodeField(), errorMessage: NullableString() }),
  ),
});
export type FindCoordinatorRequest = StaticRequest<typeof FindCoordinatorRequest>;
export type FindCoordinatorResponse = Static<typeof FindCoordinatorResponse>;
