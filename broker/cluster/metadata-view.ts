/**
 * A broker's live view of the cluster: loads every key of the cluster at one revision, then
 * follows them with one etcd watch from the next revision, keeping a ClusterMetadataCache
 * (Metadata answers come from it) and telling the broker, per partition, what it must become.
 * These events are Kafka's LeaderAndIsr / StopReplica requests, read from etcd instead of sent
 * by the controller:
 *
 *   become-leader    {topic, partition, leaderEpoch, partitionEpoch, isr, replicas}
 *   become-follower  {topic, partition, leader, leaderEpoch, replicas}   leader -1: none can lead
 *   stop-replica     {topic, partition}     no longer a replica (or the topic was deleted)
 *
 * Roles are recomputed when the session registers again or loses its lease: a broker without a
 * live lease leads nothing (every leadership turns into follower-of-nobody until the controller
 * confirms it with a newer state). `canAcknowledge` is the check a leader makes before it
 * acknowledges a produce. If the watch fails (e.g. its revision was compacted) the view reloads
 * everything and emits only what changed.
 */
import { EventEmitter } from 'node:events';
import type { IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { ClusterMetadataCache, partitionId, type LocalRole } from './metadata-cache.js';
import type { ClusterStore } from './store.js';
import type { BrokerSessionEvents } from './session.js';
import { SILENT_LOGGER, type ClusterLogger } from './options.js';

/** What the view needs of the local broker's session (BrokerSession provides it). */
export interface LocalSession {
  readonly nodeId: number;
  brokerEpoch(): number | null;
  leaseAlive(): boolean;
  on<K extends keyof BrokerSessionEvents>(event: K, listener: (...args: BrokerSessionEvents[K]) => void): unknown;
  off<K extends keyof BrokerSessionEvents>(event: K, listener: (...args: BrokerSessionEvents[K]) => void): unknown;
}

export interface BecomeLeader {
  topic: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: number[];
  replicas: readonly number[];
}

export interface BecomeFollower {
  topic: string;
  partition: number;
  /** NO_LEADER (-1) when no replica can lead right now. */
  leader: number;
  leaderEpoch: number;
  replicas: readonly number[];
}

export interface ClusterMetadataViewEvents {
  'become-leader': [BecomeLeader];
  'become-follower': [BecomeFollower];
  'stop-replica': [{ topic: string; partition: number }];
  /** Any change to a partition's state or assignment (ISR changes of a leader included). */
  'partition-changed': [{ topic: string; partition: number }];
  'brokers-changed': [];
  'controller-changed': [nodeId: number | null];
  /** A key held a value that failed validation; it was left out of the cache. */
  'invalid-record': [Error];
}

function sameRole(a: LocalRole, b: LocalRole): boolean {
  if (a.role !== b.role) return false;
  if (a.role === 'none' || b.role === 'none') return true;
  if (a.leaderEpoch !== b.leaderEpoch) return false;
  return a.role === 'leader' || (b.role === 'follower' && a.leader === b.leader);
}

export class ClusterMetadataView extends EventEmitter<ClusterMetadataViewEvents> {
  private cacheNow = new ClusterMetadataCache();
  private readonly roles = new Map<string, LocalRole>();
  private watcher: Watcher | null = null;
  private closed = false;
  private readonly onSessionChange = (): void => this.evaluate(this.cacheNow.allPartitions());

  constructor(
    private readonly store: ClusterStore,
    private readonly session: LocalSession,
    private readonly logger: ClusterLogger = SILENT_LOGGER,
  ) {
    super();
  }

  get cache(): ClusterMetadataCache {
    return this.cacheNow;
  }

  async start(): Promise<void> {
    this.session.on('registered', this.onSessionChange);
    this.session.on('lease-lost', this.onSessionChange);
    await this.load();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.session.off('registered', this.onSessionChange);
    this.session.off('lease-lost', this.onSessionChange);
    const w = this.watcher;
    this.watcher = null;
    await w?.cancel().catch(() => undefined);
  }

  /** The role this broker holds for a partition right now. */
  localRole(topic: string, partition: number): LocalRole {
    return this.roles.get(partitionId(topic, partition)) ?? { role: 'none' };
  }

  /** True only while this broker's lease is alive and it is the current leader at `leaderEpoch`. */
  canAcknowledge(topic: string, partition: number, leaderEpoch: number): boolean {
    if (!this.session.leaseAlive()) return false;
    const role = this.cacheNow.localRoleOf(topic, partition, this.session.nodeId, this.session.brokerEpoch());
    return role.role === 'leader' && role.leaderEpoch === leaderEpoch;
  }

  /** Snapshot at one revision, then a watch from the next; replaces the cache and emits the differences. */
  private async load(): Promise<void> {
    const old = this.watcher;
    this.watcher = null;
    await old?.cancel().catch(() => undefined);
    const { revision, kvs } = await this.store.snapshot();
    if (this.closed) return;
    const previous = this.cacheNow.allPartitions();
    const fresh = new ClusterMetadataCache();
    for (const kv of kvs) this.applyKv(fresh, kv);
    fresh.revision = Math.max(fresh.revision, revision);
    this.cacheNow = fresh;
    this.emit('brokers-changed');
    this.emit('controller-changed', fresh.controller?.value.nodeId ?? null);
    this.evaluate([...previous, ...fresh.allPartitions()]);
    const watcher = await this.store.ns.watch().prefix('').startRevision(String(revision + 1)).create();
    if (this.closed) {
      await watcher.cancel();
      return;
    }
    this.watcher = watcher;
    watcher.on('data', (res) => this.onWatch(res));
    watcher.on('error', (err) => {
      this.logger.warn({ err }, 'cluster metadata watch failed; reloading');
      if (this.watcher === watcher) this.load().catch((e: unknown) => this.logger.warn({ err: e }, 'cluster metadata reload failed'));
    });
  }

  private applyKv(cache: ClusterMetadataCache, kv: IKeyValue): Array<[string, number]> {
    try {
      return cache.applyPut(kv);
    } catch (err) {
      this.emit('invalid-record', err as Error);
      return [];
    }
  }

  private onWatch(res: IWatchResponse): void {
    const touched: Array<[string, number]> = [];
    let brokers = false;
    let controller = false;
    for (const ev of res.events) {
      const key = ev.kv.key.toString();
      brokers ||= key.startsWith('brokers/');
      controller ||= key === 'controller';
      if (ev.type === 'Put') touched.push(...this.applyKv(this.cacheNow, ev.kv));
      else touched.push(...this.cacheNow.applyDelete(key, Number(ev.kv.mod_revision)));
    }
    if (brokers) this.emit('brokers-changed');
    if (controller) this.emit('controller-changed', this.cacheNow.controller?.value.nodeId ?? null);
    this.evaluate(touched);
  }

  private evaluate(partitions: Array<[string, number]>): void {
    const seen = new Set<string>();
    const brokerEpoch = this.session.brokerEpoch();
    for (const [topic, partition] of partitions) {
      const id = partitionId(topic, partition);
      if (seen.has(id)) continue;
      seen.add(id);
      this.emit('partition-changed', { topic, partition });
      const before = this.roles.get(id) ?? { role: 'none' as const };
      const after = this.cacheNow.localRoleOf(topic, partition, this.session.nodeId, brokerEpoch);
      if (sameRole(before, after)) continue;
      const replicas = this.cacheNow.replicasOf(topic, partition) ?? [];
      if (after.role === 'none') {
        this.roles.delete(id);
        this.emit('stop-replica', { topic, partition });
      } else if (after.role === 'leader') {
        this.roles.set(id, after);
        const state = this.cacheNow.partitionState(topic, partition)!.value;
        this.emit('become-leader', { topic, partition, leaderEpoch: after.leaderEpoch, partitionEpoch: state.partitionEpoch, isr: [...state.isr], replicas });
      } else {
        this.roles.set(id, after);
        this.emit('become-follower', { topic, partition, leader: after.leader, leaderEpoch: after.leaderEpoch, replicas });
      }
    }
  }
}
