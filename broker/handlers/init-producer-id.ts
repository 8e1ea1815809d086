/**
 * InitProducerId: a fresh producer id (epoch 0) for an idempotent producer, or the next epoch
 * of the id it passes. Ids come from producer-ids.ts and are never reused across restarts.
 * Transactions are not supported: a transactionalId is refused with INVALID_REQUEST.
 */
import { ERRORS } from '../../protocol/errors.js';
import type { Handler } from '../context.js';

export const initProducerIdHandler: Handler<'InitProducerId'> = async (ctx, req) => {
  if (req.transactionalId !== null) {
    return { errorCode: ERRORS.INVALID_REQUEST.code, producerId: -1, producerEpoch: -1, throttleTimeMs: 0 };
  }
  const { producerId, producerEpoch } = await ctx.producerIds.initProducerId(req.producerId, req.producerEpoch);
  ctx.logger.debug({ producerId, producerEpoch }, 'producer id assigned');
  return { errorCode: 0, producerId, producerEpoch, throttleTimeMs: 0 };
};
