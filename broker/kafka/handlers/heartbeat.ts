/**
 * Kafka Heartbeat (key 12) v0-4, on a classic group: keeps the member's session alive and
 * tells it REBALANCE_IN_PROGRESS (rejoin), ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID.
 */
import type { HEARTBEAT, KafkaRequestBody, KafkaResponseInput } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf, readyCoordinator } from './group-support.js';

export const heartbeatHandler: KafkaHandler = async (ctx, req) => {
  const body = req as KafkaRequestBody<typeof HEARTBEAT>;
  let errorCode: number;
  try {
    const coordinator = await readyCoordinator(ctx);
    errorCode = coordinator.classicFor(body.groupId).heartbeat(body.groupId, body.memberId, body.groupInstanceId, body.generationId);
  } catch (err) {
    errorCode = errorCodeOf(ctx, err, 'Heartbeat');
  }
  return { throttleTimeMs: 0, errorCode } satisfies KafkaResponseInput<typeof HEARTBEAT>;
};
