/**
 * The local replicas of a clustered broker (used by cluster-runtime.ts): one PartitionState per
 * partition this broker holds, and the role changes the cluster view asks for applied to the
 * local logs:
 *
 *   become-leader    → create/open the log, stop fetching it, PartitionState.becomeLeader
 *   become-follower  → create/open the log, PartitionState.becomeFollower, fetch from the leader
 *                      (the fetcher truncates by leader epoch first)
 *   stop-replica     → stop fetching, PartitionState.stop; the log is deleted when its topic is
 *                      gone from the cluster (a reassignment away keeps the data, on no guess)
 *
 * Changes of one partition are applied in order (one promise chain per partition); `onRole` is
 * told after the log is ready in its new role.
 */
import type { Logger } from 'pino';
import type { PartitionLog } from '../storage/partition-log.js';
import type { LogManager } from '../storage/log-manager.js';
import type { BrokerConfig } from './config.js';
import type { BrokerMetrics } from './metrics.js';
import type { FetchPurgatory } from './fetch-purgatory.js';
import type { TopicRegistry } from './topic-registry.js';
import type { LocalPartitionRole } from './cluster/handle.js';
import type { BecomeFollower, BecomeLeader, ClusterMetadataView } from './cluster/metadata-view.js';
import { NO_LEADER } from './cluster/schemas.js';
import { partitionId } from './cluster/metadata-cache.js';
import { PartitionState } from './replication/partition-state.js';
import type { ProducePurgatory } from './replication/produce-purgatory.js';
import type { ReplicaFetcherManager } from './replication/fetcher-manager.js';

export interface LocalReplicasDeps {
  readonly nodeId: number;
  readonly config: Readonly<BrokerConfig>;
  readonly logs: LogManager;
  readonly topics: TopicRegistry;
  readonly fetchPurgatory: FetchPurgatory;
  readonly metrics: BrokerMetrics;
  readonly view: ClusterMetadataView;
  readonly fetchers: ReplicaFetcherManager;
  readonly producePurgatory: ProducePurgatory;
  readonly logger: Logger;
  /** Called once the partition's log is ready in its new role (never throws back). */
  readonly onRole: (topic: string, partition: number, role: LocalPartitionRole, leaderEpoch: number) => void;
}

export class LocalReplicas {
  private readonly states = new Map<string, PartitionState>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Follower partitions → the `nodeId@host:port` they fetch from ('' = none). */
  private readonly followTargets = new Map<string, string>();
  private readonly deps: LocalReplicasDeps;
  private stopped = false;

  constructor(deps: LocalReplicasDeps) {
    this.deps = deps;
  }

  get(topic: string, partition: number): PartitionState | undefined {
    return this.states.get(partitionId(topic, partition));
  }

  has(topic: string, partition: number): boolean {
    return this.states.has(partitionId(topic, partition));
  }

  all(): IterableIterator<PartitionState> {
    return this.states.values();
  }

  becomeLeader(e: BecomeLeader): void {
    this.enqueue(e.topic, e.partition, () => this.applyLeader(e));
  }

  becomeFollower(e: BecomeFollower): void {
    this.enqueue(e.topic, e.partition, () => this.applyFollower(e));
  }

  stopReplica(topic: string, partition: number): void {
    this.enqueue(topic, partition, () => this.applyStop(topic, partition));
  }

  /** The topic's configs may have changed: a replica's min.insync.replicas follows them. */
  refreshMinInsyncReplicas(topic: string, partition: number): void {
    const state = this.get(topic, partition);
    if (state !== undefined) state.minInsyncReplicas = this.minInsyncReplicasOf(topic);
  }

  /** Brokers came or went: followers whose leader's address changed fetch from the new one. */
  refollow(): void {
    for (const state of this.states.values()) {
      if (state.role !== 'follower') continue;
      this.enqueue(state.topic, state.partition, async () => {
        if (state.role === 'follower' && this.states.get(partitionId(state.topic, state.partition)) === state) await this.followLeader(state, false);
      });
    }
  }

  /** Resolves once every queued role change has been applied. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.chains.values()];
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** No queued change runs after this (the ones already running finish: `drain`). */
  stop(): void {
    this.stopped = true;
  }

