/**
 * Produce: translated to the rill Produce handler, which validates every batch (CRC, framing,
 * size, no transactional or control batches, the codecs rill reads) and appends; acks=-1 and
 * acks=1 behave as they do there (on a cluster, acks=all waits for the ISR once that lands).
 * Batches are stored as they arrive. acks=0 gets no response (the dispatcher drops it, or
 * closes the connection when a partition failed). A null `records` is answered
 * CORRUPT_MESSAGE for that partition, as an empty one is.
 *
 * rill has no transactions: a transactional batch fails validation (INVALID_RECORD).
 */
import type { KafkaRequestBody, KafkaResponseInput, PRODUCE } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof PRODUCE>;
type Res = KafkaResponseInput<typeof PRODUCE>;

const EMPTY = Buffer.alloc(0);

export const produceHandler: KafkaHandler = async (ctx, body, _info, conn) => {
  const req = body as Req;
  const rill = await callRill(
    ctx,
    'Produce',
    {
      acks: req.acks as 0 | 1 | -1,
      timeoutMs: req.timeoutMs,
      topics: req.topicData.map((t) => ({ name: t.name, partitions: t.partitionData.map((p) => ({ partition: p.index, records: p.records ?? EMPTY })) })),
    },
    conn,
  );
  const res: Res = {
    throttleTimeMs: 0,
    responses: rill.topics.map((t) => ({
      name: t.name,
      partitionResponses: t.partitions.map((p) => ({
        index: p.partition,
        errorCode: p.errorCode,
        baseOffset: p.baseOffset,
        logAppendTimeMs: p.logAppendTimeMs,
        logStartOffset: p.logStartOffset,
        recordErrors: [],
        errorMessage: p.errorMessage,
      })),
    })),
  };
  return res;
};
