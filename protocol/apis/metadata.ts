/**
 * Metadata (key 3). Brokers of the cluster and, per topic, every partition's leader. A named
 * topic that does not exist is created with the broker's `num.partitions` when
 * `allowAutoTopicCreation` (default true, as Kafka) and the broker's `auto.create.topics.enable`
 * are both true; otherwise it is answered UNKNOWN_TOPIC_OR_PARTITION. An illegal name is
 * answered INVALID_TOPIC_EXCEPTION.
 *
 *   request:  { topics: [name] | null (all topics), allowAutoTopicCreation? = true }
 *   response: { brokers: [{ nodeId, host, port, rack }], clusterId, controllerId,
 *               topics: [{ errorCode, name, isInternal,
 *                          partitions: [{ errorCode, partition, leader, leaderEpoch, replicas, isr, offlineReplicas }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Int32, Nullable, NullableString, PartitionIndex, type StaticRequest, TopicName } from './common.js';

export const MetadataRequest = Type.Object({
  topics: Nullable(Type.Array(TopicName(), { maxItems: 100000 })),
  allowAutoTopicCreation: Defaulted(Type.Boolean(), true),
});
export const MetadataBroker = Type.Object({ nodeId: Int32({ minimum: 0 }), host: Type.String(), port: Int32({ minimum: 0, maximum: 65535 }), rack: NullableString() });
export const MetadataPartition = Type.Object({
  errorCode: ErrorCodeField(),
  partition: PartitionIndex(),
  leader: Int32(),
  leaderEpoch: Int32(),
  replicas: Type.Array(Int32()),
  isr: Type.Array(Int32()),
  /** Replicas whose broker is not live right now. */
  offlineReplicas: Type.Array(Int32()),
});
export const MetadataTopic = Type.Object({
  errorCode: ErrorCodeField(),
  name: Type.String(),
  isInternal: Type.Boolean(),
  partitions: Type.Array(MetadataPartition),
});
export const MetadataResponse = Type.Object({
  brokers: Type.Array(MetadataBroker),
  clusterId: Type.String(),
  controllerId: Int32(),
  topics: Type.Array(MetadataTopic),
});
export type MetadataRequest = StaticRequest<typeof MetadataRequest>;
export type MetadataResponse = Static<typeof MetadataResponse>;
export type MetadataTopic = Static<typeof MetadataTopic>;
export type MetadataPartition = Static<typeof MetadataPartition>;
export type MetadataBroker = Static<typeof MetadataBroker>;
