/**
 * What a classic group answers (used by group.ts): JoinGroup and SyncGroup results, their error
 * forms, and the DescribeGroups summary, built from the group's current generation. Pure: they
 * read the group, never change it.
 */
import { ClassicMember, EMPTY_BYTES, type JoinResult, type SyncResult } from './member.js';
import type { ClassicGroupSummary, ClassicState } from './types.js';

/** The parts of a ClassicGroup the answers and the member checks read. */
export interface ClassicGroupView {
  readonly state: ClassicState;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leaderId: string | null;
  readonly members: ReadonlyMap<string, ClassicMember>;
  /** group.instance.id → member id of the static member holding it. */
  readonly staticMembers: ReadonlyMap<string, string>;
}

export function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

/** The join answer of `member` in the current generation; only the leader gets the members. */
export function joinResult(group: ClassicGroupView, member: ClassicMember): JoinResult {
  const isLeader = member.memberId === group.leaderId;
  return {
    errorCode: 0,
    generationId: group.generationId,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    leader: group.leaderId ?? '',
    memberId: member.memberId,
    members: isLeader
      ? [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(group.protocolName) }))
      : [],
  };
}

export function syncResult(group: ClassicGroupView, member: ClassicMember): SyncResult {
  return { errorCode: 0, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
}

/**
 * Kafka's GroupMetadata.summary: members with their metadata and assignment only while
 * Stable (the protocol is empty otherwise).
 */
export function describeGroup(group: ClassicGroupView): ClassicGroupSummary {
  const stable = group.state === 'Stable';
  return {
    state: group.state,
    protocolType: group.protocolType ?? '',
    protocolName: stable ? (group.protocolName ?? '') : '',
    generationId: group.generationId,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: stable ? m.metadataFor(group.protocolName) : EMPTY_BYTES,
      assignment: stable ? m.assignment : EMPTY_BYTES,
    })),
  };
}
