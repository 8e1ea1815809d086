/**
 * Kafka SyncGroup (key 14) v0-5, on a classic group. The leader's request carries every
 * member's assignment; the others wait for it (bounded by the group's sync deadline, the
 * rebalance timeout, and answered when the coordinator shuts down). v5 checks the protocol
 * type and name against the group's.
 */
import type { KafkaRequestBody, KafkaResponseInput, SYNC_GROUP } from '../../../protocol/kafka/index.js';
import type { SyncResult } from '../../groups/classic/groups.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf, readyCoordinator } from './group-support.js';

export const syncGroupHandler: KafkaHandler = async (ctx, req) => {
  const body = req as KafkaRequestBody<typeof SYNC_GROUP>;
  let result: SyncResult;
  try {
    const coordinator = await readyCoordinator(ctx);
    result = await coordinator.classicFor(body.groupId).sync(body.groupId, {
      generationId: body.generationId,
      memberId: body.memberId,
      groupInstanceId: body.groupInstanceId,
      protocolType: body.protocolType,
      protocolName: body.protocolName,
      // Copies: the decoded bytes are views into the request frame.
      assignments: body.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    });
  } catch (err) {
    result = { errorCode: errorCodeOf(ctx, err, 'SyncGroup'), protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
  }
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    protocolType: result.protocolType,
    protocolName: result.protocolName,
    assignment: result.assignment,
  } satisfies KafkaResponseInput<typeof SYNC_GROUP>;
};
