/**
 * The JSON value of every control-plane key, declared once as TypeBox schemas with their
 * TypeScript types. Values are checked on every read (store.ts): a value that does not match
 * is reported as InvalidClusterRecordError naming the key, never trusted.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

const NodeId = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });
const Epoch = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const ClusterRecord = Type.Object({
  clusterId: Type.String({ minLength: 1 }),
  /** Wall-clock ms when the first broker created the cluster. */
  createdAt: Type.Integer({ minimum: 0 }),
});
export type ClusterRecord = Static<typeof ClusterRecord>;

export const BrokerRegistration = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  /** Port of the Kafka listener; null when the broker runs none. */
  kafkaPort: Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Null()]),
  /**
   * Host of the Kafka listener as Kafka clients must reach it (`kafka.advertised.host`, else
   * `kafka.host`); null when the broker runs none. Optional so that registrations written
   * before it existed still parse (absent: `host`).
   */
  kafkaHost: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
  rack: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  /** New on every registration: tells a re-registered broker from its previous life. */
  incarnation: Type.String({ minLength: 1 }),
  /**
   * Set by the broker at the start of a controlled shutdown (Kafka's wantShutDown): the
   * controller moves its leaderships away and takes it out of ISRs. Absent: false.
   */
  shuttingDown: Type.Optional(Type.Boolean()),
});
export type BrokerRegistration = Static<typeof BrokerRegistration>;

export const ControllerRecord = Type.Object({ nodeId: NodeId });
export type ControllerRecord = Static<typeof ControllerRecord>;

export const TopicRecord = Type.Object({
  topicId: Type.String({ minLength: 1 }),
  configs: Type.Record(Type.String(), Type.String()),
  /** replicas[p] = the replica node ids of partition p; the first is the preferred leader. */
  replicas: Type.Array(Type.Array(NodeId, { minItems: 1 }), { minItems: 1 }),
});
export type TopicRecord = Static<typeof TopicRecord>;

/** NO_LEADER marks an offline partition (no live replica may lead it). */
export const NO_LEADER = -1;

export const PartitionState = Type.Object({
  leader: Type.Integer({ minimum: NO_LEADER, maximum: 2 ** 31 - 1 }),
  /** Bumped on every leader change (including to and from NO_LEADER). */
  leaderEpoch: Epoch,
  isr: Type.Array(NodeId),
  /** Bumped on every change of this record. */
  partitionEpoch: Epoch,
});
export type PartitionState = Static<typeof PartitionState>;

export const ProducerIdBlockRecord = Type.Object({ nextProducerId: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) });
export type ProducerIdBlockRecord = Static<typeof ProducerIdBlockRecord>;

/** A schema with its compiled checker: what the store reads values through. */
export interface RecordType<T> {
  readonly name: string;
  readonly check: TypeCheck<TSchema>;
  /** Phantom: carries T for inference only. */
  readonly _type?: T;
}

function recordType<S extends TSchema>(name: string, schema: S): RecordType<Static<S>> {
  return { name, check: TypeCompiler.Compile(schema) };
}

export const Records = {
  cluster: recordType('cluster', ClusterRecord),
  broker: recordType('broker registration', BrokerRegistration),
  controller: recordType('controller', ControllerRecord),
  topic: recordType('topic', TopicRecord),
  partition: recordType('partition state', PartitionState),
  producerIdBlock: recordType('producer-id block', ProducerIdBlockRecord),
} as const;
