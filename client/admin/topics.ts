/** Admin calls on topics: create (with replica assignments), delete, list, describe (replicas, ISR, log start/end), configs, offsets by time. */
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../protocol/apis/index.js';
import { ErrorCode, errorFromCode, rillError } from '../../protocol/errors.js';
import { topicErrors, unknownTopic } from '../errors.js';
import { withRetry } from '../retry.js';
import type { ConfigDescription, ITopicConfig, PartitionOffsets, TopicDescription } from '../types.js';
import type { AdminChannel } from './channel.js';
import type { AdminCallOptions, CreateTopicsOptions } from './types.js';

/** Creates topics; rejects naming every topic that failed (e.g. TOPIC_ALREADY_EXISTS). */
export async function createTopics(ch: AdminChannel, opts: CreateTopicsOptions & AdminCallOptions): Promise<void> {
  const topics = opts.topics.map((t) => {
    const assignments = assignmentsOf(t);
    return {
      name: t.topic,
      // With an assignment, the broker takes both from it (Kafka's CreateTopics wants -1).
      numPartitions: assignments.length > 0 ? -1 : (t.numPartitions ?? -1),
      replicationFactor: assignments.length > 0 ? -1 : (t.replicationFactor ?? -1),
      configs: t.configs ?? {},
      assignments,
    };
  });
  const response = await ch.call(opts.signal, async (conn) =>
    conn.request('CreateTopics', { topics, timeoutMs: opts.timeoutMs ?? ch.requestTimeoutMs, validateOnly: opts.validateOnly ?? false }, { signal: opts.signal }),
  );
  for (const t of topics) ch.metadata.markStale(t.name);
  const err = topicErrors(response.topics);
  if (err !== null) throw err;
}

/** KafkaJS's replicaAssignment as CreateTopics' assignments; refuses counts that contradict it. */
function assignmentsOf(t: ITopicConfig): Array<{ partitionIndex: number; brokerIds: number[] }> {
  const given = t.replicaAssignment ?? [];
  if (given.length === 0) return [];
  const rf = given[0]!.replicas.length;
  if (t.numPartitions !== undefined && t.numPartitions !== -1 && t.numPartitions !== given.length) {
    throw rillError('INVALID_REPLICA_ASSIGNMENT', `topic '${t.topic}': numPartitions ${t.numPartitions} contradicts the replica assignment of ${given.length} partition(s)`, { topic: t.topic });
  }
  if (t.replicationFactor !== undefined && t.replicationFactor !== -1 && t.replicationFactor !== rf) {
    throw rillError('INVALID_REPLICA_ASSIGNMENT', `topic '${t.topic}': replicationFactor ${t.replicationFactor} contradicts the replica assignment's ${rf} replicas`, { topic: t.topic });
  }
  return given.map((a) => ({ partitionIndex: a.partition, brokerIds: [...a.replicas] }));
}

export async function deleteTopics(ch: AdminChannel, opts: { topics: string[]; timeoutMs?: number } & AdminCallOptions): Promise<void> {
  const response = await ch.call(opts.signal, async (conn) =>
    conn.request('DeleteTopics', { topics: opts.topics, timeoutMs: opts.timeoutMs ?? ch.requestTimeoutMs }, { signal: opts.signal }),
  );
  for (const t of opts.topics) ch.metadata.markStale(t);
  const err = topicErrors(
    response.topics.map((t) => (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && t.errorMessage === null ? { ...t, errorMessage: 'topic does not exist' } : t)),
  );
  if (err !== null) throw err;
}

/** Every topic name, sorted. */
export async function listTopics(ch: AdminChannel, opts: AdminCallOptions = {}): Promise<string[]> {
  const response = await withRetry(ch.retry, () => ch.metadata.refresh(null, opts.signal), { signal: opts.signal });
  return response.topics.filter((t) => t.errorCode === ErrorCode.NONE).map((t) => t.name).sort();
}

/**
 * Topics with each partition's leader, leader epoch, replicas, ISR, offline replicas and log
 * start/end offsets (all topics when `topics` is omitted). A partition without a leader
 * (offline) is described with offsets -1 instead of failing the whole call; so is every
 * partition with `includeOffsets: false` (no ListOffsets: metadata only).
 */
