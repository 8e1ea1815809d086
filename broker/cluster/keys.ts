/**
 * The etcd key layout of one rill cluster (docs/OPERATIONS.md, "Cluster: control plane").
 * Every key lives under `/rill/<clusterId>/`; the store opens an etcd3 namespace at that prefix,
 * so the names below are relative to it:
 *
 *   cluster                  {clusterId, createdAt}                     written once (create-if-absent)
 *   brokers/<nodeId>         {host, port, kafkaPort, kafkaHost?, rack, incarnation} under the broker's lease
 *   controller               {nodeId}  under the controller's lease; controllerEpoch = its create revision
 *   topics/<name>            {topicId, configs, replicas}               written by the controller
 *   partitions/<topic>/<p>   {leader, leaderEpoch, isr, partitionEpoch} changed only by txn on mod revision
 *   producer-id-block        {nextProducerId}                           blocks handed out by txn
 */

export const CLUSTER_KEY = 'cluster';
export const CONTROLLER_KEY = 'controller';
export const PRODUCER_ID_BLOCK_KEY = 'producer-id-block';
export const BROKERS_PREFIX = 'brokers/';
export const TOPICS_PREFIX = 'topics/';
export const PARTITIONS_PREFIX = 'partitions/';

/** Cluster ids become a key prefix: keep them to characters that cannot break the layout. */
const CLUSTER_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

export function isValidClusterId(clusterId: string): boolean {
  return CLUSTER_ID_RE.test(clusterId);
}

export function clusterPrefix(clusterId: string): string {
  return `/rill/${clusterId}/`;
}

export function brokerKey(nodeId: number): string {
  return `${BROKERS_PREFIX}${nodeId}`;
}

export function topicKey(topic: string): string {
  return `${TOPICS_PREFIX}${topic}`;
}

/** Every partition key of a topic shares this prefix (the trailing '/' keeps `a` apart from `a.b`). */
export function topicPartitionsPrefix(topic: string): string {
  return `${PARTITIONS_PREFIX}${topic}/`;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topicPartitionsPrefix(topic)}${partition}`;
}

/** What a relative key names, or null for a key outside the layout (ignored by readers). */
export type ParsedKey =
  | { kind: 'cluster' }
  | { kind: 'controller' }
  | { kind: 'producer-id-block' }
  | { kind: 'broker'; nodeId: number }
  | { kind: 'topic'; topic: string }
  | { kind: 'partition'; topic: string; partition: number };

const INDEX_RE = /^(0|[1-9][0-9]{0,9})$/;

export function parseKey(key: string): ParsedKey | null {
  if (key === CLUSTER_KEY) return { kind: 'cluster' };
  if (key === CONTROLLER_KEY) return { kind: 'controller' };
  if (key === PRODUCER_ID_BLOCK_KEY) return { kind: 'producer-id-block' };
  if (key.startsWith(BROKERS_PREFIX)) {
    const rest = key.slice(BROKERS_PREFIX.length);
    return INDEX_RE.test(rest) ? { kind: 'broker', nodeId: Number(rest) } : null;
  }
  if (key.startsWith(TOPICS_PREFIX)) {
    const topic = key.slice(TOPICS_PREFIX.length);
    return topic.length > 0 && !topic.includes('/') ? { kind: 'topic', topic } : null;
  }
  if (key.startsWith(PARTITIONS_PREFIX)) {
    const rest = key.slice(PARTITIONS_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return null;
    const index = rest.slice(slash + 1);
    return INDEX_RE.test(index) ? { kind: 'partition', topic: rest.slice(0, slash), partition: Number(index) } : null;
  }
  return null;
}
