/**
 * ListOffsets: translated to the rill ListOffsets handler (-2 earliest, -1 latest = the high
 * watermark, else the first offset at or after the timestamp). v0 answers in its old form, a
 * list holding the one offset (empty when there is none). `isolationLevel` changes nothing (no
 * transactions: LSO = HW). The leader epoch of the answer is -1 (unknown), which clients accept
 * and which skips their epoch-based truncation check.
 * v7-9 add special timestamps: -4 (earliest local) is the earliest offset, there being no
 * tiered storage; -5 (latest tiered) is offset -1 / timestamp -1, as Kafka answers without
 * remote storage; -3 (max timestamp) would need a scan for the largest timestamp, which rill's
 * time index does not keep, so it is refused per partition with UNSUPPORTED_VERSION, the answer
 * Kafka's admin client already maps to "this broker cannot".
 */
import type { KafkaRequestBody, KafkaResponseInput, LIST_OFFSETS } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { ErrorCode } from '../../../protocol/errors.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof LIST_OFFSETS>;
type Res = KafkaResponseInput<typeof LIST_OFFSETS>;

const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;

interface Answer {
  partitionIndex: number;
  errorCode: number;
  oldStyleOffsets: number[];
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}

function answer(partitionIndex: number, errorCode: number, timestamp: number, offset: number): Answer {
  return { partitionIndex, errorCode, oldStyleOffsets: errorCode === 0 && offset >= 0 ? [offset] : [], timestamp, offset, leaderEpoch: -1 };
}

export const listOffsetsHandler: KafkaHandler = async (ctx, body, _info, conn) => {
  const req = body as Req;
  // Answers that need no log: keyed by topic then partition, merged back in request order.
  const local = new Map<string, Map<number, Answer>>();
  const localAnswer = (topic: string, p: number, a: Answer) => {
    if (!local.has(topic)) local.set(topic, new Map());
    local.get(topic)!.set(p, a);
  };
  for (const t of req.topics) {
    for (const p of t.partitions) {
      if (p.timestamp === MAX_TIMESTAMP) localAnswer(t.name, p.partitionIndex, answer(p.partitionIndex, ErrorCode.UNSUPPORTED_VERSION, -1, -1));
      else if (p.timestamp === LATEST_TIERED) localAnswer(t.name, p.partitionIndex, answer(p.partitionIndex, 0, -1, -1));
    }
  }
  const rill = await callRill(
    ctx,
    'ListOffsets',
    {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions
          .filter((p) => !local.get(t.name)?.has(p.partitionIndex))
          .map((p) => ({ partition: p.partitionIndex, currentLeaderEpoch: p.currentLeaderEpoch, timestamp: p.timestamp === EARLIEST_LOCAL ? EARLIEST : p.timestamp })),
      }))
      .filter((t) => t.partitions.length > 0),
    },
    conn,
  );
  const res: Res = {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      const fromRill = new Map(rill.topics.filter((r) => r.name === t.name).flatMap((r) => r.partitions).map((p) => [p.partition, p]));
      return {
        name: t.name,
        partitions: t.partitions.map((q) => {
          const own = local.get(t.name)?.get(q.partitionIndex);
          if (own) return own;
          const p = fromRill.get(q.partitionIndex);
          return p ? answer(p.partition, p.errorCode, p.timestamp, p.offset) : answer(q.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1);
        }),
      };
    }),
  };
  return res;
};
