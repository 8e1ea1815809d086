/**
 * Admin calls on the cluster itself: DescribeCluster (its id, controller and live brokers) and
 * ElectLeaders (preferred or unclean leader election, carried out by the controller). Both go
 * to the controller named by Metadata (any broker while there is none), and are retried there
 * after NOT_CONTROLLER or a lost connection.
 */
import { ELECTION_TYPE_PREFERRED, ELECTION_TYPE_UNCLEAN } from '../../protocol/apis/index.js';
import { ErrorCode, errorFromCode } from '../../protocol/errors.js';
import type { AdminChannel } from './channel.js';
import type { AdminCallOptions, ClusterDescription, ElectLeadersOptions, LeaderElectionResult } from './types.js';

export async function describeCluster(ch: AdminChannel, opts: AdminCallOptions = {}): Promise<ClusterDescription> {
  const response = await ch.call(opts.signal, async (conn) => {
    const r = await conn.request('DescribeCluster', {}, { signal: opts.signal });
    if (r.errorCode !== ErrorCode.NONE) throw errorFromCode(r.errorCode, r.errorMessage ?? 'DescribeCluster failed');
    return r;
  });
  return {
    clusterId: response.clusterId,
    controllerId: response.controllerId,
    brokers: response.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.nodeId - b.nodeId),
  };
}

/** Expands `{ topic }` without partitions to every partition of the topic. */
async function scopeOf(ch: AdminChannel, opts: ElectLeadersOptions): Promise<Array<{ topic: string; partitions: number[] }> | null> {
  if (opts.partitions === undefined) return null;
  const out: Array<{ topic: string; partitions: number[] }> = [];
  for (const s of opts.partitions) {
    if (s.partitions !== undefined) {
      out.push({ topic: s.topic, partitions: [...s.partitions] });
      continue;
    }
    // Not metadata.topic(): it refuses a topic with an offline partition, which is exactly
    // what an unclean election is for.
    const response = await ch.metadata.refresh([s.topic], opts.signal);
    const t = response.topics.find((x) => x.name === s.topic);
    if (t === undefined || t.errorCode !== ErrorCode.NONE) throw errorFromCode(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${s.topic}' does not exist`, { topic: s.topic });
    out.push({ topic: s.topic, partitions: t.partitions.map((p) => p.partition).sort((a, b) => a - b) });
  }
  return out;
}

/**
 * Elects leaders: per partition asked for (every partition of the cluster when `partitions` is
 * omitted), whether a leader was elected, none was needed, or why not. It does not throw for
 * per-partition failures: they are results, as in Kafka's Admin.electLeaders.
 */
export async function electLeaders(ch: AdminChannel, opts: ElectLeadersOptions = {}): Promise<LeaderElectionResult[]> {
  const electionType = (opts.electionType ?? 'preferred') === 'unclean' ? ELECTION_TYPE_UNCLEAN : ELECTION_TYPE_PREFERRED;
  const topicPartitions = await scopeOf(ch, opts);
  const timeoutMs = opts.timeoutMs ?? ch.requestTimeoutMs;
  const response = await ch.call(opts.signal, async (conn) => {
    const r = await conn.request('ElectLeaders', { electionType, topicPartitions, timeoutMs }, { signal: opts.signal });
    if (r.errorCode !== ErrorCode.NONE) {
      const first = r.replicaElectionResults[0]?.partitionResult[0]?.errorMessage;
      throw errorFromCode(r.errorCode, first ?? 'ElectLeaders failed');
    }
    return r;
  });
  const out: LeaderElectionResult[] = [];
  for (const t of response.replicaElectionResults) {
    // Leaders moved (or were asked to): cached leaders of these topics are stale now.
    ch.metadata.markStale(t.topic);
    for (const p of t.partitionResult) {
      const outcome = p.errorCode === ErrorCode.NONE ? 'elected' : p.errorCode === ErrorCode.ELECTION_NOT_NEEDED ? 'not-needed' : 'failed';
      out.push({
        topic: t.topic,
        partition: p.partitionId,
        outcome,
        error: outcome === 'failed' ? errorFromCode(p.errorCode, p.errorMessage ?? undefined, { topic: t.topic, partition: p.partitionId }) : null,
      });
    }
  }
  return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}
