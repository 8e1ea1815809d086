/**
 * The controller: active on the one broker that won the election (election.ts), idle elsewhere.
 * While active it
 * - creates and deletes topics (placement.ts decides the replicas),
 * - reconciles every partition against the live brokers (leader-election.ts decides; the
 *   writer swaps): on activation, on every change under `brokers/` and `topics/`, and again
 *   after a lost swap (re-read and obey); a broker whose registration says `shuttingDown`
 *   (controlled shutdown) loses its leaderships to other live ISR members and leaves the ISRs,
 * - on demand (ElectLeaders), elects unclean leaders for leaderless partitions, and moves
 *   leadership back to preferred replicas, and, with
 *   auto.leader.rebalance.enable, every leader.imbalance.check.interval for brokers above
 *   leader.imbalance.per.broker.percentage.
 * Reconciliation is level-triggered (it compares what is with what should be, never replays
 * events), so a controller taking over mid-failure finishes its predecessor's work.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { rillError } from '../../protocol/errors.js';
import { requireValidTopicName } from '../topic-registry.js';
import { BROKERS_PREFIX, PARTITIONS_PREFIX, TOPICS_PREFIX, parseKey } from './keys.js';
import { Records, type PartitionState, type TopicRecord } from './schemas.js';
import type { ClusterStore, Follow, Versioned } from './store.js';
import type { ControllerElection } from './election.js';
import { ControllerWriter, FencedControllerError } from './writer.js';
import { placeReplicas, type PlacementBroker } from './placement.js';
import { brokersOverImbalance, electPreferred, electUnclean, initialPartitionState, leaderCannotHandOver, reconcilePartition, type CurrentPartition, type Election, type LiveBrokers } from './leader-election.js';
import { DEFAULT_CLUSTER_CONTROL_OPTIONS, SILENT_LOGGER, type ClusterControlOptions, type ClusterLogger } from './options.js';

export interface CreateTopicRequest {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
  /** Explicit replicas per partition (kafka-topics --replica-assignment); placement otherwise. */
  replicaAssignment?: number[][];
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

/** 'conflict': the partition changed between the read and the swap (the caller may ask again). */
export type ElectionResult = TopicPartitionRef & { outcome: Election['outcome'] | 'unknown-partition' | 'conflict' };

export interface ReconcileSummary {
  epoch: number;
  /** Partition states written in this pass. */
  written: number;
  /** Swaps lost to a concurrent writer (the pass is run again). */
  conflicts: number;
}

export interface ControllerEvents {
  active: [epoch: number];
  inactive: [epoch: number];
  reconciled: [ReconcileSummary];
  /** A background step failed (etcd unreachable, say); it is retried on the next trigger. */
  'background-error': [Error];
}

interface ClusterRead {
  live: Map<number, number>;
  /** Live brokers in controlled shutdown (their registration says `shuttingDown`). */
  shuttingDown: Set<number>;
  brokers: PlacementBroker[];
  topics: Map<string, Versioned<TopicRecord>>;
  partitions: Map<string, Versioned<PartitionState>>;
  /** Partition keys present but unreadable: left alone (rewriting them would guess at the ISR). */
  unreadable: Set<string>;
}

/** Passes run back to back after lost swaps before the controller pauses. */
const MAX_CONFLICT_PASSES = 10;
const CONFLICT_PAUSE_MS = 200;

export class Controller extends EventEmitter<ControllerEvents> {
  private readonly options: ClusterControlOptions;
  private writer: ControllerWriter | null = null;
  private watchers: Follow[] = [];
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private pending = false;

  constructor(
    private readonly store: ClusterStore,
    private readonly election: ControllerElection,
    options: Partial<ClusterControlOptions> = {},
    private readonly logger: ClusterLogger = SILENT_LOGGER,
  ) {
    super();
    this.options = { ...DEFAULT_CLUSTER_CONTROL_OPTIONS, ...options };
    election.on('elected', (epoch) => this.activateOrRetry(epoch));
    election.on('deposed', (epoch) => this.deactivate(epoch));
  }

  /** The epoch while this broker is the active controller, else null. */
  activeEpoch(): number | null {
    return this.writer !== null && this.election.controllerEpoch() === this.writer.epoch ? this.writer.epoch : null;
  }