  async drain(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  private enqueue(topic: string, partition: number, job: () => Promise<void>): void {
    const id = partitionId(topic, partition);
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev
      .then(() => (this.stopped ? undefined : job()))
      .catch((err: unknown) => this.deps.logger.error({ err, topic, partition }, 'applying a partition role change failed'));
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }

  private async localLogFor(topic: string, partition: number): Promise<PartitionLog> {
    const existing = this.deps.logs.get(topic, partition);
    const log = existing ?? (await this.deps.logs.create(topic, partition, this.deps.topics.configFor(topic)));
    // A log without a checkpointed high watermark starts from its log start: nothing past it is
    // known to be replicated (the leader moves it up as the ISR reports in).
    if (!log.isHighWatermarkManaged) log.manageHighWatermark(log.logStartOffset);
    return log;
  }

  private stateFor(topic: string, partition: number, log: PartitionLog): PartitionState {
    const id = partitionId(topic, partition);
    let state = this.states.get(id);
    if (state === undefined || state.log !== log) {
      state = new PartitionState({
        topic,
        partition,
        localBrokerId: this.deps.nodeId,
        log,
        replicaLagTimeMaxMs: this.deps.config['replica.lag.time.max.ms'],
        minInsyncReplicas: this.minInsyncReplicasOf(topic),
      });
      this.states.set(id, state);
    }
    return state;
  }

  private minInsyncReplicasOf(topic: string): number {
    const raw = this.deps.view.cache.topics.get(topic)?.value.configs['min.insync.replicas'];
    const n = raw === undefined ? NaN : Number(raw);
    return Number.isSafeInteger(n) && n >= 1 ? n : this.deps.config['min.insync.replicas'];
  }

  private async applyLeader(e: BecomeLeader): Promise<void> {
    const log = await this.localLogFor(e.topic, e.partition);
    await this.deps.fetchers.unfollow(e.topic, e.partition);
    this.followTargets.delete(partitionId(e.topic, e.partition));
    const state = this.stateFor(e.topic, e.partition, log);
    if (state.role === 'leader' && state.leaderEpoch >= e.leaderEpoch) return; // a stale event
    state.minInsyncReplicas = this.minInsyncReplicasOf(e.topic);
    state.becomeLeader({ leaderEpoch: e.leaderEpoch, partitionEpoch: e.partitionEpoch, isr: e.isr, replicas: e.replicas }, Date.now());
    this.deps.producePurgatory.onPartitionChange(state);
    this.deps.logger.info({ topic: e.topic, partition: e.partition, leaderEpoch: e.leaderEpoch, isr: e.isr }, 'became leader');
    this.deps.onRole(e.topic, e.partition, 'leader', e.leaderEpoch);
  }

  private async applyFollower(e: BecomeFollower): Promise<void> {
    const log = await this.localLogFor(e.topic, e.partition);
    const state = this.stateFor(e.topic, e.partition, log);
    if (e.leaderEpoch < state.leaderEpoch) return; // a stale event
    state.becomeFollower({ leader: e.leader, leaderEpoch: e.leaderEpoch, replicas: e.replicas });
    this.deps.producePurgatory.onPartitionChange(state);
    await this.followLeader(state, true);
    this.deps.logger.info({ topic: e.topic, partition: e.partition, leader: e.leader, leaderEpoch: e.leaderEpoch }, 'became follower');
    this.deps.onRole(e.topic, e.partition, 'follower', e.leaderEpoch);
  }

  /** Points the partition's fetching at its leader's current address (or at nothing). */
  private async followLeader(state: PartitionState, force: boolean): Promise<void> {
    const id = partitionId(state.topic, state.partition);
    const leader = state.leaderId === NO_LEADER ? undefined : this.deps.view.cache.brokers.get(state.leaderId)?.value;
    const target = leader === undefined ? '' : `${state.leaderId}@${leader.host}:${leader.port}`;
    if (!force && this.followTargets.get(id) === target) return;
    this.followTargets.set(id, target);
    if (leader === undefined) await this.deps.fetchers.unfollow(state.topic, state.partition);
    else await this.deps.fetchers.follow(state.log, { nodeId: state.leaderId, host: leader.host, port: leader.port }, state.leaderEpoch);
  }

  private async applyStop(topic: string, partition: number): Promise<void> {
    const id = partitionId(topic, partition);
    await this.deps.fetchers.unfollow(topic, partition);
    this.followTargets.delete(id);
    const state = this.states.get(id);
    if (state !== undefined) {
      state.stop();
      this.deps.producePurgatory.onPartitionChange(state);
      this.states.delete(id);
    }
    if (!this.deps.view.cache.topics.has(topic)) {
      const log = this.deps.logs.get(topic, partition);
      if (log !== undefined) {
        this.deps.fetchPurgatory.wakeAll(log);
        await this.deps.logs.delete(topic, partition);
      }
      this.deps.metrics.removeTopic(topic);
    }
    this.deps.onRole(topic, partition, 'none', state?.leaderEpoch ?? -1);
  }
}
