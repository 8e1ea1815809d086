/**
 * Which member may act in a classic group (used by group.ts): Kafka's static-member fencing
 * (isStaticMemberFenced, validateMember) and its validateOffsetCommit. Each answers 0 or
 * Kafka's error code; none changes the group.
 */
import { ErrorCode } from '../../../protocol/errors.js';
import type { ClassicGroupView } from './answers.js';

/** Kafka's isStaticMemberFenced: the instance id is held by another member id. */
export function isFenced(group: ClassicGroupView, memberId: string, groupInstanceId: string | null): boolean {
  if (groupInstanceId === null) return false;
  const current = group.staticMembers.get(groupInstanceId);
  return current !== undefined && current !== memberId;
}

/** Kafka's validateMember: an instance id must map to exactly this member id. */
function checkInstance(group: ClassicGroupView, memberId: string, groupInstanceId: string): number {
  const current = group.staticMembers.get(groupInstanceId);
  if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
  return current === memberId ? 0 : ErrorCode.FENCED_INSTANCE_ID;
}

function checkMember(group: ClassicGroupView, memberId: string, groupInstanceId: string | null): number {
  if (groupInstanceId !== null) return checkInstance(group, memberId, groupInstanceId);
  return group.members.has(memberId) ? 0 : ErrorCode.UNKNOWN_MEMBER_ID;
}

/**
 * Kafka's ClassicGroup.validateOffsetCommit: 0 when an OffsetCommit with these ids may
 * write, else the error code. Generation -1 with no member id is an admin or "simple"
 * consumer commit, allowed only while the group is Empty.
 */
export function validateOffsetCommit(group: ClassicGroupView, memberId: string, groupInstanceId: string | null, generationId: number): number {
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (generationId < 0 && group.state === 'Empty') return 0;
  if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
    const known = checkMember(group, memberId, groupInstanceId);
    if (known !== 0) return known;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  } else if (group.state !== 'Empty') {
    return ErrorCode.UNKNOWN_MEMBER_ID;
  }
  // A member of the new generation that has not synced yet owns nothing it could commit.
  return group.state === 'CompletingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : 0;
}
