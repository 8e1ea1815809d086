/** Admin calls on consumer groups: list, describe (members, committed offsets, lag), delete. */
import type { DescribeGroupsResponse, GroupState } from '../../protocol/apis/index.js';
import { LATEST_TIMESTAMP } from '../../protocol/apis/index.js';
import { ErrorCode, RillError, errorFromCode, rillError } from '../../protocol/errors.js';
import { withRetry } from '../retry.js';
import type { AdminChannel } from './channel.js';
import { comparePartitions, partitionKey } from './offset-reset.js';
import type { AdminCallOptions, GroupDescription, GroupMemberDescription, GroupOverview, GroupPartitionDescription, GroupTopicPartitions } from './types.js';

/** Every group of the cluster (with live members or committed offsets), sorted; `states` filters. */
export async function listGroups(ch: AdminChannel, opts: { states?: GroupState[] } & AdminCallOptions = {}): Promise<GroupOverview[]> {
  const signal = opts.signal;
  return withRetry(
    ch.retry,
    async () => {
      const md = await ch.metadata.refresh([], signal);
      const nodes = md.brokers.map((b) => b.nodeId);
      const responses = await Promise.all(
        nodes.map(async (node) => ({ node, response: await ch.pool.forNode(node).request('ListGroups', { statesFilter: opts.states ?? null }, { signal }) })),
      );
      const groups = new Map<string, GroupState>();
      for (const { node, response } of responses) {
        if (response.errorCode !== ErrorCode.NONE) throw errorFromCode(response.errorCode, `listing groups on broker ${node} failed`);
        for (const g of response.groups) groups.set(g.groupId, g.groupState);
      }
      return [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([groupId, state]) => ({ groupId, state }));
    },
    { signal },
  );
}

/**
 * A group's state, members and, per partition it committed or a member holds: committed
 * offset, log end offset and lag. GROUP_ID_NOT_FOUND when the group has neither members nor
 * committed offsets.
 */
export async function describeGroup(ch: AdminChannel, groupId: string, opts: AdminCallOptions = {}): Promise<GroupDescription> {
  checkGroupId(groupId);
  const g = await describeGroupRaw(ch, groupId, opts.signal);
  const members: GroupMemberDescription[] = g.members.map((m) => ({
    memberId: m.memberId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    memberEpoch: m.memberEpoch,
    subscribedTopicNames: [...m.subscribedTopicNames],
    subscribedTopicRegex: m.subscribedTopicRegex,
    assignment: sortedTopicPartitions(m.assignment),
    targetAssignment: sortedTopicPartitions(m.targetAssignment),
  }));
  const owner = new Map<string, string>();
  for (const m of members) for (const t of m.assignment) for (const p of t.partitions) owner.set(partitionKey(t.topic, p), m.memberId);
  const rows = new Map<string, GroupPartitionDescription>();
  for (const o of g.offsets) {
    const key = partitionKey(o.topic, o.partition);
    rows.set(key, {
      topic: o.topic,
      partition: o.partition,
      committedOffset: o.committedOffset < 0 ? null : o.committedOffset,
      metadata: o.metadata,
      logEndOffset: o.logEndOffset < 0 ? null : o.logEndOffset,
      lag: o.lag < 0 || o.committedOffset < 0 ? null : o.lag,
      memberId: owner.get(key) ?? null,
    });
  }
  // Held but never committed: the coordinator reports no offset row, so read the log end here.
  const uncommitted: Array<{ topic: string; partition: number }> = [];
  for (const m of members) {
    for (const t of m.assignment) {
      for (const partition of t.partitions) {
        const key = partitionKey(t.topic, partition);
        if (rows.has(key)) continue;
        rows.set(key, { topic: t.topic, partition, committedOffset: null, metadata: null, logEndOffset: null, lag: null, memberId: m.memberId });
        uncommitted.push({ topic: t.topic, partition });
      }
    }
  }
  if (uncommitted.length > 0) {
    try {
      const ends = await ch.listOffsets(uncommitted.map((r) => ({ ...r, timestamp: LATEST_TIMESTAMP })), opts.signal);
      for (const r of uncommitted) rows.get(partitionKey(r.topic, r.partition))!.logEndOffset = ends.get(partitionKey(r.topic, r.partition)) ?? null;
    } catch (err) {
      // A held partition whose topic was deleted meanwhile: describe the rest, log end unknown.
      if (!(err instanceof RillError) || err.code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw err;
    }
  }
  return {
    groupId,
    state: g.state,
    groupEpoch: g.groupEpoch,
    assignmentEpoch: g.assignmentEpoch,
    members,
    partitions: [...rows.values()].sort(comparePartitions),
  };
}

/** Deletes a group and its committed offsets; only an empty group (NON_EMPTY_GROUP otherwise). */
export async function deleteGroup(ch: AdminChannel, groupId: string, opts: AdminCallOptions = {}): Promise<void> {
  checkGroupId(groupId);
  await ch.groupCall(groupId, opts.signal, async (conn) => {
    const response = await conn.request('DeleteGroups', { groupIds: [groupId] }, { signal: opts.signal });
    const r = response.results.find((x) => x.groupId === groupId);
    if (r === undefined) throw rillError('UNKNOWN_SERVER_ERROR', `the coordinator did not answer for group '${groupId}'`);
    if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, r.errorMessage ?? `cannot delete group '${groupId}'`);
  });
  ch.forgetCoordinator(groupId);
}

async function describeGroupRaw(ch: AdminChannel, groupId: string, signal?: AbortSignal): Promise<DescribeGroupsResponse['groups'][number]> {
  return ch.groupCall(groupId, signal, async (conn) => {
    const response = await conn.request('DescribeGroups', { groupIds: [groupId] }, { signal });
    const g = response.groups.find((x) => x.groupId === groupId);
    if (g === undefined) throw rillError('UNKNOWN_SERVER_ERROR', `the coordinator did not describe group '${groupId}'`);
    if (g.errorCode !== ErrorCode.NONE) throw errorFromCode(g.errorCode, g.errorMessage ?? `cannot describe group '${groupId}'`);
    return g;
  });
}

/** Live members of a group; 0 for a group that does not exist yet. */
export async function liveMembers(ch: AdminChannel, groupId: string, signal?: AbortSignal): Promise<number> {
  try {
    return (await describeGroupRaw(ch, groupId, signal)).members.length;
  } catch (err) {
    if (err instanceof RillError && err.is('GROUP_ID_NOT_FOUND')) return 0;
    throw err;
  }
}

export function checkGroupId(groupId: string): void {
  if (typeof groupId !== 'string' || groupId.length === 0 || groupId.length > 255) throw new RangeError(`groupId must be a string of 1-255 characters, got ${JSON.stringify(groupId)}`);
}

function sortedTopicPartitions(list: ReadonlyArray<{ topic: string; partitions: number[] }>): GroupTopicPartitions[] {
  return [...list]
    .map((t) => ({ topic: t.topic, partitions: [...t.partitions].sort((a, b) => a - b) }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}
