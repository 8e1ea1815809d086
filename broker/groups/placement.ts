/**
 * Where groups live: which broker coordinates a group, which `__consumer_offsets` partitions
 * this broker owns, and how the coordinator sees the other topics.
 *
 * A single broker (`cluster === null`) owns every partition of `__consumer_offsets`: it
 * creates the topic in its own registry at start and loads all of it before it listens. It
 * coordinates every group.
 *
 * In a cluster (broker/cluster/handle.ts), the coordinator of a group is the leader of the
 * group's partition (DESIGN.md §9, as Kafka):
 *  - The topic is created through the controller on first need (FindCoordinator or a write),
 *    with `offsets.topic.num.partitions` partitions, replication factor
 *    min(`offsets.topic.replication.factor`, live brokers) and the compacted configs.
 *  - 'partition-role' leader for partition p at epoch e: this broker loads p (its groups
 *    answer COORDINATOR_LOAD_IN_PROGRESS until then); any other role: it unloads p, and the
 *    coordinator drops p's groups, whose members then get NOT_COORDINATOR and find the new
 *    coordinator. Leading p again at another epoch reloads it from the log (another leader may
 *    have written in between). The partitions this broker leads when it first sees the topic
 *    are loaded too: their events may have come before.
 *  - Commits go through appendAsLeader with acks=-1 and OFFSETS_COMMIT_TIMEOUT_MS, so one is
 *    acknowledged only once every in-sync replica has it.
 *  - Topics, partition counts and logs are the cluster's (a topic may have no replica here).
 */
import type { Logger } from 'pino';
import { ERRORS, RillError, rillError } from '../../protocol/errors.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import type { ClusterHandle, PartitionRoleChange } from '../cluster/handle.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, OffsetsTopic } from './offsets-topic.js';

/**
 * How long a commit waits for the in-sync replicas: Kafka's `offsets.commit.timeout.ms`
 * default. Past it the commit fails with REQUEST_TIMED_OUT (it may still replicate later).
 */
export const OFFSETS_COMMIT_TIMEOUT_MS = 5000;

/** The topic registry as the coordinator uses it (broker/topic-registry.ts fits). */
export interface CoordinatorTopics {
  get(topic: string): { readonly partitions: number; readonly internal: boolean } | undefined;
  list(): Iterable<{ readonly name: string; readonly partitions: number; readonly internal: boolean }>;
  partitionLog(topic: string, partition: number): PartitionLog | undefined;
  ensureInternalTopic(name: string, partitions: number, configs: Record<string, string>): Promise<{ readonly partitions: number }>;
}

/** What the coordinator is configured with that placement uses (GroupCoordinatorOptions too). */
export interface GroupPlacementConfig {
  nodeId: number;
  /** Read at request time: the port is known only once the listener is bound. */
  advertised: () => { host: string; port: number };
  topics: CoordinatorTopics;
  /** null on a standalone broker. */
  cluster: ClusterHandle | null;
  /** `offsets.topic.num.partitions`, used when `__consumer_offsets` is created. */
  offsetsTopicPartitions: number;
  /** `offsets.topic.replication.factor`, capped at the live brokers when the topic is created. */
  offsetsTopicReplicationFactor: number;
  logger: Logger;
}

export interface GroupPlacementOptions extends GroupPlacementConfig {
  /** This broker gave up `partition` (or took it at a new epoch): drop its groups' state. */
  onUnload: (partition: number) => void;
}

export interface CoordinatorNode {
  nodeId: number;
  host: string;
  port: number;
}

/**
 * Kafka's mapping of a failed `__consumer_offsets` append to the error an OffsetCommit gets
 * (GroupMetadataManager.storeOffsets): the client then rediscovers or retries as Kafka's do.
 */
export function offsetCommitErrorOf(err: RillError): RillError {
  const as = (name: keyof typeof ERRORS): RillError => rillError(name, `${err.errorName}: ${err.message}`);
  switch (err.errorName) {
    case 'UNKNOWN_TOPIC_OR_PARTITION':
    case 'NOT_ENOUGH_REPLICAS':
    case 'NOT_ENOUGH_REPLICAS_AFTER_APPEND':
      return as('COORDINATOR_NOT_AVAILABLE');
    case 'NOT_LEADER_OR_FOLLOWER':
    case 'KAFKA_STORAGE_ERROR':
      return as('NOT_COORDINATOR');
    case 'MESSAGE_TOO_LARGE':
    case 'RECORD_LIST_TOO_LARGE':
    case 'INVALID_FETCH_SIZE':
      return as('INVALID_COMMIT_OFFSET_SIZE');
    default:
      return err; // REQUEST_TIMED_OUT and the rest as they are
  }
}

