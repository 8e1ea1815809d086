/**
 * InitProducerId: translated to the rill InitProducerId handler (a fresh idempotent producer
 * id, or the next epoch of the one passed, v3+). rill has no transactions: a transactionalId is
 * refused there (INVALID_REQUEST), so KafkaJS/librdkafka transactional producers fail at init.
 */
import type { INIT_PRODUCER_ID, KafkaRequestBody, KafkaResponseInput } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof INIT_PRODUCER_ID>;
type Res = KafkaResponseInput<typeof INIT_PRODUCER_ID>;

export const initProducerIdHandler: KafkaHandler = async (ctx, body, _info, conn) => {
  const req = body as Req;
  const rill = await callRill(
    ctx,
    'InitProducerId',
    { transactionalId: req.transactionalId, transactionTimeoutMs: Math.max(0, req.transactionTimeoutMs), producerId: req.producerId, producerEpoch: req.producerEpoch },
    conn,
  );
  const res: Res = { throttleTimeMs: 0, errorCode: rill.errorCode, producerId: rill.producerId, producerEpoch: rill.producerEpoch };
  return res;
};
