/**
 * The cluster wiring of one broker (ClusterHandle, broker/cluster/handle.ts): assembles the
 * control plane (ClusterStore, BrokerSession, ControllerElection, Controller,
 * ClusterMetadataView) and the data plane (LocalReplicas, ReplicaFetcherManager,
 * ProducePurgatory), and hands the view's role events (become-leader, become-follower,
 * stop-replica) to LocalReplicas (cluster-runtime-replicas.ts), which applies them to the local
 * logs in order per partition; 'partition-role' is emitted after the log is ready. The
 * registry (topic-registry.ts) mirrors the cluster's topics after every change.
 *
 * Topic creation (from ANY broker), deletion and preferred leader election: see
 * cluster-runtime-admin.ts.
 *
 * ISR changes are the leader's (cluster-runtime-isr.ts: compare-and-swap, fenced by this broker's
 * registration, only while `view.canAcknowledge`); the shrink check runs every half
 * replica.lag.time.max.ms. Producer ids come from the cluster's blocks (producer-id-blocks.ts).
 */
import { EventEmitter } from 'node:events';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { RillError, rillError } from '../protocol/errors.js';
import type { AppendResult, PartitionLog } from '../storage/partition-log.js';
import type { LogManager } from '../storage/log-manager.js';
import type { BrokerConfig } from './config.js';
import type { BrokerMetrics, ClusterMetricsSnapshot } from './metrics.js';
import { countOfflinePartitions, leaderMetrics } from './cluster-runtime-metrics.js';
import type { FetchPurgatory } from './fetch-purgatory.js';
import { isInternalTopicName, type TopicInfo, type TopicRegistry } from './topic-registry.js';
import type { ClusterBrokerInfo, ClusterHandle, ClusterPartitionInfo, ClusterTopicInfo, CreateClusterTopic, ElectLeadersResult, ElectionType, LocalPartitionRole, PartitionRoleChange } from './cluster/handle.js';
import { ClusterStore } from './cluster/store.js';
import { BrokerSession } from './cluster/session.js';
import { ControllerElection } from './cluster/election.js';
import { Controller } from './cluster/controller.js';
import { ClusterMetadataView } from './cluster/metadata-view.js';
import { NO_LEADER } from './cluster/schemas.js';
import { alterClusterTopicConfigs, createClusterTopic, deleteClusterTopic, electClusterLeaders, type ClusterAdminContext } from './cluster-runtime-admin.js';
import { writeLeaderIsr } from './cluster-runtime-isr.js';
import { ProducerIdBlockAllocator } from './cluster/producer-id-blocks.js';
import type { ClusterLogger } from './cluster/options.js';
import type { PartitionState } from './replication/partition-state.js';
import { LocalReplicas } from './cluster-runtime-replicas.js';
import { controlledShutdown } from './cluster-runtime-shutdown.js';
import { ProducePurgatory } from './replication/produce-purgatory.js';
import { ReplicaFetcherManager } from './replication/fetcher-manager.js';

export interface ClusterRuntimeDeps {
  config: Readonly<BrokerConfig>;
  clusterId: string;
  endpoints: string[];
  logs: LogManager;
  topics: TopicRegistry;
  fetchPurgatory: FetchPurgatory;
  metrics: BrokerMetrics;
  logger: Logger;
  advertisedHost: string;
  advertisedPort: number;
  /** The Kafka listener's advertised port, registered for other brokers' Metadata; null when it is off. */
  advertisedKafkaPort: number | null;
  /** The Kafka listener's advertised host (kafka.advertised.host, else kafka.host), registered with the port; null when it is off. */
  advertisedKafkaHost: string | null;
  /** TLS options for dialing other brokers (replica fetching) when the rill listener is SSL; else null. */
  peerTls?: TlsConnectionOptions | null;
}


export class ClusterRuntime extends EventEmitter implements ClusterHandle {
  readonly clusterId: string;
  readonly nodeId: number;
  readonly store: ClusterStore;
  readonly session: BrokerSession;
  readonly election: ControllerElection;
  readonly controller: Controller;
  readonly view: ClusterMetadataView;
  readonly producePurgatory = new ProducePurgatory();
  readonly fetchers: ReplicaFetcherManager;
  readonly producerIdBlocks: ProducerIdBlockAllocator;
  /** ISR shrinks / expands written by this broker as leader (metrics). */
  readonly isrChanges = { shrinks: 0, expands: 0 };
  private readonly replicas: LocalReplicas;
  private readonly deps: ClusterRuntimeDeps;
  private readonly log: Logger;
  private isrTimer: NodeJS.Timeout | null = null;
  private registrySync: Promise<void> | null = null;
  private registrySyncAgain = false;
  private started = false;
  private shuttingDown: Promise<void> | null = null;
  private closed = false;

