/**
 * Topic administration from any broker of the cluster (ClusterRuntime delegates here):
 *
 * - createTopic, as ZooKeeper-era Kafka's admin path: this broker places the replicas over the
 *   live brokers it sees (placement.ts) and writes the topic record, create-if-absent; the
 *   controller, watching `topics/`, writes the missing partition states (its reconciliation
 *   does) and so elects the leaders. Resolves once every partition has a leader in this
 *   broker's view, REQUEST_TIMED_OUT after 30 s.
 * - deleteTopic: the topic key and its partition keys go in one transaction; every replica's
 *   broker then sees stop-replica and deletes its log.
 * - alterTopicConfigs: compare-and-swap of the topic record's configs, re-applied to the latest.
 * - electLeaders (preferred or unclean): the controller's job; another broker answers
 *   NOT_CONTROLLER so the client asks the controller, as with Kafka's ElectLeaders.
 */
import { randomUUID } from 'node:crypto';
import { ERRORS, rillError } from '../protocol/errors.js';
import type { BrokerConfig } from './config.js';
import type { ClusterBrokerInfo, CreateClusterTopic, ElectLeadersResult, ElectionType } from './cluster/handle.js';
import type { Controller } from './cluster/controller.js';
import type { ClusterMetadataView } from './cluster/metadata-view.js';
import { placeReplicas } from './cluster/placement.js';
import { topicKey, topicPartitionsPrefix } from './cluster/keys.js';
import { NO_LEADER, Records, type TopicRecord } from './cluster/schemas.js';
import { encodeRecord, type ClusterStore } from './cluster/store.js';
import { MAX_PARTITIONS_PER_TOPIC, isInternalTopicName, requireValidTopicName } from './topic-registry.js';

/** How long createTopic / deleteTopic wait for the change to reach this broker's view. */
const ADMIN_WAIT_MS = 30_000;
const POLL_MS = 50;

export interface ClusterAdminContext {
  readonly nodeId: number;
  readonly store: ClusterStore;
  readonly view: ClusterMetadataView;
  readonly controller: Controller;
  readonly config: Readonly<BrokerConfig>;
  readonly logger: { info(obj: object, msg?: string): void };
  liveBrokers(): readonly ClusterBrokerInfo[];
  isClosed(): boolean;
}

