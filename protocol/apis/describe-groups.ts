/**
 * DescribeGroups (key 15). State, members and, per committed partition, the committed
 * offset, the partition's log end offset and the lag (LEO - committed), computed by the
 * coordinator (on one broker it hosts every partition; see "Groups on a cluster" for clusters).
 *
 *   request:  { groupIds: [groupId] }
 *   response: { groups: [{ groupId, errorCode, errorMessage, state, groupEpoch, assignmentEpoch,
 *               members: [{ memberId, clientId, clientHost, memberEpoch, subscribedTopicNames,
 *                           subscribedTopicRegex, assignment: [{ topic, partitions }], targetAssignment }],
 *               offsets: [{ topic, partition, committedOffset, metadata, logEndOffset, lag }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, GroupId, Int32, Int64, NullableString, PartitionIndex, type StaticRequest, TopicPartitions } from './common.js';
import { GroupState } from './list-groups.js';

export const DescribeGroupsRequest = Type.Object({ groupIds: Type.Array(GroupId(), { minItems: 1, maxItems: 10000 }) });
export const DescribedMember = Type.Object({
  memberId: Type.String(),
  clientId: Type.String(),
  clientHost: Type.String(),
  memberEpoch: Int32(),
  subscribedTopicNames: Type.Array(Type.String()),
  subscribedTopicRegex: NullableString(),
  assignment: TopicPartitions(),
  targetAssignment: TopicPartitions(),
});
export const DescribedOffset = Type.Object({
  topic: Type.String(),
  partition: PartitionIndex(),
  committedOffset: Int64({ minimum: -1 }),
  metadata: NullableString(),
  logEndOffset: Int64({ minimum: -1 }),
  lag: Int64({ minimum: -1 }),
});
export const DescribeGroupsResponse = Type.Object({
  groups: Type.Array(
    Type.Object({
      groupId: Type.String(),
      errorCode: ErrorCodeField(),
      errorMessage: NullableString(),
      state: GroupState,
      groupEpoch: Int32(),
      assignmentEpoch: Int32(),
      members: Type.Array(DescribedMember),
      offsets: Type.Array(DescribedOffset),
    }),
  ),
});
export type DescribeGroupsRequest = StaticRequest<typeof DescribeGroupsRequest>;
export type DescribeGroupsResponse = Static<typeof DescribeGroupsResponse>;
export type DescribedMember = Static<typeof DescribedMember>;
export type DescribedOffset = Static<typeof DescribedOffset>;
