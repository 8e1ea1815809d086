/**
 * ElectLeaders (key 43). Asks the controller to elect leaders: `electionType` 0 (preferred)
 * moves leadership back to each partition's preferred replica (the first of its replica list)
 * when that replica is live and in the ISR; 1 (unclean) elects a leader for partitions that
 * have none, from outside the ISR when no ISR member is live (acknowledged records may be
 * lost). `topicPartitions` null means every partition of the cluster.
 *
 *   request:  { electionType? = 0, topicPartitions: [{ topic, partitions: [p] }] | null,
 *               timeoutMs? = 60000 }
 *   response: { throttleTimeMs, errorCode,
 *               replicaElectionResults: [{ topic, partitionResult: [{ partitionId, errorCode, errorMessage }] }] }
 *
 * Per partition, as Kafka: 0 when a leader was elected, ELECTION_NOT_NEEDED (84) when the
 * partition is already led as asked (always, on a standalone broker, which leads everything),
 * PREFERRED_LEADER_NOT_AVAILABLE (80) when the preferred replica is down or out of the ISR,
 * ELIGIBLE_LEADERS_NOT_AVAILABLE (83) when no replica can lead, UNKNOWN_TOPIC_OR_PARTITION (3)
 * for a partition that does not exist. The top-level errorCode is for the request as a whole
 * (e.g. NOT_CONTROLLER, REQUEST_TIMED_OUT).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Int32, Nullable, NullableString, PartitionIndex, type StaticRequest, TopicPartitions } from './common.js';

export const ELECTION_TYPE_PREFERRED = 0;
export const ELECTION_TYPE_UNCLEAN = 1;

export const ElectLeadersRequest = Type.Object({
  electionType: Defaulted(Type.Integer({ minimum: 0, maximum: 1, description: '0 preferred, 1 unclean' }), 0),
  topicPartitions: Nullable(TopicPartitions()),
  timeoutMs: Defaulted(Int32({ minimum: 0 }), 60000),
});
export const ElectLeadersPartitionResult = Type.Object({ partitionId: PartitionIndex(), errorCode: ErrorCodeField(), errorMessage: NullableString() });
export const ElectLeadersResponse = Type.Object({
  throttleTimeMs: Int32({ minimum: 0 }),
  errorCode: ErrorCodeField(),
  replicaElectionResults: Type.Array(Type.Object({ topic: Type.String(), partitionResult: Type.Array(ElectLeadersPartitionResult) })),
});
export type ElectLeadersRequest = StaticRequest<typeof ElectLeadersRequest>;
export type ElectLeadersResponse = Static<typeof ElectLeadersResponse>;
export type ElectLeadersPartitionResult = Static<typeof ElectLeadersPartitionResult>;