export async function describeTopics(ch: AdminChannel, opts: { topics?: string[]; includeOffsets?: boolean } & AdminCallOptions = {}): Promise<TopicDescription[]> {
  const names = opts.topics ?? (await listTopics(ch, opts));
  const response = await withRetry(ch.retry, () => ch.metadata.refresh(names, opts.signal), { signal: opts.signal });
  const out: TopicDescription[] = [];
  for (const name of names) {
    const t = response.topics.find((x) => x.name === name);
    if (t === undefined || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw unknownTopic(name);
    if (t.errorCode !== ErrorCode.NONE) throw errorFromCode(t.errorCode, `cannot describe topic '${name}'`, { topic: name });
    out.push({
      name,
      isInternal: t.isInternal,
      partitions: [...t.partitions]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => ({
          partition: p.partition,
          leader: p.errorCode === ErrorCode.NONE ? p.leader : -1,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicas],
          isr: [...p.isr],
          offlineReplicas: [...p.offlineReplicas],
          logStartOffset: -1,
          logEndOffset: -1,
        })),
    });
  }
  if (opts.includeOffsets === false) return out;
  const requests = out.flatMap((t) => t.partitions.filter((p) => p.leader >= 0).map((p) => ({ topic: t.name, partition: p.partition })));
  // Leaders as the refresh above (or a later one, after a failed partition marked its topic stale) saw them.
  const leaderOf = async (topic: string, partition: number): Promise<number> => {
    if (ch.metadata.cached(topic) === undefined) await ch.metadata.refresh([topic], opts.signal);
    return ch.metadata.leaderOf(topic, partition);
  };
  const [earliest, latest] = await Promise.all([
    ch.listOffsets(requests.map((r) => ({ ...r, timestamp: EARLIEST_TIMESTAMP })), opts.signal, leaderOf),
    ch.listOffsets(requests.map((r) => ({ ...r, timestamp: LATEST_TIMESTAMP })), opts.signal, leaderOf),
  ]);
  for (const t of out) {
    for (const p of t.partitions) {
      p.logStartOffset = earliest.get(`${t.name}\u0000${p.partition}`) ?? -1;
      p.logEndOffset = latest.get(`${t.name}\u0000${p.partition}`) ?? -1;
    }
  }
  return out;
}

/** A topic's configs, each with its value and where it comes from. */
export async function describeConfigs(ch: AdminChannel, opts: { topic: string; configNames?: string[] } & AdminCallOptions): Promise<{ topic: string; configs: ConfigDescription[] }> {
  const response = await ch.call(opts.signal, async (conn) =>
    conn.request('DescribeConfigs', { resources: [{ resourceType: 'topic', resourceName: opts.topic, configNames: opts.configNames ?? null }] }, { signal: opts.signal }),
  );
  const r = response.resources[0];
  if (r === undefined) throw unknownTopic(opts.topic);
  if (r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw unknownTopic(opts.topic);
  const err = topicErrors([{ name: r.resourceName, errorCode: r.errorCode, errorMessage: r.errorMessage }]);
  if (err !== null) throw err;
  return { topic: opts.topic, configs: [...r.configs].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** Sets topic configs (a null value reverts that config to its default); others are untouched. */
export async function alterConfigs(ch: AdminChannel, opts: { topic: string; configs: Record<string, string | null>; validateOnly?: boolean } & AdminCallOptions): Promise<void> {
  const configs = Object.entries(opts.configs).map(([name, value]) => ({ name, value }));
  const response = await ch.call(opts.signal, async (conn) =>
    conn.request('AlterConfigs', { resources: [{ resourceType: 'topic', resourceName: opts.topic, configs }], validateOnly: opts.validateOnly ?? false }, { signal: opts.signal }),
  );
  const r = response.resources[0];
  if (r === undefined) throw unknownTopic(opts.topic);
  if (r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw unknownTopic(opts.topic);
  const err = topicErrors([{ name: r.resourceName, errorCode: r.errorCode, errorMessage: r.errorMessage }]);
  if (err !== null) throw err;
}

/**
 * Per partition, the first offset whose timestamp is >= `timestampMs`, or -1 when no record
 * is that recent (Kafka's offsetsForTimes).
 */
export async function offsetsForTimes(ch: AdminChannel, topic: string, timestampMs: number, opts: AdminCallOptions = {}): Promise<Array<{ partition: number; offset: number }>> {
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new RangeError(`timestampMs must be ms since the epoch, got ${timestampMs}`);
  const info = await ch.metadata.topic(topic, { signal: opts.signal });
  const offsets = await ch.listOffsets(info.partitions.map((p) => ({ topic, partition: p.partition, timestamp: timestampMs })), opts.signal);
  return info.partitions.map((p) => ({ partition: p.partition, offset: offsets.get(`${topic}\u0000${p.partition}`) ?? -1 }));
}

/** Per partition: log start (`low`) and end (`high`, also `offset`) offsets, as KafkaJS reports them. */
export async function fetchTopicOffsets(ch: AdminChannel, topic: string, opts: AdminCallOptions = {}): Promise<PartitionOffsets[]> {
  const info = await ch.metadata.topic(topic, { signal: opts.signal });
  const tps = info.partitions.map((p) => ({ topic, partition: p.partition }));
  const [low, high] = await Promise.all([
    ch.listOffsets(tps.map((r) => ({ ...r, timestamp: EARLIEST_TIMESTAMP })), opts.signal),
    ch.listOffsets(tps.map((r) => ({ ...r, timestamp: LATEST_TIMESTAMP })), opts.signal),
  ]);
  return info.partitions.map((p) => {
    const k = `${topic}\u0000${p.partition}`;
    const h = high.get(k) ?? -1;
    return { partition: p.partition, offset: h, high: h, low: low.get(k) ?? -1 };
  });
}
