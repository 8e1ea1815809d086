/**
 * DeleteTopics: removes each topic from the registry (new requests see it gone at once),
 * answers the fetches parked on it, and deletes its partition logs. Internal topics cannot be
 * deleted (INVALID_TOPIC_EXCEPTION).
 */
import type { Handler } from '../context.js';
import { classifyError } from '../error-codes.js';

export const deleteTopicsHandler: Handler<'DeleteTopics'> = async (ctx, req) => {
  const topics = await Promise.all(
    req.topics.map(async (name) => {
      try {
        await ctx.topics.delete(name);
        return { name, errorCode: 0, errorMessage: null };
      } catch (err) {
        const e = classifyError(err);
        if (e.level !== null) ctx.logger[e.level]({ err, topic: name }, 'deleting a topic failed');
        return { name, errorCode: e.code, errorMessage: e.message };
      }
    }),
  );
  return { topics };
};
