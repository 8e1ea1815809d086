/**
 * Kafka DescribeGroups (key 15) v0-5. A classic group is described as Kafka's GroupMetadata
 * summary: state, protocol type, and while Stable the chosen protocol and each member's
 * metadata and assignment bytes. The rest as Kafka 3.x describes them to this API:
 *  - a group with committed offsets and no members: Empty, no protocol type;
 *  - a KIP-848 group with members (not a classic group): Dead with no members, error 0;
 *  - an unknown group: Dead, error 0; an empty group id: INVALID_GROUP_ID.
 * authorizedOperations stays "not computed" (rill has no ACLs).
 */
import { ERRORS } from '../../../protocol/errors.js';
import type { DESCRIBE_GROUPS, KafkaRequestBody, KafkaResponseInput } from '../../../protocol/kafka/index.js';
import { coordinatorOf } from '../../groups/index.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf } from './group-support.js';

type Described = KafkaResponseInput<typeof DESCRIBE_GROUPS>['groups'] extends Array<infer G> | undefined ? G : never;

export const describeGroupsHandler: KafkaHandler = (ctx, req) => {
  const body = req as KafkaRequestBody<typeof DESCRIBE_GROUPS>;
  const plain = (groupId: string, errorCode: number, groupState: string): Described => ({ errorCode, groupId, groupState, protocolType: '', protocolData: '', members: [] });
  let groups: Described[];
  try {
    const coordinator = coordinatorOf(ctx);
    const ids = body.groups.filter((id) => id !== '');
    const rill = new Map(coordinator.describeGroups({ groupIds: ids }).groups.map((g) => [g.groupId, g]));
    groups = body.groups.map((groupId) => {
      if (groupId === '') return plain(groupId, ERRORS.INVALID_GROUP_ID.code, '');
      const described = rill.get(groupId)!;
      if (described.errorCode === ERRORS.GROUP_ID_NOT_FOUND.code) return plain(groupId, 0, 'Dead');
      if (described.errorCode !== 0) return plain(groupId, described.errorCode, '');
      const classic = coordinator.classic.get(groupId);
      if (classic === undefined) return plain(groupId, 0, described.state === 'empty' ? 'Empty' : 'Dead');
      const summary = classic.describe();
      return {
        errorCode: 0,
        groupId,
        groupState: summary.state,
        protocolType: summary.protocolType,
        protocolData: summary.protocolName,
        members: summary.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: m.metadata,
          memberAssignment: m.assignment,
        })),
      };
    });
  } catch (err) {
    const errorCode = errorCodeOf(ctx, err, 'DescribeGroups');
    groups = body.groups.map((groupId) => plain(groupId, errorCode, ''));
  }
  return { throttleTimeMs: 0, groups } satisfies KafkaResponseInput<typeof DESCRIBE_GROUPS>;
};
