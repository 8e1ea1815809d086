/**
 * CreateTopics: translated to the rill CreateTopics handler (name rules, partition count,
 * replication factor, topic configs, validateOnly). Kafka's manual `assignments` give the
 * partition count and the replication factor (the replicas of partition 0); with assignments,
 * numPartitions and replicationFactor must be -1 (INVALID_REQUEST otherwise), as in Kafka.
 * A config whose value is null means "the default" and is left out.
 *
 * v5+ answers carry the partition count and replication factor but not the configs (null, as
 * Kafka answers a client not allowed to see them; DescribeConfigs has them). The topic id (v7)
 * is the cluster's when there is one, else the zero UUID.
 */
import { ERRORS } from '../../../protocol/errors.js';
import { ZERO_UUID, type CREATE_TOPICS, type KafkaRequestBody, type KafkaResponseInput } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof CREATE_TOPICS>;
type Res = KafkaResponseInput<typeof CREATE_TOPICS>;
type TopicOut = NonNullable<Res['topics']>[number];

export const createTopicsHandler: KafkaHandler = async (ctx, body, _info, conn) => {
  const req = body as Req;
  const refused = new Map<number, TopicOut>();
  const toRill = [];
  for (const [i, t] of req.topics.entries()) {
    let numPartitions = t.numPartitions;
    let replicationFactor = t.replicationFactor;
    if (t.assignments.length > 0) {
      if (numPartitions !== -1 || replicationFactor !== -1) {
        refused.set(i, { name: t.name, errorCode: ERRORS.INVALID_REQUEST.code, errorMessage: 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.' });
        continue;
      }
      numPartitions = t.assignments.length;
      replicationFactor = t.assignments[0]!.brokerIds.length;
    }
    const configs: Record<string, string> = {};
    for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
    toRill.push({ name: t.name, numPartitions, replicationFactor, configs });
  }
  const rill = toRill.length === 0 ? { topics: [] } : await callRill(ctx, 'CreateTopics', { topics: toRill, timeoutMs: Math.max(0, req.timeoutMs), validateOnly: req.validateOnly }, conn);
  const created = rill.topics.map((t): TopicOut => {
    const ok = t.errorCode === 0;
    const partition0 = ok ? ctx.cluster?.partition(t.name, 0) : undefined;
    return {
      name: t.name,
      topicId: (ok ? ctx.cluster?.topic(t.name)?.topicId : undefined) ?? ZERO_UUID,
      errorCode: t.errorCode,
      errorMessage: t.errorMessage,
      numPartitions: ok ? t.numPartitions : -1,
      replicationFactor: !ok ? -1 : ctx.cluster === null ? 1 : (partition0?.replicas.length ?? -1),
      configs: null,
    };
  });
  // Answers in request order: the refused entries where they were asked.
  const topics: TopicOut[] = [];
  let next = 0;
  for (let i = 0; i < req.topics.length; i++) topics.push(refused.get(i) ?? created[next++]!);
  const res: Res = { throttleTimeMs: 0, topics };
  return res;
};
