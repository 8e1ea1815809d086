/**
 * DeleteTopics: translated to the rill DeleteTopics handler. v0-5 name topics; v6 names them or
 * gives a topic id, resolved through the cluster's metadata (a standalone broker has no topic
 * ids, so an id alone is answered UNKNOWN_TOPIC_ID).
 */
import { ZERO_UUID, type DELETE_TOPICS, type KafkaRequestBody, type KafkaResponseInput } from '../../../protocol/kafka/index.js';
import type { BrokerContext } from '../../context.js';
import type { KafkaHandler } from '../handler.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof DELETE_TOPICS>;
type Res = KafkaResponseInput<typeof DELETE_TOPICS>;
type TopicOut = NonNullable<Res['responses']>[number];

/** Kafka's UNKNOWN_TOPIC_ID (not in rill's own error table). */
const UNKNOWN_TOPIC_ID = 100;

function nameOfId(ctx: BrokerContext, topicId: string): string | undefined {
  return ctx.cluster?.topics().find((t) => t.topicId === topicId)?.name;
}

export const deleteTopicsHandler: KafkaHandler = async (ctx, body, info, conn) => {
  const req = body as Req;
  const asked: Array<{ name: string | null; topicId: string }> =
    info.apiVersion >= 6 ? req.topics.map((t) => ({ name: t.name ?? (t.topicId === ZERO_UUID ? null : (nameOfId(ctx, t.topicId) ?? null)), topicId: t.topicId })) : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
  const names = asked.flatMap((a) => (a.name === null ? [] : [a.name]));
  const rill = names.length === 0 ? { topics: [] } : await callRill(ctx, 'DeleteTopics', { topics: names, timeoutMs: Math.max(0, req.timeoutMs) }, conn);
  let next = 0;
  const responses = asked.map((a): TopicOut => {
    if (a.name === null) return { name: null, topicId: a.topicId, errorCode: UNKNOWN_TOPIC_ID, errorMessage: `No topic with id ${a.topicId}` };
    const r = rill.topics[next++]!;
    return { name: r.name, topicId: a.topicId, errorCode: r.errorCode, errorMessage: r.errorMessage };
  });
  const res: Res = { throttleTimeMs: 0, responses };
  return res;
};
