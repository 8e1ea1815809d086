/**
 * The cluster as the rest of the broker sees it: what handlers (rill and Kafka listeners), the
 * group coordinator and the CLI's admin APIs may ask of the control and data planes. A broker
 * started with `--etcd` has one (`ctx.cluster`); a standalone broker has `null` and every
 * caller keeps its single-broker behaviour (it owns every partition, leads it at epoch 0, the
 * high watermark is the log end).
 *
 * The implementation (broker/cluster-runtime.ts) assembles session, election, controller,
 * metadata view, partition states, replica fetchers and the produce purgatory; nothing outside
 * it touches those directly.
 */
import type { RillError } from '../../protocol/errors.js';
import type { AppendResult, PartitionLog } from '../../storage/partition-log.js';

export interface ClusterBrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  /** The broker's Kafka listener (advertised), when it has one. */
  kafkaPort: number | null;
  /** The Kafka listener's advertised host (`host` unless kafka.advertised.host / kafka.host say otherwise). */
  kafkaHost: string;
  rack: string | null;
}

export interface ClusterPartitionInfo {
  /** -1 when no replica can lead right now (offline). */
  leader: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  /** Replicas whose broker is not registered (no live lease). */
  offlineReplicas: readonly number[];
}

export interface ClusterTopicInfo {
  name: string;
  topicId: string;
  partitions: number;
  internal: boolean;
  configs: Readonly<Record<string, string>>;
}

export type LocalPartitionRole = 'leader' | 'follower' | 'none';

/** Emitted after this broker's role for a partition changed and the local log is ready for it. */
export interface PartitionRoleChange {
  topic: string;
  partition: number;
  role: LocalPartitionRole;
  leaderEpoch: number;
}

export type ElectionType = 'preferred' | 'unclean';

export interface ElectLeadersResult {
  topic: string;
  partition: number;
  /** 0 when elected (or already led by the preferred replica: ELECTION_NOT_NEEDED is 84). */
  errorCode: number;
  errorMessage: string | null;
}

export interface CreateClusterTopic {
  name: string;
  numPartitions: number;
  /** -1: the broker's default.replication.factor, capped at the live brokers only for internal topics. */
  replicationFactor: number;
  configs?: Record<string, string>;
  replicaAssignment?: number[][];
}

export interface ClusterHandle {
  readonly clusterId: string;
  readonly nodeId: number;

  /** The controller's node id as this broker last saw it; null while there is none. */
  controllerId(): number | null;
  /** Brokers registered now (live leases), sorted by node id. */
  liveBrokers(): readonly ClusterBrokerInfo[];
  topics(): readonly ClusterTopicInfo[];
  topic(name: string): ClusterTopicInfo | undefined;
  partition(topic: string, partition: number): ClusterPartitionInfo | undefined;
  /** This broker's current role for a partition (leader only while its lease is alive). */
  localRole(topic: string, partition: number): { role: LocalPartitionRole; leaderEpoch: number };

  /**
   * Creates a topic (any broker may call it; it resolves once every partition has a leader, or
   * rejects with TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, INVALID_PARTITIONS,
   * REQUEST_TIMED_OUT, ...).
   */
  createTopic(request: CreateClusterTopic): Promise<ClusterTopicInfo>;
  deleteTopic(name: string): Promise<void>;
  electLeaders(type: ElectionType, partitions: ReadonlyArray<{ topic: string; partition: number }> | null): Promise<ElectLeadersResult[]>;

  /**
   * Appends `batches` (RecordBatch v2 bytes, validated by the caller) to a partition this broker
   * leads, stamped with its leader epoch, and resolves once the ISR has them (Kafka's acks=all)
   * when `acks` is -1, or at once after the local append when it is 1. Rejects with a RillError:
   * NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS (before the append),
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT (after `timeoutMs`).
   */
  appendAsLeader(topic: string, partition: number, batches: Buffer, acks: 1 | -1, timeoutMs: number): Promise<AppendResult>;

  /**
   * null when this broker may serve Produce/Fetch/ListOffsets of the partition as its leader now;
   * else UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, or (for `currentLeaderEpoch` >= 0)
   * FENCED_LEADER_EPOCH when it is older than the leader's, UNKNOWN_LEADER_EPOCH when newer.
   */
  checkLeader(topic: string, partition: number, currentLeaderEpoch?: number): RillError | null;

  /** A follower's Fetch reached this leader: its position, ISR expansion, acks=all completion. */
  recordFollowerFetch(topic: string, partition: number, replicaId: number, fetchOffset: number): RillError | null;

  /** A block of producer ids no other broker of the cluster hands out. */
  nextProducerIdBlock(): Promise<{ firstProducerId: number; endProducerId: number }>;

  /** The local log of a partition this broker holds a replica of. */
  localLog(topic: string, partition: number): PartitionLog | undefined;

  on(event: 'partition-role', listener: (change: PartitionRoleChange) => void): unknown;
  off(event: 'partition-role', listener: (change: PartitionRoleChange) => void): unknown;
}