  /** Resolves once the reconciliation queued so far has run (tests and admin calls use it). */
  async settled(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  async close(): Promise<void> {
    if (this.writer !== null) this.deactivate(this.writer.epoch);
    await this.running?.catch(() => undefined);
  }

  private requireWriter(): ControllerWriter {
    const epoch = this.activeEpoch();
    if (epoch === null || this.writer === null) throw rillError('NOT_CONTROLLER', 'this broker is not the controller');
    return this.writer;
  }

  /** Activation reads etcd; if that fails while still elected, it is tried again. */
  private activateOrRetry(epoch: number): void {
    this.activate(epoch).catch((err: unknown) => {
      this.emit('background-error', err as Error);
      if (this.writer?.epoch !== epoch) return;
      this.writer = null;
      void this.cancelWatchers();
      this.retryTimer = setTimeout(() => {
        if (this.election.controllerEpoch() === epoch) this.activateOrRetry(epoch);
      }, CONFLICT_PAUSE_MS);
    });
  }

  private async activate(epoch: number): Promise<void> {
    this.writer = new ControllerWriter(this.store, epoch);
    for (const prefix of [BROKERS_PREFIX, TOPICS_PREFIX]) {
      const reconcile = (): void => this.scheduleReconcile();
      const follow = await this.store.follow({ prefix }, { put: reconcile, delete: reconcile, resync: reconcile, error: (err) => this.emit('background-error', err) });
      this.watchers.push(follow);
    }
    if (this.writer?.epoch !== epoch) {
      // Deposed while setting up.
      await this.cancelWatchers();
      return;
    }
    if (this.options.autoLeaderRebalanceEnable) {
      this.rebalanceTimer = setInterval(() => {
        this.rebalanceImbalanced().catch((err: unknown) => this.emit('background-error', err as Error));
      }, this.options.leaderImbalanceCheckIntervalMs);
      this.rebalanceTimer.unref();
    }
    this.logger.info({ epoch }, 'controller active');
    this.emit('active', epoch);
    this.scheduleReconcile();
  }

  private deactivate(epoch: number): void {
    if (this.writer?.epoch !== epoch) return;
    this.writer = null;
    if (this.rebalanceTimer !== null) clearInterval(this.rebalanceTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.rebalanceTimer = null;
    this.retryTimer = null;
    void this.cancelWatchers();
    this.emit('inactive', epoch);
  }

  private async cancelWatchers(): Promise<void> {
    const ws = this.watchers;
    this.watchers = [];
    await Promise.all(ws.map((w) => w.cancel().catch(() => undefined)));
  }

  private scheduleReconcile(): void {
    this.pending = true;
    if (this.running !== null) return;
    this.running = this.reconcileLoop().finally(() => {
      this.running = null;
    });
  }

  private async reconcileLoop(): Promise<void> {
    let conflictPasses = 0;
    while (this.pending && this.writer !== null) {
      this.pending = false;
      try {
        const summary = await this.reconcileOnce(this.writer);
        this.emit('reconciled', summary);
        if (summary.conflicts > 0) {
          conflictPasses++;
          if (conflictPasses >= MAX_CONFLICT_PASSES) {
            this.retryTimer = setTimeout(() => this.scheduleReconcile(), CONFLICT_PAUSE_MS);
            return;
          }
          this.pending = true;
        }
      } catch (err) {
        if (err instanceof FencedControllerError) return; // the 'deposed' event follows
        this.emit('background-error', err as Error);
        this.retryTimer = setTimeout(() => this.scheduleReconcile(), CONFLICT_PAUSE_MS);
        return;
      }
    }
  }

  private async read(): Promise<ClusterRead> {
    const [brokers, topics, partitions] = await Promise.all([
      this.store.list(BROKERS_PREFIX, Records.broker),
      this.store.list(TOPICS_PREFIX, Records.topic),
      this.store.list(PARTITIONS_PREFIX, Records.partition),
    ]);
    // A key someone else broke is skipped, with a line, rather than stopping the controller.
    for (const err of [...brokers.invalid, ...topics.invalid, ...partitions.invalid]) this.logger.warn({ key: err.key, err: err.message }, 'ignoring an invalid cluster record');
    const live = new Map<number, number>();
    const shuttingDown = new Set<number>();
    const placement: PlacementBroker[] = [];
    for (const b of brokers.records) {
      const parsed = parseKey(b.key);
      if (parsed?.kind !== 'broker') continue;
      live.set(parsed.nodeId, b.createRevision);
      if (b.value.shuttingDown === true) shuttingDown.add(parsed.nodeId);
      placement.push({ nodeId: parsed.nodeId, rack: b.value.rack });
    }
    const topicMap = new Map<string, Versioned<TopicRecord>>();
    for (const t of topics.records) {
      const parsed = parseKey(t.key);
      if (parsed?.kind === 'topic') topicMap.set(parsed.topic, t);
    }
    const partitionMap = new Map<string, Versioned<PartitionState>>();
    for (const p of partitions.records) {
      const parsed = parseKey(p.key);
      if (parsed?.kind === 'partition') partitionMap.set(`${parsed.topic}/${parsed.partition}`, p);
    }
    const unreadable = new Set<string>();
    for (const err of partitions.invalid) {
      const parsed = parseKey(err.key);
      if (parsed?.kind === 'partition') unreadable.add(`${parsed.topic}/${parsed.partition}`);
    }
    return { live, shuttingDown, brokers: placement, topics: topicMap, partitions: partitionMap, unreadable };
  }

  private uncleanFor(topic: TopicRecord): boolean {
    const override = topic.configs['unclean.leader.election.enable'];
    return override === undefined ? this.options.uncleanLeaderElectionEnable : override === 'true';
  }

  private async reconcileOnce(writer: ControllerWriter): Promise<ReconcileSummary> {
    const view = await this.read();
    let written = 0;
    let conflicts = 0;
    const kept: string[] = [];
    for (const [topic, record] of view.topics) {
      const unclean = this.uncleanFor(record.value);
      for (let p = 0; p < record.value.replicas.length; p++) {
        const replicas = record.value.replicas[p]!;
        const current = view.partitions.get(`${topic}/${p}`);
        if (view.unreadable.has(`${topic}/${p}`)) continue;
        let next: PartitionState | null;
        let expected: number;
        if (current === undefined) {
          // Left missing by a controller that died while creating the topic.
          const start = initialPartitionState(replicas);
          next = reconcilePartition({ state: start, modRevision: Number.MAX_SAFE_INTEGER, replicas }, view.live, unclean, view.shuttingDown) ?? start;
          expected = 0;
        } else {
          next = reconcilePartition({ state: current.value, modRevision: current.modRevision, replicas }, view.live, unclean, view.shuttingDown);
          expected = current.modRevision;
          if (leaderCannotHandOver(next ?? current.value, view.live, view.shuttingDown)) kept.push(`${topic}-${p}`);
        }
        if (next === null) continue;
        const result = await writer.swapPartition(topic, p, expected, next);
        if (result === 'written') {
          written++;
          this.logger.info({ topic, partition: p, leader: next.leader, leaderEpoch: next.leaderEpoch, isr: next.isr }, 'partition state changed');
        } else conflicts++;
      }
    }
    if (kept.length > 0) {
      this.logger.warn({ shuttingDown: [...view.shuttingDown], partitions: kept.slice(0, 100), count: kept.length }, 'controlled shutdown: these partitions keep their leader (no other live in-sync replica can take over)');
    }
    return { epoch: writer.epoch, written, conflicts };
  }

  async createTopic(request: CreateTopicRequest): Promise<{ topicId: string; replicas: number[][] }> {
    const writer = this.requireWriter();
    requireValidTopicName(request.name);
    const { live, brokers } = await this.read();
    const replicas = request.replicaAssignment ?? placeReplicas(brokers, { numPartitions: request.numPartitions, replicationFactor: request.replicationFactor });
    for (const r of replicas) {
      if (r.length === 0 || new Set(r).size !== r.length) throw rillError('INVALID_REQUEST', `replica assignment ${JSON.stringify(r)} is empty or repeats a broker`);
      const unknown = r.find((id) => !live.has(id));
      if (unknown !== undefined) throw rillError('INVALID_REPLICATION_FACTOR', `replica assignment names broker ${unknown}, which is not live`);
    }
    const topicId = randomUUID();
    await writer.createTopic(request.name, { topicId, configs: request.configs ?? {}, replicas }, replicas.map(initialPartitionState));
    return { topicId, replicas };
  }

  async deleteTopic(name: string): Promise<void> {
    await this.requireWriter().deleteTopic(name);
  }

  /** Preferred leader election for the given partitions, or every partition. */
  electPreferredLeaders(partitions?: TopicPartitionRef[]): Promise<ElectionResult[]> {
    return this.electOnDemand('preferred', electPreferred, partitions);
  }

  /**
   * Unclean leader election for the given partitions, or every partition: each one without a
   * valid leader gets a live replica as leader even from outside the ISR (acknowledged records
   * only the dead ISR held are lost), whatever unclean.leader.election.enable says.
   */
  electUncleanLeaders(partitions?: TopicPartitionRef[]): Promise<ElectionResult[]> {
    return this.electOnDemand('unclean', electUnclean, partitions);
  }

  /** One election per partition, each written by compare-and-swap on the state it was decided on. */
  private async electOnDemand(type: 'preferred' | 'unclean', decide: (p: CurrentPartition, live: LiveBrokers, shuttingDown: ReadonlySet<number>) => Election, partitions?: TopicPartitionRef[]): Promise<ElectionResult[]> {
    const writer = this.requireWriter();
    const view = await this.read();
    const wanted = partitions ?? [...view.partitions.keys()].map((k) => parseKey(`${PARTITIONS_PREFIX}${k}`)).flatMap((k) => (k?.kind === 'partition' ? [{ topic: k.topic, partition: k.partition }] : []));
    const out: ElectionResult[] = [];
    for (const ref of wanted) {
      const current = this.currentOf(view, ref);
      if (current === null) {
        out.push({ ...ref, outcome: 'unknown-partition' });
        continue;
      }
      const decision = decide(current, view.live, view.shuttingDown);
      if (decision.outcome !== 'elected') {
        out.push({ ...ref, outcome: decision.outcome });
        continue;
      }
      const result = await writer.swapPartition(ref.topic, ref.partition, current.modRevision, decision.state);
      if (result === 'written') {
        const { leader, leaderEpoch, isr } = decision.state;
        // An unclean winner from outside the old ISR drops whatever only that ISR held.
        const lossy = type === 'unclean' && !current.state.isr.includes(leader);
        const fields = { ...ref, leader, leaderEpoch, isr, electionType: type };
        if (lossy) this.logger.warn(fields, 'unclean leader elected from outside the ISR; records only the old ISR held are lost');
        else this.logger.info(fields, 'leader elected on demand');
      }
      out.push({ ...ref, outcome: result === 'written' ? 'elected' : 'conflict' });
    }
    return out;
  }

  private currentOf(view: ClusterRead, ref: TopicPartitionRef): CurrentPartition | null {
    const state = view.partitions.get(`${ref.topic}/${ref.partition}`);
    const replicas = view.topics.get(ref.topic)?.value.replicas[ref.partition];
    return state === undefined || replicas === undefined ? null : { state: state.value, modRevision: state.modRevision, replicas };
  }

  /** One auto-rebalance check: preferred elections for brokers over the imbalance threshold. */
  async rebalanceImbalanced(): Promise<ElectionResult[]> {
    if (this.activeEpoch() === null) return [];
    const view = await this.read();
    const refs: TopicPartitionRef[] = [];
    const currents: CurrentPartition[] = [];
    for (const key of view.partitions.keys()) {
      const parsed = parseKey(`${PARTITIONS_PREFIX}${key}`);
      if (parsed?.kind !== 'partition') continue;
      const current = this.currentOf(view, parsed);
      if (current === null) continue;
      refs.push({ topic: parsed.topic, partition: parsed.partition });
      currents.push(current);
    }
    const over = brokersOverImbalance(currents, this.options.leaderImbalancePerBrokerPercentage);
    const targets = refs.filter((_, i) => over.has(currents[i]!.replicas[0]!) && currents[i]!.state.leader !== currents[i]!.replicas[0]);
    return targets.length === 0 ? [] : this.electPreferredLeaders(targets);
  }

  /** The live brokers as the controller sees them (node id → broker epoch). */
  async liveBrokers(): Promise<LiveBrokers> {
    return (await this.read()).live;
  }
}