export async function createClusterTopic(ctx: ClusterAdminContext, request: CreateClusterTopic): Promise<void> {
  const { name } = request;
  requireValidTopicName(name);
  const cache = ctx.view.cache;
  if (cache.topics.has(name)) throw rillError('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`);
  const brokers = ctx.liveBrokers().map((b) => ({ nodeId: b.nodeId, rack: b.rack }));
  let replicas: number[][];
  if (request.replicaAssignment !== undefined) {
    replicas = request.replicaAssignment;
    for (const r of replicas) {
      if (r.length === 0 || new Set(r).size !== r.length) throw rillError('INVALID_REQUEST', `replica assignment ${JSON.stringify(r)} is empty or repeats a broker`);
      const unknown = r.find((id) => !cache.brokers.has(id));
      if (unknown !== undefined) throw rillError('INVALID_REPLICATION_FACTOR', `replica assignment names broker ${unknown}, which is not live`);
    }
  } else {
    const n = request.numPartitions;
    if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS_PER_TOPIC) throw rillError('INVALID_PARTITIONS', `Number of partitions must be between 1 and ${MAX_PARTITIONS_PER_TOPIC}, got ${n}`);
    let rf = request.replicationFactor === -1 ? ctx.config['default.replication.factor'] : request.replicationFactor;
    // Internal topics take what the cluster has (Kafka caps offsets.topic.replication.factor likewise).
    if (isInternalTopicName(name) && request.replicationFactor === -1) rf = Math.min(rf, brokers.length);
    if (!Number.isInteger(rf) || rf < 1 || rf > brokers.length) {
      throw rillError('INVALID_REPLICATION_FACTOR', `Replication factor ${rf} is not possible with ${brokers.length} live broker${brokers.length === 1 ? '' : 's'}`);
    }
    replicas = placeReplicas(brokers, { numPartitions: n, replicationFactor: rf });
  }
  const record: TopicRecord = { topicId: randomUUID(), configs: { ...(request.configs ?? {}) }, replicas };
  const ns = ctx.store.ns;
  const res = await ns.if(topicKey(name), 'Create', '==', 0).then(ns.put(topicKey(name)).value(encodeRecord(record))).commit();
  if (!res.succeeded) throw rillError('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`);
  ctx.logger.info({ topic: name, replicas }, 'topic written to the cluster; the controller elects its leaders');
  await waitUntil(ctx, `every partition of '${name}' has a leader`, () => replicas.every((_, p) => (cache.partitionState(name, p)?.value.leader ?? NO_LEADER) !== NO_LEADER));
}

export async function deleteClusterTopic(ctx: ClusterAdminContext, name: string): Promise<void> {
  if (isInternalTopicName(name)) throw rillError('INVALID_TOPIC_EXCEPTION', `Internal topic '${name}' cannot be deleted`);
  const ns = ctx.store.ns;
  const res = await ns.if(topicKey(name), 'Create', '>', 0).then(ns.delete().key(topicKey(name)), ns.delete().prefix(topicPartitionsPrefix(name))).commit();
  if (!res.succeeded) throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
  await waitUntil(ctx, `topic '${name}' leaves this broker's view`, () => !ctx.view.cache.topics.has(name));
}

export async function electClusterLeaders(ctx: ClusterAdminContext, type: ElectionType, partitions: ReadonlyArray<{ topic: string; partition: number }> | null): Promise<ElectLeadersResult[]> {
  if (ctx.controller.activeEpoch() === null) {
    throw rillError('NOT_CONTROLLER', `broker ${ctx.nodeId} is not the controller (controller: ${ctx.view.cache.controller?.value.nodeId ?? 'none'})`);
  }
  const refs = partitions === null ? undefined : partitions.map((p) => ({ ...p }));
  const results = type === 'unclean' ? await ctx.controller.electUncleanLeaders(refs) : await ctx.controller.electPreferredLeaders(refs);
  return results.map((r) => {
    const ref = { topic: r.topic, partition: r.partition };
    switch (r.outcome) {
      case 'elected':
        return { ...ref, errorCode: 0, errorMessage: null };
      case 'not-needed':
        return { ...ref, errorCode: ERRORS.ELECTION_NOT_NEEDED.code, errorMessage: type === 'unclean' ? 'the partition has a leader' : 'the preferred replica already leads' };
      case 'not-available':
        return type === 'unclean'
          ? { ...ref, errorCode: ERRORS.ELIGIBLE_LEADERS_NOT_AVAILABLE.code, errorMessage: 'no replica of the partition is live' }
          : { ...ref, errorCode: ERRORS.PREFERRED_LEADER_NOT_AVAILABLE.code, errorMessage: 'the preferred replica is down or out of the ISR' };
      case 'unknown-partition':
        return { ...ref, errorCode: ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code, errorMessage: 'no such partition' };
      default:
        return { ...ref, errorCode: ERRORS.LEADER_NOT_AVAILABLE.code, errorMessage: 'the partition changed meanwhile; try again' };
    }
  });
}

/** Swaps of a topic record lost in a row before giving up (each loss is someone else's change). */
const MAX_CONFIG_SWAPS = 20;

/**
 * AlterConfigs of a topic: `apply` runs over the latest configs in etcd and the record is swapped
 * on its mod revision (re-read and re-applied after a lost swap), so concurrent alters from
 * several brokers never lose each other's changes.
 */
export async function alterClusterTopicConfigs(ctx: ClusterAdminContext, name: string, apply: (configs: Readonly<Record<string, string>>) => Record<string, string>): Promise<Record<string, string>> {
  for (let attempt = 0; attempt < MAX_CONFIG_SWAPS; attempt++) {
    const current = await ctx.store.get(topicKey(name), Records.topic);
    if (current === null) throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
    const configs = apply(current.value.configs);
    const ns = ctx.store.ns;
    const res = await ns.if(topicKey(name), 'Mod', '==', current.modRevision).then(ns.put(topicKey(name)).value(encodeRecord({ ...current.value, configs }))).commit();
    if (res.succeeded) {
      ctx.logger.info({ topic: name, configs }, 'topic configs altered in the cluster');
      return configs;
    }
  }
  throw rillError('REQUEST_TIMED_OUT', `topic '${name}' changed ${MAX_CONFIG_SWAPS} times while its configs were being altered; try again`);
}

/** Polls `check` every POLL_MS until true; REQUEST_TIMED_OUT after ADMIN_WAIT_MS. */
async function waitUntil(ctx: ClusterAdminContext, what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ADMIN_WAIT_MS;
  while (!check()) {
    if (ctx.isClosed()) throw rillError('NOT_CONTROLLER', 'the broker is shutting down');
    if (Date.now() > deadline) throw rillError('REQUEST_TIMED_OUT', `timed out after ${ADMIN_WAIT_MS} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
