/**
 * ConsumerGroupHeartbeat (key 68). Kafka's KIP-848 consumer group protocol: the whole
 * membership lifecycle in one API, assignment computed by the coordinator.
 *
 *   request:  { groupId, memberId, memberEpoch, rebalanceTimeoutMs, sessionTimeoutMs,
 *               subscribedTopicNames | null, subscribedTopicRegex | null,
 *               ownedPartitions: [{ topic, partitions }] | null }
 *   response: { errorCode, errorMessage, memberId, memberEpoch, heartbeatIntervalMs,
 *               assignment: { topicPartitions: [{ topic, partitions }] } | null }
 *
 * memberEpoch 0 (with memberId '') joins; -1 leaves (its partitions move at once); any other
 * value is the member's current epoch. Fields that did not change since the last heartbeat
 * may be null or left out (rebalanceTimeoutMs: -1). `ownedPartitions` is what the member currently owns (it reports revocations by
 * omitting partitions). `assignment` is the member's target, present whenever it changed.
 * A partition is handed to its new owner only once its previous owner stopped reporting it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, GroupId, Int32, Nullable, NullableString, type StaticRequest, TopicName, TopicPartitions } from './common.js';

export const JOIN_GROUP_MEMBER_EPOCH = 0;
export const LEAVE_GROUP_MEMBER_EPOCH = -1;

export const ConsumerGroupHeartbeatRequest = Type.Object({
  groupId: GroupId(),
  memberId: Type.String({ maxLength: 255 }),
  memberEpoch: Int32({ minimum: -1 }),
  rebalanceTimeoutMs: Defaulted(Int32({ minimum: -1 }), -1),
  sessionTimeoutMs: Int32({ minimum: -1 }),
  subscribedTopicNames: Defaulted(Nullable(Type.Array(TopicName(), { maxItems: 10000 })), null),
  subscribedTopicRegex: Defaulted(NullableString(), null),
  ownedPartitions: Defaulted(Nullable(TopicPartitions()), null),
});
export const ConsumerGroupHeartbeatResponse = Type.Object({
  errorCode: ErrorCodeField(),
  errorMessage: NullableString(),
  memberId: Type.String(),
  memberEpoch: Int32({ minimum: -1 }),
  heartbeatIntervalMs: Int32({ minimum: 0 }),
  assignment: Nullable(Type.Object({ topicPartitions: TopicPartitions() })),
});
export type ConsumerGroupHeartbeatRequest = StaticRequest<typeof ConsumerGroupHeartbeatRequest>;
export type ConsumerGroupHeartbeatResponse = Static<typeof ConsumerGroupHeartbeatResponse>;