export class GroupPlacement {
  private topic: OffsetsTopic | null = null;
  /** Creating (and, standalone, loading) `__consumer_offsets`, while it runs. */
  private creating: Promise<void> | null = null;
  private closed = false;
  private readonly followRole = (change: PartitionRoleChange): void => this.onRoleChange(change);

  constructor(private readonly opts: GroupPlacementOptions) {}

  /**
   * What a failed `__consumer_offsets` write is answered with: in a cluster Kafka's
   * OffsetCommit mapping (offsetCommitErrorOf); on a single broker the error as it is.
   */
  writeErrorOf(err: unknown): unknown {
    return this.opts.cluster !== null && err instanceof RillError ? offsetCommitErrorOf(err) : err;
  }

  get isCreating(): boolean {
    return this.creating !== null;
  }

  /**
   * The offsets topic once it exists; in a cluster, attached on first sight (created by any
   * broker), which also starts loading the partitions this broker leads.
   */
  get offsetsTopic(): OffsetsTopic | null {
    if (this.topic !== null || this.closed) return this.topic;
    const info = this.opts.cluster?.topic(OFFSETS_TOPIC);
    if (info === undefined) return null;
    return this.attach(this.opts.cluster!, info.partitions);
  }

  /** Standalone: creates and loads the topic. Cluster: follows leadership; creates nothing yet. */
  start(): Promise<void> {
    if (this.opts.cluster === null) return this.ready();
    this.opts.cluster.on('partition-role', this.followRole);
    void this.offsetsTopic;
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.opts.cluster?.off('partition-role', this.followRole);
  }