  private constructor(deps: ClusterRuntimeDeps) {
    super();
    this.deps = deps;
    const c = deps.config;
    this.clusterId = deps.clusterId;
    this.nodeId = c['node.id'];
    this.log = deps.logger.child({ component: 'cluster' });
    const clusterLogger: ClusterLogger = this.log;
    this.store = new ClusterStore({ endpoints: deps.endpoints, clusterId: deps.clusterId });
    this.session = new BrokerSession({
      store: this.store,
      nodeId: this.nodeId,
      endpoint: { host: deps.advertisedHost, port: deps.advertisedPort, kafkaPort: deps.advertisedKafkaPort, kafkaHost: deps.advertisedKafkaHost, rack: c['broker.rack'] },
      sessionTimeoutMs: c['broker.session.timeout.ms'],
      logger: clusterLogger,
    });
    this.election = new ControllerElection(this.store, this.session, clusterLogger);
    this.controller = new Controller(
      this.store,
      this.election,
      {
        sessionTimeoutMs: c['broker.session.timeout.ms'],
        uncleanLeaderElectionEnable: c['unclean.leader.election.enable'],
        autoLeaderRebalanceEnable: c['auto.leader.rebalance.enable'],
        leaderImbalanceCheckIntervalMs: c['leader.imbalance.check.interval.seconds'] * 1000,
        leaderImbalancePerBrokerPercentage: c['leader.imbalance.per.broker.percentage'],
        producerIdBlockSize: c['producer.id.block.size'],
      },
      clusterLogger,
    );
    this.controller.on('background-error', (err) => this.log.warn({ err }, 'controller step failed; retrying'));
    this.view = new ClusterMetadataView(this.store, this.session, clusterLogger);
    this.fetchers = new ReplicaFetcherManager({
      localBrokerId: this.nodeId,
      fetchWaitMaxMs: c['replica.fetch.wait.max.ms'],
      fetchMaxBytes: c['replica.fetch.max.bytes'],
      fetchResponseMaxBytes: c['replica.fetch.response.max.bytes'],
      fetchBackoffMs: c['replica.fetch.backoff.ms'],
      fetchBackoffMaxMs: Math.max(c['replica.fetch.backoff.ms'], 10 * c['replica.fetch.backoff.ms']),
      tls: deps.peerTls ?? null,
      logger: this.log,
    });
    this.producerIdBlocks = new ProducerIdBlockAllocator(this.store, c['producer.id.block.size']);
    this.replicas = new LocalReplicas({
      ...deps,
      nodeId: this.nodeId,
      view: this.view,
      fetchers: this.fetchers,
      producePurgatory: this.producePurgatory,
      logger: this.log,
      onRole: (topic, partition, role, leaderEpoch) => this.emitRole(topic, partition, role, leaderEpoch),
    });
  }

  /** Registers, loads the view, applies the local roles, campaigns; resolves once serving is safe. */
  static async start(deps: ClusterRuntimeDeps): Promise<ClusterRuntime> {
    const rt = new ClusterRuntime(deps);
    try {
      rt.wire();
      await rt.session.start();
      await rt.view.start();
      await rt.election.start();
      await rt.syncRegistry();
      await rt.settled();
      rt.reportStrayLogs();
      deps.metrics.clusterSource = () => rt.metricsSnapshot();
      const lagMs = deps.config['replica.lag.time.max.ms'];
      rt.isrTimer = setInterval(() => rt.checkIsrShrink(), Math.max(10, Math.floor(lagMs / 2)));
      rt.isrTimer.unref();
      rt.started = true;
      return rt;
    } catch (err) {
      await rt.close().catch(() => undefined);
      if (err instanceof RillError) throw err;
      // etcd's own errors (UNAVAILABLE, deadline) become one line naming what was tried.
      throw rillError('UNKNOWN_SERVER_ERROR', `cannot join cluster '${deps.clusterId}' on etcd ${deps.endpoints.join(',')}: ${(err as Error).message.replace(/\s+/g, ' ').trim()}`, { cause: err });
    }
  }

