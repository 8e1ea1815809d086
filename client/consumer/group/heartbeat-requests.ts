/**
 * The ConsumerGroupHeartbeat requests a member sends and the assignment it reads back (used by
 * membership.ts; the protocol is in docs/OPERATIONS.md, "## Consumer groups").
 */
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../../protocol/apis/consumer-group-heartbeat.js';
import { LEAVE_GROUP_MEMBER_EPOCH } from '../../../protocol/apis/consumer-group-heartbeat.js';
import { partitionKey } from '../../topic-partition.js';
import type { TopicPartition } from '../../types.js';
import type { Subscription } from './subscription.js';

/** Who is heartbeating, with which timeouts. */
export interface HeartbeatMember {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
}

/**
 * A heartbeat reporting `owned`; the subscription is sent only when `subscription` is given
 * (a "full" heartbeat), null fields meaning "as last time".
 */
export function heartbeatRequest(member: HeartbeatMember, owned: Iterable<TopicPartition>, subscription: Subscription | null): ConsumerGroupHeartbeatRequest {
  const byTopic = new Map<string, number[]>();
  for (const tp of owned) {
    let ps = byTopic.get(tp.topic);
    if (ps === undefined) byTopic.set(tp.topic, (ps = []));
    ps.push(tp.partition);
  }
  return {
    ...member,
    subscribedTopicNames: subscription === null ? null : subscription.names,
    subscribedTopicRegex: subscription === null ? null : (subscription.regex ?? ''),
    // Always sent: null would mean "as last time", which is wrong after any change (OPERATIONS.md).
    ownedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) })),
  };
}

/** The heartbeat that leaves the group (memberEpoch -1), which frees its partitions at once. */
export function leaveRequest(member: Omit<HeartbeatMember, 'memberEpoch'>): ConsumerGroupHeartbeatRequest {
  return { ...member, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH, subscribedTopicNames: null, subscribedTopicRegex: null, ownedPartitions: [] };
}

/** The assignment a response carries (partition key → partition), or null when it has none. */
export function assignmentOf(response: ConsumerGroupHeartbeatResponse): Map<string, TopicPartition> | null {
  if (response.assignment === null) return null;
  const target = new Map<string, TopicPartition>();
  for (const t of response.assignment.topicPartitions) for (const partition of t.partitions) target.set(partitionKey(t.topic, partition), { topic: t.topic, partition });
  return target;
}
