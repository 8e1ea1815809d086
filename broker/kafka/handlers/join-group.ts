/**
 * Kafka JoinGroup (key 11) v0-9, on a classic group (broker/groups/classic/). The response may
 * wait: until the rebalance completes, bounded by the group's rebalance timeout (or the
 * initial rebalance delay), and is answered when the coordinator shuts down.
 * v0 has no rebalance timeout (the session timeout serves); v4+ new members first get
 * MEMBER_ID_REQUIRED with their id; v7 answers the protocol type and a nullable name; v8's reason is
 * accepted and ignored; v9's skipAssignment is always false.
 */
import type { JOIN_GROUP, KafkaRequestBody, KafkaResponseInput } from '../../../protocol/kafka/index.js';
import type { JoinResult } from '../../groups/classic/groups.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf, readyCoordinator } from './group-support.js';

export const joinGroupHandler: KafkaHandler = async (ctx, req, info, conn) => {
  const body = req as KafkaRequestBody<typeof JOIN_GROUP>;
  const v = info.apiVersion;
  let result: JoinResult;
  try {
    const coordinator = await readyCoordinator(ctx);
    result = await coordinator.classicFor(body.groupId).join(body.groupId, {
      sessionTimeoutMs: body.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? body.rebalanceTimeoutMs : -1,
      memberId: body.memberId,
      groupInstanceId: body.groupInstanceId,
      protocolType: body.protocolType,
      // Copies: the decoded bytes are views into the request frame, kept for the group's life.
      protocols: body.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      requireKnownMemberId: v >= 4,
      clientId: info.clientId ?? '',
      clientHost: conn.clientHost,
    });
  } catch (err) {
    const errorCode = errorCodeOf(ctx, err, 'JoinGroup');
    result = { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: body.memberId, members: [] };
  }
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    // Before v7 the name is not nullable: Kafka sends '' for none.
    protocolName: v >= 7 ? result.protocolName : (result.protocolName ?? ''),
    leader: result.leader,
    // rill never assigns for a classic group: the leader always runs the assignment.
    skipAssignment: false,
    memberId: result.memberId,
    members: result.members,
  } satisfies KafkaResponseInput<typeof JOIN_GROUP>;
};
