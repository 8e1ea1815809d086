/** The admin's public option and result types (client/admin/*). */
import type { GroupState } from '../../protocol/apis/index.js';
import type { RillError } from '../../protocol/errors.js';
import type { ITopicConfig } from '../types.js';
import type { PlannedOffset, ResetStrategy, TopicScope } from './offset-reset.js';

export interface CreateTopicsOptions {
  topics: ITopicConfig[];
  validateOnly?: boolean;
  timeoutMs?: number;
}

export interface AdminCallOptions {
  signal?: AbortSignal;
}

export type { GroupState } from '../../protocol/apis/index.js';

/** One group as ListGroups reports it. */
export interface GroupOverview {
  groupId: string;
  /** 'empty' | 'assigning' | 'reconciling' | 'stable' (docs/OPERATIONS.md "Consumer groups"). */
  state: GroupState;
}

export interface GroupTopicPartitions {
  topic: string;
  partitions: number[];
}

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  /** Address of the member's connection, as the coordinator saw it. */
  clientHost: string;
  memberEpoch: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  /** Partitions the member holds now (pending revocations included). */
  assignment: GroupTopicPartitions[];
  /** Partitions the coordinator means it to hold once the group is reconciled. */
  targetAssignment: GroupTopicPartitions[];
}

/** One partition the group has committed an offset for or a member holds. */
export interface GroupPartitionDescription {
  topic: string;
  partition: number;
  /** null: nothing committed yet. */
  committedOffset: number | null;
  metadata: string | null;
  /** null when the partition no longer exists (or its end could not be read). */
  logEndOffset: number | null;
  /** max(0, logEndOffset - committedOffset); null without a committed offset or a log end. */
  lag: number | null;
  /** The live member holding the partition, or null. */
  memberId: string | null;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  groupEpoch: number;
  assignmentEpoch: number;
  members: GroupMemberDescription[];
  /** Sorted by topic, then partition. */
  partitions: GroupPartitionDescription[];
}

export interface CommittedOffsets {
  topic: string;
  /** offset null: nothing committed for that partition. */
  partitions: Array<{ partition: number; offset: number | null; metadata: string | null }>;
}

export interface ResetOffsetsOptions extends AdminCallOptions {
  groupId: string;
  /** Topics to reset (every partition, or the listed ones). Exactly one of topics / allTopics (optional with fromPlan, where it filters the plan). */
  topics?: TopicScope[];
  /** Every partition the group has committed offsets for, in topics that still exist. */
  allTopics?: boolean;
  strategy: ResetStrategy;
  /** Write the plan (AlterGroupOffsets). Default false: a dry run that only returns the plan. */
  execute?: boolean;
}

export interface ResetOffsetsResult {
  /** Sorted by topic, then partition; every newOffset clamped into [log start, log end]. */
  plan: PlannedOffset[];
  executed: boolean;
  /** Live members when the plan was made: with any, an execute is refused (NON_EMPTY_GROUP). */
  liveMembers: number;
}

export interface ClusterBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface ClusterDescription {
  clusterId: string;
  /** -1 while the cluster has no controller (an election is under way). */
  controllerId: number;
  /** Live brokers (registered under a live lease), sorted by node id. */
  brokers: ClusterBroker[];
}

export type LeaderElectionType = 'preferred' | 'unclean';

export interface ElectLeadersOptions extends AdminCallOptions {
  /**
   * 'preferred' (default): move leadership back to each partition's first replica when it is
   * live and in sync. 'unclean': elect a leader for partitions that have none, from outside the
   * ISR if need be (acknowledged records may be lost).
   */
  electionType?: LeaderElectionType;
  /** Topics (all their partitions, or the listed ones); omitted: every partition of the cluster. */
  partitions?: Array<{ topic: string; partitions?: number[] }>;
  /** How long the controller may take (default: the client's requestTimeoutMs). */
  timeoutMs?: number;
}

export interface LeaderElectionResult {
  topic: string;
  partition: number;
  /** 'not-needed': already led as asked (ELECTION_NOT_NEEDED). */
  outcome: 'elected' | 'not-needed' | 'failed';
  /** Why it failed (PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, ...). */
  error: RillError | null;
}
