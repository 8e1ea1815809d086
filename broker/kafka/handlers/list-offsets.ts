/**
 * ListOffsets: translated to the rill ListOffsets handler (-2 earliest, -1 latest = the high
 * watermark, else the first offset at or after the timestamp). v0 answers in its old form, a
 * list holding the one offset (empty when there is none). `isolationLevel` changes nothing (no
 * transactions: LSO = HW). The leader epoch of the answer is -1 (unknown), which clients accept
 * and which skips their epoch-based truncation check.
 */
import type { KafkaRequestBody, KafkaResponseInput, LIST_OFFSETS } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof LIST_OFFSETS>;
type Res = KafkaResponseInput<typeof LIST_OFFSETS>;

export const listOffsetsHandler: KafkaHandler = async (ctx, body, _info, conn) => {
  const req = body as Req;
  const rill = await callRill(
    ctx,
    'ListOffsets',
    {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, currentLeaderEpoch: p.currentLeaderEpoch, timestamp: p.timestamp })),
      })),
    },
    conn,
  );
  const res: Res = {
    throttleTimeMs: 0,
    topics: rill.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partition,
        errorCode: p.errorCode,
        oldStyleOffsets: p.errorCode === 0 && p.offset >= 0 ? [p.offset] : [],
        timestamp: p.timestamp,
        offset: p.offset,
        leaderEpoch: -1,
      })),
    })),
  };
  return res;
};
