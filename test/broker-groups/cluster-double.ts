/**
 * A ClusterHandle (broker/cluster/handle.ts) that a test drives by hand, over real
 * PartitionLogs in a temp dir: the test says who leads what (`setRole` emits 'partition-role'
 * as the real handle does once the local log is ready), which brokers are live, and how
 * appendAsLeader behaves (a local append; with `holdAppends` it then waits, as for the ISR,
 * until the test releases or fails it; `failAppends` rejects before appending). It stands in for the interface only: the logs
 * and their files are real.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type {
  ClusterBrokerInfo,
  ClusterHandle,
  ClusterPartitionInfo,
  ClusterTopicInfo,
  CreateClusterTopic,
  ElectLeadersResult,
  LocalPartitionRole,
  PartitionRoleChange,
} from '../../broker/cluster/handle.js';
import { rillError, type RillError } from '../../protocol/errors.js';
import { parseLogConfig } from '../../storage/log-config.js';
import { PartitionLog, type AppendResult } from '../../storage/partition-log.js';

interface HeldAppend {
  topic: string;
  partition: number;
  acks: 1 | -1;
  timeoutMs: number;
  release: () => void;
  fail: (err: RillError) => void;
}

export class ClusterDouble implements ClusterHandle {
  readonly clusterId = 'test-cluster';
  readonly brokers: ClusterBrokerInfo[];
  readonly created: CreateClusterTopic[] = [];
  readonly held: HeldAppend[] = [];
  holdAppends = false;
  failAppends: RillError | null = null;
  /** How many appendAsLeader calls reached this handle (held, failed or done). */
  appendCalls = 0;
  private readonly topicInfos = new Map<string, ClusterTopicInfo>();
  private readonly partitionInfos = new Map<string, ClusterPartitionInfo>();
  private readonly roles = new Map<string, { role: LocalPartitionRole; leaderEpoch: number }>();
  private readonly logs = new Map<string, PartitionLog>();
  private readonly events = new EventEmitter();

  constructor(
    readonly nodeId: number,
    private readonly dir: string,
    liveBrokerIds: number[],
  ) {
    this.brokers = liveBrokerIds.map((id) => ({ nodeId: id, host: `broker-${id}.test`, port: 9000 + id, kafkaHost: `broker-${id}.test`, kafkaPort: null, rack: null }));
  }

  controllerId(): number | null {
    return this.brokers[0]?.nodeId ?? null;
  }

  liveBrokers(): readonly ClusterBrokerInfo[] {
    return this.brokers;
  }

  topics(): readonly ClusterTopicInfo[] {
    return [...this.topicInfos.values()];
  }

  topic(name: string): ClusterTopicInfo | undefined {
    return this.topicInfos.get(name);
  }

  partition(topic: string, partition: number): ClusterPartitionInfo | undefined {
    return this.partitionInfos.get(`${topic}-${partition}`);
  }

  localRole(topic: string, partition: number): { role: LocalPartitionRole; leaderEpoch: number } {
    return this.roles.get(`${topic}-${partition}`) ?? { role: 'none', leaderEpoch: -1 };
  }

  /**
   * Creates the topic with a real local log per partition (this broker holds a replica of
   * each), every partition led by `leader` at epoch 0 with no role event (as if this broker
   * only now learned of it), unless `leader` is this broker: then localRole says leader too.
   */
  async createTopic(request: CreateClusterTopic, leader = this.nodeId): Promise<ClusterTopicInfo> {
    if (this.topicInfos.has(request.name)) throw rillError('TOPIC_ALREADY_EXISTS', `topic '${request.name}' already exists`);
    this.created.push(request);
    const config = parseLogConfig({ ...(request.configs ?? {}) });
    for (let p = 0; p < request.numPartitions; p++) {
      const key = `${request.name}-${p}`;
      this.logs.set(key, await PartitionLog.open({ topic: request.name, partition: p, dir: join(this.dir, key), config, recoveryPoint: null }));
      this.partitionInfos.set(key, { leader, leaderEpoch: 0, replicas: [leader], isr: [leader], offlineReplicas: [] });
      this.roles.set(key, { role: leader === this.nodeId ? 'leader' : 'follower', leaderEpoch: 0 });
    }
    const info: ClusterTopicInfo = { name: request.name, topicId: `id-${request.name}`, partitions: request.numPartitions, internal: request.name.startsWith('__'), configs: request.configs ?? {} };
    this.topicInfos.set(request.name, info);
    return info;
  }

  /** The leadership moves: cluster metadata first, then this broker's role and its event. */
  setRole(topic: string, partition: number, leader: number, leaderEpoch: number, opts: { emit?: boolean } = {}): void {
    const key = `${topic}-${partition}`;
    const info = this.partitionInfos.get(key);
    if (info === undefined) throw new Error(`no partition ${key}`);
    this.partitionInfos.set(key, { ...info, leader, leaderEpoch });
    const role: LocalPartitionRole = leader === this.nodeId ? 'leader' : 'follower';
    this.roles.set(key, { role, leaderEpoch });
    if (opts.emit !== false) this.events.emit('partition-role', { topic, partition, role, leaderEpoch } satisfies PartitionRoleChange);
  }

  async deleteTopic(name: string): Promise<void> {
    throw rillError('INVALID_REQUEST', `the test double does not delete topics (${name})`);
  }

  async electLeaders(): Promise<ElectLeadersResult[]> {
    return [];
  }

  async appendAsLeader(topic: string, partition: number, batches: Buffer, acks: 1 | -1, timeoutMs: number): Promise<AppendResult> {
    this.appendCalls++;
    const key = `${topic}-${partition}`;
    if (this.localRole(topic, partition).role !== 'leader') throw rillError('NOT_LEADER_OR_FOLLOWER', `broker ${this.nodeId} does not lead ${key}`);
    if (this.failAppends !== null) throw this.failAppends;
    // As the real leader: the local append first, then (acks=-1) the wait for the ISR.
    const result = await this.logs.get(key)!.append(batches);
    if (this.holdAppends) {
      await new Promise<void>((resolve, reject) => this.held.push({ topic, partition, acks, timeoutMs, release: resolve, fail: reject }));
    }
    return result;
  }

  checkLeader(topic: string, partition: number, currentLeaderEpoch?: number): RillError | null {
    const key = `${topic}-${partition}`;
    if (!this.partitionInfos.has(key)) return rillError('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${key}`);
    const { role, leaderEpoch } = this.localRole(topic, partition);
    if (role !== 'leader') return rillError('NOT_LEADER_OR_FOLLOWER', `broker ${this.nodeId} does not lead ${key}`);
    if (currentLeaderEpoch !== undefined && currentLeaderEpoch >= 0 && currentLeaderEpoch !== leaderEpoch) {
      return currentLeaderEpoch < leaderEpoch
        ? rillError('FENCED_LEADER_EPOCH', `${key}: epoch ${currentLeaderEpoch} is older than ${leaderEpoch}`)
        : rillError('UNKNOWN_LEADER_EPOCH', `${key}: epoch ${currentLeaderEpoch} is newer than ${leaderEpoch}`);
    }
    return null;
  }

  /** Single-replica partitions here: a follower fetch only has to reach the leader. */
  recordFollowerFetch(topic: string, partition: number): RillError | null {
    return this.checkLeader(topic, partition);
  }

  private nextProducerId = 0;

  async nextProducerIdBlock(): Promise<{ firstProducerId: number; endProducerId: number }> {
    const firstProducerId = this.nextProducerId;
    this.nextProducerId += 1000;
    return { firstProducerId, endProducerId: this.nextProducerId };
  }

  localLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(`${topic}-${partition}`);
  }

  on(event: 'partition-role', listener: (change: PartitionRoleChange) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off(event: 'partition-role', listener: (change: PartitionRoleChange) => void): this {
    this.events.off(event, listener);
    return this;
  }

  listenerCount(): number {
    return this.events.listenerCount('partition-role');
  }

  async close(): Promise<void> {
    for (const h of this.held.splice(0)) h.fail(rillError('REQUEST_TIMED_OUT', 'test over'));
    for (const log of this.logs.values()) await log.close();
    this.logs.clear();
  }
}