  private wire(): void {
    this.view.on('become-leader', (e) => this.replicas.becomeLeader(e));
    this.view.on('become-follower', (e) => this.replicas.becomeFollower(e));
    this.view.on('stop-replica', (e) => this.replicas.stopReplica(e.topic, e.partition));
    this.view.on('partition-changed', (e) => {
      this.replicas.refreshMinInsyncReplicas(e.topic, e.partition);
      this.adoptControllerIsr(e.topic, e.partition);
      void this.syncRegistry();
    });
    this.view.on('brokers-changed', () => this.replicas.refollow());
    this.view.on('invalid-record', (err) => this.log.warn({ err }, 'ignoring an invalid cluster record'));
    this.session.on('registration-failed', (err) => this.log.warn({ err }, 'registering in the cluster again failed; retrying'));
  }

  /** Resolves once every queued role change has been applied. */
  settled(): Promise<void> {
    return this.replicas.settled();
  }

  /**
   * Logs of topics the cluster does not have (deleted while this broker was down, or an etcd
   * that lost its data) are kept and reported, never deleted on that guess: without a deletion
   * record the two cannot be told apart. The operator removes them (the log names them).
   */
  private reportStrayLogs(): void {
    const stray = [...this.deps.logs.all()].filter((log) => !this.view.cache.topics.has(log.topic)).map((log) => `${log.topic}-${log.partition}`);
    if (stray.length > 0) this.log.warn({ partitions: stray.slice(0, 100), count: stray.length }, 'keeping partition logs of topics the cluster does not have (deleted while this broker was down?); remove them by hand if so');
  }

  private emitRole(topic: string, partition: number, role: LocalPartitionRole, leaderEpoch: number): void {
    const change: PartitionRoleChange = { topic, partition, role, leaderEpoch };
    try {
      this.emit('partition-role', change);
    } catch (err) {
      this.log.error({ err, topic, partition }, 'a partition-role listener failed');
    }
  }

  // ------------------------------------------------------------------------------- ISR

  /**
   * The ISR of a partition we lead changed at the same leader epoch (the controller removed a
   * dead replica, or the watch brought our own write before its transaction answered): adopt it.
   */
  private adoptControllerIsr(topic: string, partition: number): void {
    const state = this.replicas.get(topic, partition);
    const cur = this.view.cache.partitionState(topic, partition)?.value;
    if (state === undefined || cur === undefined || state.role !== 'leader') return;
    if (cur.leader !== this.nodeId || cur.leaderEpoch !== state.leaderEpoch) return;
    state.adoptIsr(cur.isr, cur.partitionEpoch);
    this.producePurgatory.onPartitionChange(state);
  }

  private checkIsrShrink(): void {
    const now = Date.now();
    for (const state of this.replicas.all()) {
      if (state.role !== 'leader') continue;
      const proposal = state.maybeShrinkIsr(now);
      if (proposal !== null) void this.writeIsr(state, proposal, 'shrink');
    }
  }

  private async writeIsr(state: PartitionState, proposal: number[], kind: 'shrink' | 'expand'): Promise<void> {
    const written = await writeLeaderIsr({ nodeId: this.nodeId, store: this.store, view: this.view, session: this.session, logger: this.log }, state, proposal);
    if (written) {
      if (kind === 'shrink') this.isrChanges.shrinks++;
      else this.isrChanges.expands++;
      this.log.info({ topic: state.topic, partition: state.partition, isr: proposal, kind }, 'ISR changed');
    }
    this.producePurgatory.onPartitionChange(state);
  }

  /** What /metrics reports of the cluster (metrics.ts, cluster-runtime-metrics.ts). */
  metricsSnapshot(): ClusterMetricsSnapshot {
    const active = this.controller.activeEpoch() !== null;
    const offline = active ? countOfflinePartitions(this.view.cache.topics.keys(), (t) => this.topic(t)?.partitions ?? 0, (t, p) => this.partition(t, p)?.leader ?? NO_LEADER) : 0;
    return leaderMetrics(this.nodeId, this.replicas.all(), { offline, active, ...this.isrChanges });
  }

  // --------------------------------------------------------------- handler-facing checks

  /** null when this broker may serve Produce/Fetch of the partition as its leader right now. */
  checkLeader(topic: string, partition: number, currentLeaderEpoch = -1): RillError | null {
    const state = this.replicas.get(topic, partition);
    if (state === undefined) {
      const replicas = this.view.cache.replicasOf(topic, partition);
      if (replicas === undefined) return rillError('UNKNOWN_TOPIC_OR_PARTITION', `${topic}-${partition} does not exist in the cluster`, { topic, partition });
      return rillError('NOT_LEADER_OR_FOLLOWER', `${topic}-${partition}: broker ${this.nodeId} is not a replica`, { topic, partition });
    }
    const err = state.checkLeader(currentLeaderEpoch);
    if (err !== null) return err;
    if (!this.view.canAcknowledge(topic, partition, state.leaderEpoch)) {
      return rillError('NOT_LEADER_OR_FOLLOWER', `${topic}-${partition}: broker ${this.nodeId} is no longer the leader (lease or epoch)`, { topic, partition });
    }
    return null;
  }

