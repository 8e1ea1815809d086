/**
 * ListGroups (key 16).
 *
 *   request:  { statesFilter?: [state] | null (every state, the default) }
 *   response: { errorCode, groups: [{ groupId, groupState }] }
 *
 * States (KIP-848): 'empty' | 'assigning' | 'reconciling' | 'stable' | 'dead'; classic groups
 * (Kafka's JoinGroup/SyncGroup protocol, on the Kafka listener) are also 'preparing_rebalance' |
 * 'completing_rebalance'.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Nullable, type StaticRequest } from './common.js';

// KIP-848 groups: empty, assigning, reconciling, stable, dead. Classic groups (Kafka's
// JoinGroup/SyncGroup protocol) add Kafka's PREPARING_REBALANCE and COMPLETING_REBALANCE,
// lower-cased as the others are; their Empty/Stable/Dead are the shared names.
export const GroupState = Type.Union([
  Type.Literal('empty'),
  Type.Literal('assigning'),
  Type.Literal('reconciling'),
  Type.Literal('stable'),
  Type.Literal('dead'),
  Type.Literal('preparing_rebalance'),
  Type.Literal('completing_rebalance'),
]);
export type GroupState = Static<typeof GroupState>;
export const ListGroupsRequest = Type.Object({ statesFilter: Defaulted(Nullable(Type.Array(GroupState, { maxItems: 16 })), null) });
export const ListGroupsResponse = Type.Object({
  errorCode: ErrorCodeField(),
  groups: Type.Array(Type.Object({ groupId: Type.String(), groupState: GroupState })),
});
export type ListGroupsRequest = StaticRequest<typeof ListGroupsRequest>;
export type ListGroupsResponse = Static<typeof ListGroupsResponse>;
