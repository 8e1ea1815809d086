/**
 * Admin calls on a group's committed offsets: fetch them, and plan or execute a reset
 * (`kafka-consumer-groups --reset-offsets`; strategies and clamping in offset-reset.ts).
 */
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../protocol/apis/index.js';
import { ErrorCode, errorFromCode, rillError } from '../../protocol/errors.js';
import { partitionErrors } from '../errors.js';
import { withRetry } from '../retry.js';
import type { AdminChannel } from './channel.js';
import { checkGroupId, liveMembers as liveMembersOf } from './groups.js';
import { buildResetPlan, mergeScopes, partitionKey, resolveStrategy, type PartitionOffsetState, type TopicScope } from './offset-reset.js';
import type { AdminCallOptions, CommittedOffsets, ResetOffsetsOptions, ResetOffsetsResult } from './types.js';

/**
 * A group's committed offsets: every committed partition when `topics` is omitted; otherwise
 * the given topics (all their partitions, or the listed ones), with `offset: null` where the
 * group has committed nothing.
 */
export async function fetchOffsets(ch: AdminChannel, groupId: string, topics?: Array<string | TopicScope>, opts: AdminCallOptions = {}): Promise<CommittedOffsets[]> {
  checkGroupId(groupId);
  let request: Array<{ name: string; partitions: number[] }> | null = null;
  if (topics !== undefined) {
    const scopes = mergeScopes(topics.map((t) => (typeof t === 'string' ? { topic: t } : t)));
    request = (await expandScopes(ch, scopes, opts.signal)).map((s) => ({ name: s.topic, partitions: s.partitions }));
  }
  const response = await ch.groupCall(groupId, opts.signal, async (conn) => {
    const r = await conn.request('OffsetFetch', { groupId, topics: request }, { signal: opts.signal });
    if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, `fetching the offsets of group '${groupId}' failed`);
    const err = partitionErrors(r.topics, `OffsetFetch of group '${groupId}'`);
    if (err !== null) throw err;
    return r;
  });
  return response.topics
    .map((t) => ({
      topic: t.name,
      partitions: [...t.partitions]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => ({ partition: p.partition, offset: p.committedOffset < 0 ? null : p.committedOffset, metadata: p.metadata })),
    }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}

/**
 * Plans (and with `execute: true` applies) a reset of a group's committed offsets, as
 * `kafka-consumer-groups --reset-offsets`: see client/admin/offset-reset.ts for the strategies and
 * the clamping into [log start, log end]. Executing is refused by the coordinator with
 * NON_EMPTY_GROUP (and its message) while the group has live members.
 */
export async function resetOffsets(ch: AdminChannel, opts: ResetOffsetsOptions): Promise<ResetOffsetsResult> {
  const { groupId, signal } = opts;
  checkGroupId(groupId);
  const strategy = resolveStrategy(opts.strategy, Date.now());
  if (opts.allTopics === true && opts.topics !== undefined) throw new RangeError('give either topics or allTopics, not both');
  if (opts.allTopics !== true && opts.topics === undefined && strategy.kind !== 'plan') throw new RangeError('give topics or allTopics: which partitions to reset');
  if (opts.topics !== undefined && opts.topics.length === 0) throw new RangeError('topics is empty');

  // 1. Which partitions.
  let partitions: Array<{ topic: string; partition: number }>;
  if (strategy.kind === 'plan') {
    partitions = [...strategy.offsets.values()].map(({ topic, partition }) => ({ topic, partition }));
    if (opts.topics !== undefined) {
      const scopes = mergeScopes(opts.topics);
      partitions = partitions.filter((p) => scopes.some((s) => s.topic === p.topic && (s.partitions === undefined || s.partitions.includes(p.partition))));
    } else if (opts.allTopics === true) {
      const committed = new Set((await committedPartitions(ch, groupId, signal)).map((p) => partitionKey(p.topic, p.partition)));
      partitions = partitions.filter((p) => committed.has(partitionKey(p.topic, p.partition)));
    }
    await expandScopes(ch, partitions.map((p) => ({ topic: p.topic, partitions: [p.partition] })), signal);
  } else if (opts.allTopics === true) {
    partitions = await existing(ch, await committedPartitions(ch, groupId, signal), signal);
  } else {
    partitions = (await expandScopes(ch, mergeScopes(opts.topics!), signal)).flatMap((s) => s.partitions.map((partition) => ({ topic: s.topic, partition })));
  }

  // 2. What the cluster says about them.
  const [committed, starts, ends, atTime, liveMembers] = await Promise.all([
    committedOffsetsOf(ch, groupId, partitions, signal),
    ch.listOffsets(partitions.map((p) => ({ ...p, timestamp: EARLIEST_TIMESTAMP })), signal),
    ch.listOffsets(partitions.map((p) => ({ ...p, timestamp: LATEST_TIMESTAMP })), signal),
    strategy.kind === 'timestamp' ? ch.listOffsets(partitions.map((p) => ({ ...p, timestamp: strategy.timestampMs })), signal) : Promise.resolve(null),
    liveMembersOf(ch, groupId, signal),
  ]);
  const states: PartitionOffsetState[] = partitions.map((p) => {
    const key = partitionKey(p.topic, p.partition);
    const state: PartitionOffsetState = {
      topic: p.topic,
      partition: p.partition,
      committedOffset: committed.get(key) ?? null,
      logStartOffset: starts.get(key)!,
      logEndOffset: ends.get(key)!,
    };
    if (atTime !== null) state.timestampOffset = atTime.get(key) ?? null;
    return state;
  });

  // 3. The plan, and maybe its execution.
  const plan = buildResetPlan(strategy, states);
  if (opts.execute !== true) return { plan, executed: false, liveMembers };
  const byTopic = new Map<string, Array<{ partition: number; offset: number; metadata: string | null }>>();
  for (const row of plan) {
    let list = byTopic.get(row.topic);
    if (list === undefined) byTopic.set(row.topic, (list = []));
    list.push({ partition: row.partition, offset: row.newOffset, metadata: null });
  }
  await ch.groupCall(groupId, signal, async (conn) => {
    const r = await conn.request('AlterGroupOffsets', { groupId, topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })) }, { signal });
    if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, r.errorMessage ?? `resetting the offsets of group '${groupId}' failed`);
    const err = partitionErrors(r.topics, `AlterGroupOffsets of group '${groupId}'`);
    if (err !== null) throw err;
  });
  return { plan, executed: true, liveMembers };
}