  /**
   * A follower fetched (Fetch with replicaId): records its position, proposes an ISR expansion
   * and completes acks=all produces the new high watermark acknowledges.
   */
  recordFollowerFetch(topic: string, partition: number, replicaId: number, fetchOffset: number): RillError | null {
    const state = this.replicas.get(topic, partition);
    if (state === undefined || state.role !== 'leader') return this.checkLeader(topic, partition) ?? rillError('NOT_LEADER_OR_FOLLOWER', `${topic}-${partition}: not the leader`);
    try {
      const update = state.updateFollowerFetchState(replicaId, fetchOffset, Date.now());
      // A broker in controlled shutdown stays out of ISRs (KIP-841), else it would be added back
      // right after the controller took it out and acks=all would wait on it again.
      if (update.expandIsr !== null && this.view.cache.brokers.get(replicaId)?.value.shuttingDown === true) state.abortIsrChange();
      else if (update.expandIsr !== null) void this.writeIsr(state, update.expandIsr, 'expand');
      if (update.highWatermarkChanged) this.producePurgatory.onPartitionChange(state);
      return null;
    } catch (err) {
      return err as RillError;
    }
  }

  // ------------------------------------------------------------------------ ClusterHandle

  controllerId(): number | null {
    return this.view.cache.controller?.value.nodeId ?? null;
  }

  liveBrokers(): readonly ClusterBrokerInfo[] {
    return [...this.view.cache.brokers.entries()]
      .sort(([a], [b]) => a - b)
      .map(([nodeId, b]) => ({ nodeId, host: b.value.host, port: b.value.port, kafkaPort: b.value.kafkaPort, kafkaHost: b.value.kafkaHost ?? b.value.host, rack: b.value.rack }));
  }

  topics(): readonly ClusterTopicInfo[] {
    return [...this.view.cache.topics.keys()].sort().map((name) => this.topic(name)!);
  }

  topic(name: string): ClusterTopicInfo | undefined {
    const t = this.view.cache.topics.get(name)?.value;
    return t === undefined ? undefined : { name, topicId: t.topicId, partitions: t.replicas.length, internal: isInternalTopicName(name), configs: t.configs };
  }

  partition(topic: string, partition: number): ClusterPartitionInfo | undefined {
    const replicas = this.view.cache.replicasOf(topic, partition);
    if (replicas === undefined) return undefined;
    const state = this.view.cache.partitionState(topic, partition)?.value;
    const live = this.view.cache.brokers;
    const offlineReplicas = replicas.filter((id) => !live.has(id));
    if (state === undefined) return { leader: NO_LEADER, leaderEpoch: -1, replicas, isr: [], offlineReplicas };
    const leader = state.leader !== NO_LEADER && live.has(state.leader) ? state.leader : NO_LEADER;
    return { leader, leaderEpoch: state.leaderEpoch, replicas, isr: state.isr, offlineReplicas };
  }

  localRole(topic: string, partition: number): { role: LocalPartitionRole; leaderEpoch: number } {
    const state = this.replicas.get(topic, partition);
    if (state === undefined || (state.role !== 'leader' && state.role !== 'follower')) return { role: 'none', leaderEpoch: -1 };
    if (state.role === 'leader' && !this.view.canAcknowledge(topic, partition, state.leaderEpoch)) return { role: 'follower', leaderEpoch: state.leaderEpoch };
    return { role: state.role, leaderEpoch: state.leaderEpoch };
  }

  localLog(topic: string, partition: number): PartitionLog | undefined {
    return this.replicas.has(topic, partition) ? this.deps.logs.get(topic, partition) : undefined;
  }

  async createTopic(request: CreateClusterTopic): Promise<ClusterTopicInfo> {
    await createClusterTopic(this.adminContext(), request);
    await this.syncRegistry();
    return this.topic(request.name)!;
  }

  async deleteTopic(name: string): Promise<void> {
    await deleteClusterTopic(this.adminContext(), name);
    await this.syncRegistry();
  }

