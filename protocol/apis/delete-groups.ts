/**
 * DeleteGroups (key 42). Only an empty group (no live members) can be deleted; its committed
 * offsets are removed (tombstones in `__consumer_offsets`). A group with live members is
 * refused with NON_EMPTY_GROUP (68), one that does not exist with GROUP_ID_NOT_FOUND (69).
 *
 *   request:  { groupIds: [groupId] }
 *   response: { results: [{ groupId, errorCode, errorMessage }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, GroupId, NullableString, type StaticRequest } from './common.js';

export const DeleteGroupsRequest = Type.Object({ groupIds: Type.Array(GroupId(), { minItems: 1, maxItems: 10000 }) });
export const DeleteGroupsResponse = Type.Object({
  results: Type.Array(Type.Object({ groupId: Type.String(), errorCode: ErrorCodeField(), errorMessage: NullableString() })),
});
export type DeleteGroupsRequest = StaticRequest<typeof DeleteGroupsRequest>;
export type DeleteGroupsResponse = Static<typeof DeleteGroupsResponse>;
