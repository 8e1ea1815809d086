/**
 * CreateTopics: per topic, validates the name (Kafka's rules; `__` prefixes are reserved),
 * the partition count (-1 = `num.partitions`), the replication factor (-1 or 1 on one broker)
 * and every config (the topic-level keys of storage/log-config.ts), then creates it, or only
 * validates with `validateOnly`. In a cluster the replication factor may go up to the live
 * brokers (INVALID_REPLICATION_FACTOR above), -1 meaning `default.replication.factor`, and the
 * topic is created through the cluster (ClusterHandle.createTopic), from any broker. A name given twice in one request fails both entries with
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
        const cluster = ctx.cluster;
        // Replicas by hand (CreateTopics assignments), over the registered brokers: this one alone when standalone.
        const assignment = replicaAssignmentOf(t, new Set(cluster !== null ? cluster.liveBrokers().map((b) => b.nodeId) : [ctx.nodeId]));
        const partitions = assignment?.length ?? (t.numPartitions === -1 ? ctx.config['num.partitions'] : t.numPartitions);
        if (cluster !== null) {
          // Validated here (name, configs), placed and written by the cluster (any broker may).
          ctx.topics.validateNew(t.name, partitions, t.configs);
          const rf = assignment?.[0]!.length ?? (t.replicationFactor === -1 ? ctx.config['default.replication.factor'] : t.replicationFactor);
          const live = cluster.liveBrokers().length;
          if (rf < 1 || rf > live) throw rillError('INVALID_REPLICATION_FACTOR', `Replication factor ${rf} is not possible with ${live} live broker${live === 1 ? '' : 's'}`);
          if (!req.validateOnly) {
            await cluster.createTopic({ name: t.name, numPartitions: partitions, replicationFactor: rf, configs: t.configs, ...(assignment !== null ? { replicaAssignment: assignment } : {}) });
          }
          return { name: t.name, errorCode: ERRORS.NONE.code, errorMessage: null, numPartitions: partitions };
        }
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