  alterTopicConfigs(name: string, apply: (configs: Readonly<Record<string, string>>) => Record<string, string>): Promise<Record<string, string>> {
    return alterClusterTopicConfigs(this.adminContext(), name, apply);
  }

  electLeaders(type: ElectionType, partitions: ReadonlyArray<{ topic: string; partition: number }> | null): Promise<ElectLeadersResult[]> {
    return electClusterLeaders(this.adminContext(), type, partitions);
  }

  private adminContext(): ClusterAdminContext {
    return { nodeId: this.nodeId, store: this.store, view: this.view, controller: this.controller, config: this.deps.config, logger: this.log, liveBrokers: () => this.liveBrokers(), isClosed: () => this.closed };
  }

  async appendAsLeader(topic: string, partition: number, batches: Buffer, acks: 1 | -1, timeoutMs: number): Promise<AppendResult> {
    const notLeader = this.checkLeader(topic, partition);
    if (notLeader !== null) throw notLeader;
    const state = this.replicas.get(topic, partition)!;
    const refused = this.producePurgatory.checkBeforeAppend(state, acks);
    if (refused !== null) throw refused;
    const epoch = state.leaderEpoch;
    const result = await state.log.append(batches);
    // A leader alone in its ISR moves the high watermark with its own appends.
    if (state.role === 'leader' && state.maybeIncrementLeaderHW()) this.producePurgatory.onPartitionChange(state);
    if (acks === -1) {
      const outcome = await this.producePurgatory.park(state, result.lastOffset + 1, epoch, timeoutMs);
      if (outcome !== null) throw outcome;
    }
    // The SIGSTOP case: whatever happened while we waited, acknowledge only as the live leader.
    if (!this.view.canAcknowledge(topic, partition, epoch)) {
      throw rillError('NOT_LEADER_OR_FOLLOWER', `${topic}-${partition}: leadership was lost before the produce could be acknowledged`, { topic, partition });
    }
    return result;
  }

  nextProducerIdBlock(): Promise<{ firstProducerId: number; endProducerId: number }> {
    return this.producerIdBlocks.nextBlock();
  }

  // ---------------------------------------------------------------------- registry mirror

  /** Writes the cluster's topics into the local registry (topics.json); coalesces bursts. */
  private syncRegistry(): Promise<void> {
    if (this.registrySync !== null) {
      this.registrySyncAgain = true;
      return this.registrySync;
    }
    const run = async (): Promise<void> => {
      do {
        this.registrySyncAgain = false;
        const infos: TopicInfo[] = this.topics().map((t) => ({ name: t.name, partitions: t.partitions, configs: t.configs, internal: t.internal }));
        await this.deps.topics.mirror(infos).catch((err: unknown) => this.log.warn({ err }, 'writing topics.json failed; retried on the next change'));
      } while (this.registrySyncAgain && !this.closed);
    };
    this.registrySync = run().finally(() => {
      this.registrySync = null;
    });
    return this.registrySync;
  }

  /**
   * Kafka's controlled shutdown (cluster-runtime-shutdown.ts): with `controlled.shutdown.enable`,
   * hands this broker's leaderships over while it still serves; resolves when done or after
   * `controlled.shutdown.timeout.ms`. The broker calls it before it stops serving; close() calls
   * it too (once). Never rejects.
   */
  controlledShutdown(): Promise<void> {
    if (this.shuttingDown !== null) return this.shuttingDown;
    const c = this.deps.config;
    if (!this.started || this.closed || !c['controlled.shutdown.enable']) return (this.shuttingDown = Promise.resolve());
    this.shuttingDown = controlledShutdown({
      nodeId: this.nodeId,
      session: this.session,
      view: this.view,
      logger: this.log,
      timeoutMs: c['controlled.shutdown.timeout.ms'],
      settled: () => this.settled(),
    }).catch((err: unknown) => this.log.warn({ err }, 'controlled shutdown failed; closing anyway'));
    return this.shuttingDown;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.controlledShutdown();
    if (this.closed) return;
    this.closed = true;
    this.replicas.stop();
    if (this.isrTimer !== null) clearInterval(this.isrTimer);
    this.deps.metrics.clusterSource = null;
    this.producePurgatory.close();
    await this.fetchers.close().catch(() => undefined);
    await this.view.close().catch(() => undefined);
    await this.controller.close().catch(() => undefined);
    await this.election.close().catch(() => undefined);
    await this.session.close().catch(() => undefined);
    await this.replicas.drain().catch(() => undefined);
    await this.registrySync?.catch(() => undefined);
    this.store.close();
  }
}
