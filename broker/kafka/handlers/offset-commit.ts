/**
 * Kafka OffsetCommit (key 8) v0-8 into the same `__consumer_offsets` records as rill's
 * OffsetCommit. The generation/member checks are Kafka's for a classic group (or no group):
 * generation -1 with no member id is an admin/simple commit, allowed only while the group is
 * Empty or unknown. A KIP-848 group checks generationIdOrMemberEpoch as its member epoch.
 * A refusal of the whole request is answered on every partition, as Kafka does.
 *
 * Kafka's sentinels: KafkaJS's admin.resetOffsets commits -2 (earliest) or -1 (latest). Kafka
 * stores them and a client then falls back to its own reset policy; rill resolves them when
 * committed, to the partition's log start offset or high watermark, so the reset means what
 * it says whatever the consumer's policy (and committed offsets stay >= 0 for rill's tools).
 * Other negative offsets are refused with INVALID_REQUEST for their partition.
 *
 * Differences: retentionTimeMs (v2-4) and commitTimestamp (v1) are ignored (offsets never
 * expire in rill).
 */
import { ERRORS, ErrorCode } from '../../../protocol/errors.js';
import type { KafkaRequestBody, KafkaResponseInput, OFFSET_COMMIT } from '../../../protocol/kafka/index.js';
import type { BrokerContext } from '../../context.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf, readyCoordinator } from './group-support.js';

type Response = KafkaResponseInput<typeof OFFSET_COMMIT>;

const EARLIEST = -2;
const LATEST = -1;

export const offsetCommitHandler: KafkaHandler = async (ctx, req, info) => {
  const body = req as KafkaRequestBody<typeof OFFSET_COMMIT>;
  const everyPartition = (errorCode: number): Response => ({
    throttleTimeMs: 0,
    topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
  });
  if (body.groupId === '') return everyPartition(ERRORS.INVALID_GROUP_ID.code);
  // Refused partitions are answered here; the rest go to the coordinator.
  const refused = new Map<string, number>();
  const topics = body.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.flatMap((p) => {
      const committedOffset = resolveOffset(ctx, t.name, p.partitionIndex, p.committedOffset);
      if (typeof committedOffset === 'number') return [{ partition: p.partitionIndex, committedOffset, committedMetadata: p.committedMetadata }];
      refused.set(`${t.name}\u0000${p.partitionIndex}`, committedOffset.refused);
      return [];
    }),
  }));
  let written: Map<string, number>;
  try {
    const coordinator = await readyCoordinator(ctx);
    const res = await coordinator.commitOffsets(
      { groupId: body.groupId, memberId: body.memberId, memberEpoch: info.apiVersion >= 1 ? body.generationIdOrMemberEpoch : -1, topics },
      { groupInstanceId: body.groupInstanceId },
    );
    written = new Map(res.topics.flatMap((t) => t.partitions.map((p) => [`${t.name}\u0000${p.partition}`, p.errorCode] as const)));
  } catch (err) {
    const code = errorCodeOf(ctx, err, 'OffsetCommit');
    // A simple commit to a KIP-848 group in use: Kafka answers UNKNOWN_MEMBER_ID.
    return everyPartition(code === ErrorCode.NON_EMPTY_GROUP ? ErrorCode.UNKNOWN_MEMBER_ID : code);
  }
  return {
    throttleTimeMs: 0,
    topics: body.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const key = `${t.name}\u0000${p.partitionIndex}`;
        return { partitionIndex: p.partitionIndex, errorCode: refused.get(key) ?? written.get(key) ?? ERRORS.UNKNOWN_SERVER_ERROR.code };
      }),
    })),
  } satisfies Response;
};

/** Kafka's -2 (earliest) / -1 (latest) sentinels as offsets of the partition; other negatives refused. */
function resolveOffset(ctx: BrokerContext, topic: string, partition: number, offset: number): number | { refused: number } {
  if (offset >= 0) return offset;
  if (offset !== EARLIEST && offset !== LATEST) return { refused: ERRORS.INVALID_REQUEST.code };
  const log = ctx.topics.partitionLog(topic, partition);
  if (log === undefined || log.isClosed) return { refused: ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code };
  return offset === EARLIEST ? log.logStartOffset : log.highWatermark;
}
