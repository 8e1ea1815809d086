/**
 * Kafka DeleteGroups (key 42) v0-2: deletes groups with no live members (classic groups must
 * be Empty), tombstoning their offsets in `__consumer_offsets`; NON_EMPTY_GROUP otherwise,
 * GROUP_ID_NOT_FOUND for an unknown group. One result per name asked for.
 */
import type { DELETE_GROUPS, KafkaRequestBody, KafkaResponseInput } from '../../../protocol/kafka/index.js';
import { coordinatorOf } from '../../groups/index.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf } from './group-support.js';

export const deleteGroupsHandler: KafkaHandler = async (ctx, req) => {
  const body = req as KafkaRequestBody<typeof DELETE_GROUPS>;
  let codes: Map<string, number>;
  try {
    const res = await coordinatorOf(ctx).deleteGroups({ groupIds: body.groupsNames });
    codes = new Map(res.results.map((r) => [r.groupId, r.errorCode]));
  } catch (err) {
    const errorCode = errorCodeOf(ctx, err, 'DeleteGroups');
    codes = new Map(body.groupsNames.map((id) => [id, errorCode]));
  }
  return {
    throttleTimeMs: 0,
    results: body.groupsNames.map((groupId) => ({ groupId, errorCode: codes.get(groupId) ?? -1 })),
  } satisfies KafkaResponseInput<typeof DELETE_GROUPS>;
};
