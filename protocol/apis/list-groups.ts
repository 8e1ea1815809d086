/**
 * ListGroups (key 16).
 *
 *   request:  { statesFilter: [state] | null }
 *   response: { errorCode, groups: [{ groupId, groupState }] }
 *
 * States (KIP-848): 'empty' | 'assigning' | 'reconciling' | 'stable' | 'dead'.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, Nullable } from './common.js';

export const GroupState = Type.Union([Type.Literal('empty'), Type.Literal('assigning'), Type.Literal('reconciling'), Type.Literal('stable'), Type.Literal('dead')]);
export type GroupState = Static<typeof GroupState>;
export const ListGroupsRequest = Type.Object({ statesFilter: Nullable(Type.Array(GroupState)) });
export const ListGroupsResponse = Type.Object({
  errorCode: ErrorCodeField(),
  groups: Type.Array(Type.Object({ groupId: Type.String(), groupState: GroupState })),
});
export type ListGroupsRequest = Static<typeof ListGroupsRequest>;
export type ListGroupsResponse = Static<typeof ListGroupsResponse>;
