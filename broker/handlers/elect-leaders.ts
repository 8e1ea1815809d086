/**
 * ElectLeaders: hands the election to the cluster (ctx.cluster.electLeaders, which the
 * controller carries out) and groups its per-partition results by topic. Partitions that do not
 * exist are answered UNKNOWN_TOPIC_OR_PARTITION here, without asking the cluster. A standalone
 * broker leads every partition already, so each existing one is ELECTION_NOT_NEEDED, as Kafka
 * answers for a partition whose leader is already the one asked for.
 *
 * The request's timeoutMs bounds the wait: a cluster that has not answered by then gets
 * REQUEST_TIMED_OUT on every partition asked for (the election may still complete later).
 * A failure of the request as a whole (NOT_CONTROLLER: this broker is not the controller;
 * REQUEST_TIMED_OUT) is also the top-level errorCode, so the client asks the controller again.
 */
import type { ElectLeadersPartitionResult, ElectLeadersResponse } from '../../protocol/apis/index.js';
import { ELECTION_TYPE_UNCLEAN } from '../../protocol/apis/index.js';
import { ERRORS, rillError } from '../../protocol/errors.js';
import type { BrokerContext, Handler } from '../context.js';
import { classifyError } from '../error-codes.js';

interface Tp {
  topic: string;
  partition: number;
}

function partitionCount(ctx: BrokerContext, topic: string): number | undefined {
  return ctx.cluster !== null ? ctx.cluster.topic(topic)?.partitions : ctx.topics.get(topic)?.partitions;
}

function allPartitions(ctx: BrokerContext): Tp[] {
  const topics = ctx.cluster !== null ? ctx.cluster.topics() : ctx.topics.list();
  return topics.flatMap((t) => Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition })));
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(rillError('REQUEST_TIMED_OUT', `the leader election did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export const electLeadersHandler: Handler<'ElectLeaders'> = async (ctx, req) => {
  const results = new Map<string, ElectLeadersPartitionResult[]>();
  const add = (topic: string, r: ElectLeadersPartitionResult): void => {
    let list = results.get(topic);
    if (list === undefined) results.set(topic, (list = []));
    list.push(r);
  };
  const asked: Tp[] = [];
  if (req.topicPartitions === null) asked.push(...allPartitions(ctx));
  else {
    const seen = new Set<string>();
    for (const t of req.topicPartitions) {
      const count = partitionCount(ctx, t.topic);
      for (const partition of t.partitions) {
        const key = `${t.topic}\u0000${partition}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (count === undefined || partition >= count) {
          add(t.topic, { partitionId: partition, errorCode: ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code, errorMessage: `${t.topic}-${partition} does not exist` });
        } else asked.push({ topic: t.topic, partition });
      }
    }
  }

  let errorCode = 0;
  if (ctx.cluster === null) {
    for (const tp of asked) add(tp.topic, { partitionId: tp.partition, errorCode: ERRORS.ELECTION_NOT_NEEDED.code, errorMessage: 'a standalone broker leads every partition' });
  } else if (req.topicPartitions === null || asked.length > 0) {
    const type = req.electionType === ELECTION_TYPE_UNCLEAN ? 'unclean' : 'preferred';
    try {
      const elected = await withTimeout(ctx.cluster.electLeaders(type, req.topicPartitions === null ? null : asked), req.timeoutMs);
      for (const r of elected) add(r.topic, { partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
    } catch (err) {
      const e = classifyError(err);
      if (e.level !== null) ctx.logger[e.level]({ err }, 'leader election failed');
      errorCode = e.code;
      for (const tp of asked) add(tp.topic, { partitionId: tp.partition, errorCode: e.code, errorMessage: e.message });
    }
  }

  const replicaElectionResults: ElectLeadersResponse['replicaElectionResults'] = [...results].map(([topic, partitionResult]) => ({
    topic,
    partitionResult: partitionResult.sort((a, b) => a.partitionId - b.partitionId),
  }));
  return { throttleTimeMs: 0, errorCode, replicaElectionResults };
};
