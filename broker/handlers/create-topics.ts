/**
 * CreateTopics: per topic, validates the name (Kafka's rules; `__` prefixes are reserved),
 * the partition count (-1 = `num.partitions`), the replication factor (-1 or 1 on one broker)
 * and every config (the topic-level keys of storage/log-config.ts), then creates it, or only
 * validates with `validateOnly`. A name given twice in one request fails both entries with
 * INVALID_REQUEST, as in Kafka.
 */
import { ERRORS, rillError } from '../../protocol/errors.js';
import type { CreateTopicsResponse } from '../../protocol/apis/index.js';
import type { Handler } from '../context.js';
import { classifyError } from '../error-codes.js';
import { replicaAssignmentOf } from './replica-assignment.js';

export const createTopicsHandler: Handler<'CreateTopics'> = async (ctx, req) => {
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const results = await Promise.all(
    req.topics.map(async (t): Promise<CreateTopicsResponse['topics'][number]> => {
      try {
        if ((counts.get(t.name) ?? 0) > 1) throw rillError('INVALID_REQUEST', `topic '${t.name}' appears more than once in the request`);
        // On a single broker the only possible assignment puts every partition on this broker.
        const assignment = replicaAssignmentOf(t, new Set([ctx.nodeId]));
        const partitions = assignment?.length ?? (t.numPartitions === -1 ? ctx.config['num.partitions'] : t.numPartitions);
        if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
          throw rillError('INVALID_REPLICATION_FACTOR', `Replication factor ${t.replicationFactor} is not possible on a single broker; use 1 or -1`);
        }
        if (req.validateOnly) ctx.topics.validateNew(t.name, partitions, t.configs);
        else await ctx.topics.create(t.name, partitions, t.configs);
        return { name: t.name, errorCode: ERRORS.NONE.code, errorMessage: null, numPartitions: partitions };
      } catch (err) {
        const e = classifyError(err);
        if (e.level !== null) ctx.logger[e.level]({ err, topic: t.name }, 'creating a topic failed');
        return { name: t.name, errorCode: e.code, errorMessage: e.message, numPartitions: -1 };
      }
    }),
  );
  return { topics: results };
};