  /**
   * Resolves once `__consumer_offsets` exists (standalone: and is loaded), creating it if
   * needed. Concurrent callers share one creation; a failed one is retried by the next call.
   */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(rillError('COORDINATOR_NOT_AVAILABLE', 'the group coordinator is shut down'));
    if (this.creating !== null) return this.creating;
    if (this.offsetsTopic !== null) return Promise.resolve();
    this.creating = (async () => {
      try {
        const partitions = await this.ensureTopic();
        if (this.topic === null) {
          this.warnIfResized(partitions);
          if (this.opts.cluster === null) await this.openStandalone(partitions);
          else this.attach(this.opts.cluster, partitions);
        }
      } catch (err) {
        this.opts.logger.error({ err }, `cannot create ${OFFSETS_TOPIC}`);
        throw rillError('COORDINATOR_NOT_AVAILABLE', `cannot create ${OFFSETS_TOPIC}: ${(err as Error).message}`, { cause: err });
      } finally {
        this.creating = null;
      }
    })();
    return this.creating;
  }

  /** The broker coordinating `groupId`; COORDINATOR_NOT_AVAILABLE while there is none. */
  coordinatorFor(groupId: string): CoordinatorNode {
    const cluster = this.opts.cluster;
    if (cluster === null) return { nodeId: this.opts.nodeId, ...this.opts.advertised() };
    const topic = this.offsetsTopic;
    if (topic === null) throw rillError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} does not exist yet`);
    const partition = topic.partitionFor(groupId);
    const leader = cluster.partition(OFFSETS_TOPIC, partition)?.leader ?? -1;
    if (leader < 0) throw rillError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC}-${partition}, which holds group '${groupId}', has no leader right now`);
    const broker = cluster.liveBrokers().find((b) => b.nodeId === leader);
    if (broker === undefined) throw rillError('COORDINATOR_NOT_AVAILABLE', `broker ${leader}, leader of ${OFFSETS_TOPIC}-${partition}, is not registered right now`);
    return { nodeId: broker.nodeId, host: broker.host, port: broker.port };
  }

  /** Partitions of a topic as the cluster (or this broker) knows it; undefined if none. */
  partitionCount(topic: string): number | undefined {
    return this.opts.cluster !== null ? this.opts.cluster.topic(topic)?.partitions : this.opts.topics.get(topic)?.partitions;
  }

  *nonInternalTopicNames(): Generator<string> {
    const all = this.opts.cluster !== null ? this.opts.cluster.topics() : this.opts.topics.list();
    for (const t of all) if (!t.internal) yield t.name;
  }

  /** The local log of a partition (in a cluster: leader or follower replica), if any. */
  logOf(topic: string, partition: number): PartitionLog | undefined {
    return this.opts.cluster !== null ? this.opts.cluster.localLog(topic, partition) : this.opts.topics.partitionLog(topic, partition);
  }

  private async ensureTopic(): Promise<number> {
    const { cluster, offsetsTopicPartitions: numPartitions } = this.opts;
    const configs = { ...OFFSETS_TOPIC_CONFIGS };
    if (cluster === null) return (await this.opts.topics.ensureInternalTopic(OFFSETS_TOPIC, numPartitions, configs)).partitions;
    const replicationFactor = Math.max(1, Math.min(this.opts.offsetsTopicReplicationFactor, cluster.liveBrokers().length));
    try {
      const created = await cluster.createTopic({ name: OFFSETS_TOPIC, numPartitions, replicationFactor, configs });
      this.opts.logger.info({ partitions: created.partitions, replicationFactor }, `${OFFSETS_TOPIC} created`);
      return created.partitions;
    } catch (err) {
      // Another broker created it first: use it.
      const existing = err instanceof RillError && err.is('TOPIC_ALREADY_EXISTS') ? cluster.topic(OFFSETS_TOPIC) : undefined;
      if (existing === undefined) throw err;
      return existing.partitions;
    }
  }

  private warnIfResized(partitions: number): void {
    if (partitions === this.opts.offsetsTopicPartitions) return;
    this.opts.logger.warn(
      { existing: partitions, configured: this.opts.offsetsTopicPartitions },
      `${OFFSETS_TOPIC} exists with a different partition count; offsets.topic.num.partitions is fixed once the topic exists, using the existing count`,
    );
  }

  private async openStandalone(partitions: number): Promise<void> {
    const topic = new OffsetsTopic(partitions, (p) => this.opts.topics.partitionLog(OFFSETS_TOPIC, p), this.opts.logger);
    this.topic = topic;
    await topic.load();
  }

  private attach(cluster: ClusterHandle, partitions: number): OffsetsTopic {
    const topic = new OffsetsTopic(partitions, (p) => cluster.localLog(OFFSETS_TOPIC, p), this.opts.logger, {
      append: (p, batches) => cluster.appendAsLeader(OFFSETS_TOPIC, p, batches, -1, OFFSETS_COMMIT_TIMEOUT_MS),
      isLeader: (p, leaderEpoch) => {
        const local = cluster.localRole(OFFSETS_TOPIC, p);
        return local.role === 'leader' && local.leaderEpoch === leaderEpoch;
      },
    });
    this.topic = topic;
    for (let p = 0; p < partitions; p++) {
      const local = cluster.localRole(OFFSETS_TOPIC, p);
      if (local.role === 'leader') this.take(topic, p, local.leaderEpoch);
    }
    return topic;
  }

  private onRoleChange(change: PartitionRoleChange): void {
    if (change.topic !== OFFSETS_TOPIC || this.closed) return;
    const topic = this.offsetsTopic;
    // Unknown yet: attaching later reads every partition's role then.
    if (topic === null) return;
    if (change.partition >= topic.partitions) {
      this.opts.logger.warn({ partition: change.partition, partitions: topic.partitions }, `${OFFSETS_TOPIC}: role change for a partition beyond the known count; ignored`);
      return;
    }
    if (change.role === 'leader') this.take(topic, change.partition, change.leaderEpoch);
    else this.release(topic, change.partition);
  }

  private take(topic: OffsetsTopic, partition: number, leaderEpoch: number): void {
    const held = topic.epochOf(partition);
    if (held === leaderEpoch && topic.stateOf(partition) !== 'failed') return;
    if (held !== -1) this.opts.onUnload(partition);
    this.opts.logger.info({ partition, leaderEpoch }, `leading ${OFFSETS_TOPIC}-${partition}: loading its groups`);
    // A failure is logged by the loader; the partition answers COORDINATOR_NOT_AVAILABLE.
    topic.assign(partition, leaderEpoch).catch(() => undefined);
  }

  private release(topic: OffsetsTopic, partition: number): void {
    if (!topic.unassign(partition)) return;
    this.opts.onUnload(partition);
    this.opts.logger.info({ partition }, `no longer leading ${OFFSETS_TOPIC}-${partition}: its groups are unloaded`);
  }
}
