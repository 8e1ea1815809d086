/**
 * Metadata. In a cluster (`ctx.cluster`): every live broker with its rack, the controller, and
 * per partition the leader (-1 with LEADER_NOT_AVAILABLE while none can lead), leader epoch,
 * replicas, ISR and offline replicas, for the cluster's topics (auto-creation goes to the
 * cluster). Standalone: this broker (the only one, so leader, replica and ISR of every
 * partition) and the requested topics (null = all, internal ones included). With `allowAutoTopicCreation` and
 * the broker's `auto.create.topics.enable`, missing topics are created with `num.partitions`
 * before answering, as Kafka does for producers. An illegal name is INVALID_TOPIC_EXCEPTION.
 */
import { ERRORS } from '../../protocol/errors.js';
import type { MetadataTopic } from '../../protocol/apis/index.js';
import type { ClusterHandle } from '../cluster/handle.js';
import type { BrokerContext, Handler } from '../context.js';
import { classifyError } from '../error-codes.js';
import { requireValidTopicName, type TopicInfo } from '../topic-registry.js';

function describeTopic(ctx: BrokerContext, info: TopicInfo): MetadataTopic {
  if (ctx.cluster !== null) return describeClusterTopic(ctx.cluster, info);
  const partitions = [];
  for (let p = 0; p < info.partitions; p++) {
    // The epoch the partition's log stamps into appended batches (0 on a single broker).
    const leaderEpoch = ctx.logs.get(info.name, p)?.leaderEpoch ?? 0;
    partitions.push({ errorCode: 0, partition: p, leader: ctx.nodeId, leaderEpoch, replicas: [ctx.nodeId], isr: [ctx.nodeId], offlineReplicas: [] });
  }
  return { errorCode: 0, name: info.name, isInternal: info.internal, partitions };
}

function describeClusterTopic(cluster: ClusterHandle, info: TopicInfo): MetadataTopic {
  const partitions = [];
  for (let p = 0; p < info.partitions; p++) {
    const state = cluster.partition(info.name, p);
    if (state === undefined) {
      partitions.push({ errorCode: ERRORS.LEADER_NOT_AVAILABLE.code, partition: p, leader: -1, leaderEpoch: -1, replicas: [], isr: [], offlineReplicas: [] });
      continue;
    }
    const errorCode = state.leader === -1 ? ERRORS.LEADER_NOT_AVAILABLE.code : 0;
    partitions.push({ errorCode, partition: p, leader: state.leader, leaderEpoch: state.leaderEpoch, replicas: [...state.replicas], isr: [...state.isr], offlineReplicas: [...state.offlineReplicas] });
  }
  return { errorCode: 0, name: info.name, isInternal: info.internal, partitions };
}

function failedTopic(name: string, errorCode: number): MetadataTopic {
  return { errorCode, name, isInternal: false, partitions: [] };
}

async function lookup(ctx: BrokerContext, name: string, autoCreate: boolean): Promise<MetadataTopic> {
  const info = ctx.topics.get(name);
  if (info !== undefined) return describeTopic(ctx, info);
  try {
    requireValidTopicName(name);
    if (!autoCreate) return failedTopic(name, ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code);
    const created = await ctx.topics.getOrAutoCreate(name);
    return created == null ? failedTopic(name, ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code) : describeTopic(ctx, created);
  } catch (err) {
    const e = classifyError(err);
    if (e.level !== null) ctx.logger[e.level]({ err, topic: name }, 'auto-creating a topic failed');
    return failedTopic(name, e.code);
  }
}

export const metadataHandler: Handler<'Metadata'> = async (ctx, req) => {
  const topics =
    req.topics === null
      ? ctx.topics.list().map((info) => describeTopic(ctx, info))
      : await Promise.all(req.topics.map((name) => lookup(ctx, name, req.allowAutoTopicCreation)));
  const cluster = ctx.cluster;
  if (cluster !== null) {
    return {
      brokers: cluster.liveBrokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: ctx.clusterId,
      controllerId: cluster.controllerId() ?? -1,
      topics,
    };
  }
  return {
    brokers: [{ nodeId: ctx.nodeId, host: ctx.advertisedHost, port: ctx.advertisedPort, rack: null }],
    clusterId: ctx.clusterId,
    controllerId: ctx.nodeId,
    topics,
  };
};