/** Every partition the group has a committed offset for. */
async function committedPartitions(ch: AdminChannel, groupId: string, signal?: AbortSignal): Promise<Array<{ topic: string; partition: number }>> {
  const offsets = await fetchOffsets(ch, groupId, undefined, { signal });
  return offsets.flatMap((t) => t.partitions.filter((p) => p.offset !== null).map((p) => ({ topic: t.topic, partition: p.partition })));
}

/** "topic\0partition" -> committed offset, for the given partitions (absent: none). */
async function committedOffsetsOf(ch: AdminChannel, groupId: string, partitions: ReadonlyArray<{ topic: string; partition: number }>, signal?: AbortSignal): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (partitions.length === 0) return out;
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) {
    let list = byTopic.get(p.topic);
    if (list === undefined) byTopic.set(p.topic, (list = []));
    list.push(p.partition);
  }
  const offsets = await fetchOffsets(ch, groupId, [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })), { signal });
  for (const t of offsets) for (const p of t.partitions) if (p.offset !== null) out.set(partitionKey(t.topic, p.partition), p.offset);
  return out;
}

/** Only the partitions whose topic still exists (committed offsets can outlive their topic). */
async function existing(ch: AdminChannel, partitions: Array<{ topic: string; partition: number }>, signal?: AbortSignal): Promise<Array<{ topic: string; partition: number }>> {
  const topics = [...new Set(partitions.map((p) => p.topic))];
  if (topics.length === 0) return [];
  const response = await withRetry(ch.retry, () => ch.metadata.refresh(topics, signal), { signal });
  const counts = new Map<string, number>();
  for (const t of response.topics) if (t.errorCode === ErrorCode.NONE) counts.set(t.name, t.partitions.length);
  return partitions.filter((p) => p.partition < (counts.get(p.topic) ?? 0));
}

/** Scopes as explicit partition lists: a whole topic becomes all its partitions; unknown topics or partitions are refused. */
async function expandScopes(ch: AdminChannel, scopes: ReadonlyArray<TopicScope>, signal?: AbortSignal): Promise<Array<{ topic: string; partitions: number[] }>> {
  const out: Array<{ topic: string; partitions: number[] }> = [];
  for (const s of scopes) {
    const info = await ch.metadata.topic(s.topic, { signal });
    const count = info.partitions.length;
    if (s.partitions === undefined) {
      out.push({ topic: s.topic, partitions: info.partitions.map((p) => p.partition) });
      continue;
    }
    const missing = s.partitions.filter((p) => p >= count);
    if (missing.length > 0) {
      throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${s.topic}' has ${count} partition(s); partition ${missing.join(', ')} does not exist`, {
        topic: s.topic,
        partition: missing[0]!,
      });
    }
    out.push({ topic: s.topic, partitions: [...s.partitions] });
  }
  return out;
}
