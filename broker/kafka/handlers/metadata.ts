/**
 * Metadata: the rill Metadata handler's answer (topics, partitions, leaders, epochs, replicas,
 * auto-creation) in Kafka's shape, with the brokers' Kafka listener addresses (advertised.ts)
 * instead of their rill ones.
 *
 * Version rules: in v0 an empty topic list means "all topics" (v1+ uses null for that);
 * auto-creation follows `allowAutoTopicCreation` from v4 and the broker's
 * `auto.create.topics.enable` alone before, as in Kafka.
 */
import type { KafkaRequestBody, KafkaResponseInput, METADATA } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { kafkaBrokers } from '../advertised.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof METADATA>;
type Res = KafkaResponseInput<typeof METADATA>;

export const metadataHandler: KafkaHandler = async (ctx, body, info, conn) => {
  const req = body as Req;
  const all = req.topics === null || (info.apiVersion === 0 && req.topics.length === 0);
  const rill = await callRill(ctx, 'Metadata', { topics: all ? null : req.topics!.map((t) => t.name), allowAutoTopicCreation: req.allowAutoTopicCreation }, conn);
  const res: Res = {
    throttleTimeMs: 0,
    brokers: kafkaBrokers(ctx),
    clusterId: rill.clusterId,
    controllerId: rill.controllerId,
    topics: rill.topics.map((t) => ({
      errorCode: t.errorCode,
      name: t.name,
      isInternal: t.isInternal,
      partitions: t.partitions.map((p) => ({
        errorCode: p.errorCode,
        partitionIndex: p.partition,
        leaderId: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: p.replicas,
        isrNodes: p.isr,
        offlineReplicas: p.offlineReplicas,
      })),
    })),
  };
  return res;
};
