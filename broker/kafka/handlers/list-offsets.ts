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

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;

/** What the rill handler is asked for a Kafka timestamp: the special ones need only the checks. */
function rillTimestamp(timestamp: number): number {
  if (timestamp === EARLIEST_LOCAL) return EARLIEST;
  // -3 and -5 are answered here; asking for the latest offset still runs the partition and
  // leadership checks, whose errors win.
  if (timestamp === MAX_TIMESTAMP || timestamp === LATEST_TIERED) return LATEST;
  return timestamp;
}

export const listOffsetsHandler: KafkaHandler = async (ctx, body, _info, conn) => {
  const req = body as Req;
  const rill = await callRill(
    ctx,
    'ListOffsets',
    {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, currentLeaderEpoch: p.currentLeaderEpoch, timestamp: rillTimestamp(p.timestamp) })),
      })),
    },
    conn,
  );
  // The rill handler answers every topic and partition in request order, one for one.
  const res: Res = {
    throttleTimeMs: 0,
    topics: rill.topics.map((t, ti) => ({
      name: t.name,
      partitions: t.partitions.map((p, pi) => {
        const asked = req.topics[ti]?.partitions[pi]?.timestamp;
        let { errorCode, timestamp, offset } = p;
        if (errorCode === 0 && asked === MAX_TIMESTAMP) [errorCode, timestamp, offset] = [ErrorCode.UNSUPPORTED_VERSION, -1, -1];
        else if (errorCode === 0 && asked === LATEST_TIERED) [timestamp, offset] = [-1, -1];
        return { partitionIndex: p.partition, errorCode, oldStyleOffsets: errorCode === 0 && offset >= 0 ? [offset] : [], timestamp, offset, leaderEpoch: -1 };
      }),
    })),
  };
  return res;
};
