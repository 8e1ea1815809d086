/**
 * Kafka LeaveGroup (key 13) v0-5 (v5's per-member reason is accepted and ignored), on a classic group: v0-2 one member (its error is the
 * response's), v3+ a batch (by member id, or by group.instance.id for static members) with an
 * error per member and the top-level error reserved for the group as a whole.
 */
import type { KafkaRequestBody, KafkaResponseInput, LEAVE_GROUP } from '../../../protocol/kafka/index.js';
import type { MemberRef } from '../../groups/classic/groups.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf, readyCoordinator } from './group-support.js';

export const leaveGroupHandler: KafkaHandler = async (ctx, req, info) => {
  const body = req as KafkaRequestBody<typeof LEAVE_GROUP>;
  const batch = info.apiVersion >= 3;
  const refs: MemberRef[] = batch ? body.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: body.memberId, groupInstanceId: null }];
  let codes: number[];
  try {
    const coordinator = await readyCoordinator(ctx);
    codes = coordinator.classicFor(body.groupId).leave(body.groupId, refs);
  } catch (err) {
    const errorCode = errorCodeOf(ctx, err, 'LeaveGroup');
    return { throttleTimeMs: 0, errorCode, members: [] } satisfies KafkaResponseInput<typeof LEAVE_GROUP>;
  }
  if (!batch) return { throttleTimeMs: 0, errorCode: codes[0]!, members: [] } satisfies KafkaResponseInput<typeof LEAVE_GROUP>;
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    members: refs.map((r, i) => ({ memberId: r.memberId, groupInstanceId: r.groupInstanceId, errorCode: codes[i]! })),
  } satisfies KafkaResponseInput<typeof LEAVE_GROUP>;
};
