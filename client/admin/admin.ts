/**
 * Admin: the cluster (describe, leader elections), topics (create, delete, list, describe with
 * replicas, ISR and log start/end offsets), topic configs, offsets by time, and consumer groups
 * (list, describe with lag, delete, committed offsets, offset reset for replay). One job per
 * module: channel.ts routes and retries requests, cluster.ts, topics.ts, groups.ts and
 * offsets.ts make the calls; this class is the public face.
 *
 * Every failing topic or partition of a request is reported in one RillError (the first
 * failure's code; the message names them all).
 */
import type { GroupState } from '../../protocol/apis/index.js';
import type { ClientContext } from '../context.js';
import type { ConfigDescription, PartitionOffsets, RetryOptions, TopicDescription } from '../types.js';
import { AdminChannel } from './channel.js';
import * as cluster from './cluster.js';
import * as groups from './groups.js';
import type { TopicScope } from './offset-reset.js';
import * as offsets from './offsets.js';
import * as topics from './topics.js';
import type {
  AdminCallOptions,
  ClusterDescription,
  CommittedOffsets,
  ElectLeadersOptions,
  CreateTopicsOptions,
  GroupDescription,
  GroupOverview,
  LeaderElectionResult,
  ResetOffsetsOptions,
  ResetOffsetsResult,
} from './types.js';

export type * from './types.js';

export class Admin {
  private readonly channel: AdminChannel;

  constructor(ctx: ClientContext, config: { retry?: Partial<RetryOptions> } = {}) {
    this.channel = new AdminChannel(ctx, config);
  }

  async connect(opts: AdminCallOptions = {}): Promise<void> {
    await this.channel.controller(opts.signal);
  }

  /** The cluster id, the controller (-1: none right now) and the live brokers. */
  describeCluster(opts: AdminCallOptions = {}): Promise<ClusterDescription> {
    return cluster.describeCluster(this.channel, opts);
  }

  /**
   * Preferred (default) or unclean leader election by the controller, per partition asked for
   * (every partition when `partitions` is omitted): elected, not needed, or failed with why.
   */
  electLeaders(opts: ElectLeadersOptions = {}): Promise<LeaderElectionResult[]> {
    return cluster.electLeaders(this.channel, opts);
  }

  /**
   * Creates topics (with `replicationFactor`, or `replicaAssignment` to place replicas by hand);
   * rejects naming every topic that failed (e.g. TOPIC_ALREADY_EXISTS).
   */
  createTopics(opts: CreateTopicsOptions & AdminCallOptions): Promise<void> {
    return topics.createTopics(this.channel, opts);
  }

  deleteTopics(opts: { topics: string[]; timeoutMs?: number } & AdminCallOptions): Promise<void> {
    return topics.deleteTopics(this.channel, opts);
  }

  /** Every topic name, sorted. */
  listTopics(opts: AdminCallOptions = {}): Promise<string[]> {
    return topics.listTopics(this.channel, opts);
  }

  /**
   * Topics with, per partition, the leader (-1: offline), leader epoch, replicas, ISR, offline
   * replicas and log start/end offsets (all topics when `topics` is omitted; offsets -1 with
   * `includeOffsets: false`, which asks Metadata only).
   */
  describeTopics(opts: { topics?: string[]; includeOffsets?: boolean } & AdminCallOptions = {}): Promise<TopicDescription[]> {
    return topics.describeTopics(this.channel, opts);
  }

  /** A topic's configs, each with its value and where it comes from. */
  describeConfigs(opts: { topic: string; configNames?: string[] } & AdminCallOptions): Promise<{ topic: string; configs: ConfigDescription[] }> {
    return topics.describeConfigs(this.channel, opts);
  }

  /** Sets topic configs (a null value reverts that config to its default); others are untouched. */
  alterConfigs(opts: { topic: string; configs: Record<string, string | null>; validateOnly?: boolean } & AdminCallOptions): Promise<void> {
    return topics.alterConfigs(this.channel, opts);
  }

  /**
   * Per partition, the first offset whose timestamp is >= `timestampMs`, or -1 when no record
   * is that recent (Kafka's offsetsForTimes).
   */
  offsetsForTimes(topic: string, timestampMs: number, opts: AdminCallOptions = {}): Promise<Array<{ partition: number; offset: number }>> {
    return topics.offsetsForTimes(this.channel, topic, timestampMs, opts);
  }

  /** Per partition: log start (`low`) and end (`high`, also `offset`) offsets, as KafkaJS reports them. */
  fetchTopicOffsets(topic: string, opts: AdminCallOptions = {}): Promise<PartitionOffsets[]> {
    return topics.fetchTopicOffsets(this.channel, topic, opts);
  }

  /** Every group of the cluster (with live members or committed offsets), sorted; `states` filters. */
  listGroups(opts: { states?: GroupState[] } & AdminCallOptions = {}): Promise<GroupOverview[]> {
    return groups.listGroups(this.channel, opts);
  }

  /**
   * A group's state, members and, per partition it committed or a member holds: committed
   * offset, log end offset and lag. GROUP_ID_NOT_FOUND when the group has neither members nor
   * committed offsets.
   */
  describeGroup(groupId: string, opts: AdminCallOptions = {}): Promise<GroupDescription> {
    return groups.describeGroup(this.channel, groupId, opts);
  }

  /** Deletes a group and its committed offsets; only an empty group (NON_EMPTY_GROUP otherwise). */
  deleteGroup(groupId: string, opts: AdminCallOptions = {}): Promise<void> {
    return groups.deleteGroup(this.channel, groupId, opts);
  }

  /**
   * A group's committed offsets: every committed partition when `topics` is omitted; otherwise
   * the given topics (all their partitions, or the listed ones), with `offset: null` where the
   * group has committed nothing.
   */
  fetchOffsets(groupId: string, topics?: Array<string | TopicScope>, opts: AdminCallOptions = {}): Promise<CommittedOffsets[]> {
    return offsets.fetchOffsets(this.channel, groupId, topics, opts);
  }

  /**
   * Plans (and with `execute: true` applies) a reset of a group's committed offsets, as
   * `kafka-consumer-groups --reset-offsets`: see client/admin/offset-reset.ts for the strategies and
   * the clamping into [log start, log end]. Executing is refused by the coordinator with
   * NON_EMPTY_GROUP (and its message) while the group has live members.
   */
  resetOffsets(opts: ResetOffsetsOptions): Promise<ResetOffsetsResult> {
    return offsets.resetOffsets(this.channel, opts);
  }
  close(): Promise<void> {
    return this.channel.close();
  }
}
