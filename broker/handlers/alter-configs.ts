/**
 * AlterConfigs, incremental (Kafka's IncrementalAlterConfigs): per topic, each named config is
 * set, or reverted to the broker default when its value is null; unnamed configs keep their
 * overrides. Every topic-level key of storage/log-config.ts can be altered (retention.ms,
 * retention.bytes, segment.bytes, segment.ms, cleanup.policy, max.message.bytes,
 * flush.messages, flush.ms, message.timestamp.type, ...); the change is persisted in
 * topics.json and applied to the live partition logs. An unknown key or a bad value fails that
 * resource with INVALID_CONFIG and changes nothing. Broker configs are read-only at run time
 * (INVALID_REQUEST): change the config file and restart.
 */
import { rillError } from '../../protocol/errors.js';
import type { Handler } from '../context.js';
import { classifyError } from '../error-codes.js';

export const alterConfigsHandler: Handler<'AlterConfigs'> = async (ctx, req) => {
  const resources = await Promise.all(
    req.resources.map(async (r) => {
      try {
        if (r.resourceType !== 'topic') throw rillError('INVALID_REQUEST', 'Broker configs are read-only at run time: change the config file and restart the broker');
        await ctx.topics.alterConfigs(r.resourceName, r.configs, { validateOnly: req.validateOnly });
        return { resourceType: r.resourceType, resourceName: r.resourceName, errorCode: 0, errorMessage: null };
      } catch (err) {
        const e = classifyError(err);
        if (e.level !== null) ctx.logger[e.level]({ err, topic: r.resourceName }, 'altering configs failed');
        return { resourceType: r.resourceType, resourceName: r.resourceName, errorCode: e.code, errorMessage: e.message };
      }
    }),
  );
  return { resources };
};
