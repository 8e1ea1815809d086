/**
 * CreateTopics' `assignments` (Kafka's manual replica assignment), checked as Kafka checks it
 * before anything is written: numPartitions and replicationFactor must then be -1; partitions
 * 0..n-1 each listed exactly once; every list non-empty, of distinct brokers that are
 * registered now, and of one common length (the topic's replication factor).
 */
import { rillError } from '../../protocol/errors.js';
import type { DefaultedRequestOf } from '../../protocol/apis/index.js';

type CreateTopic = DefaultedRequestOf<'CreateTopics'>['topics'][number];

/** The replica lists by partition (preferred leader first), or null when none were given. */
export function replicaAssignmentOf(t: CreateTopic, liveBrokerIds: ReadonlySet<number>): number[][] | null {
  if (t.assignments.length === 0) return null;
  if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
    throw rillError('INVALID_REQUEST', `topic '${t.name}': with a replica assignment, numPartitions and replicationFactor must be -1`);
  }
  const out: number[][] = new Array<number[]>(t.assignments.length);
  for (const a of t.assignments) {
    if (a.partitionIndex >= t.assignments.length || out[a.partitionIndex] !== undefined) {
      throw rillError('INVALID_REPLICA_ASSIGNMENT', `topic '${t.name}': the assignment must list partitions 0..${t.assignments.length - 1} once each (partition ${a.partitionIndex})`);
    }
    if (a.brokerIds.length === 0) throw rillError('INVALID_REPLICA_ASSIGNMENT', `topic '${t.name}': partition ${a.partitionIndex} has no replicas`);
    if (new Set(a.brokerIds).size !== a.brokerIds.length) {
      throw rillError('INVALID_REPLICA_ASSIGNMENT', `topic '${t.name}': partition ${a.partitionIndex} lists a broker twice (${a.brokerIds.join(',')})`);
    }
    const unknown = a.brokerIds.filter((id) => !liveBrokerIds.has(id));
    if (unknown.length > 0) {
      throw rillError('INVALID_REPLICA_ASSIGNMENT', `topic '${t.name}': partition ${a.partitionIndex} names broker(s) ${unknown.join(',')}, which are not registered`);
    }
    if (a.brokerIds.length !== t.assignments[0]!.brokerIds.length) {
      throw rillError('INVALID_REPLICA_ASSIGNMENT', `topic '${t.name}': every partition must have the same number of replicas`);
    }
    out[a.partitionIndex] = [...a.brokerIds];
  }
  return out;
}
