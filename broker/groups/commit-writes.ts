/**
 * Writing a group's commits (OffsetCommit and AlterGroupOffsets): each partition is checked
 * (the topic-partition exists, the metadata fits), the good ones are appended to
 * `__consumer_offsets` in one write, and every partition gets its own result. A failed append
 * fails exactly the partitions it carried, with Kafka's OffsetCommit error mapping.
 */
import type { Logger } from 'pino';
import type { OffsetCommitResponse } from '../../protocol/apis/offset-commit.js';
import { ERRORS, RillError } from '../../protocol/errors.js';
import { OFFSETS_TOPIC, type OffsetsTopic, type OffsetWrite } from './offsets-topic.js';

/** Kafka's `offset.metadata.max.bytes` default. */
export const OFFSET_METADATA_MAX_BYTES = 4096;

type CommitPartitionResult = { partition: number; errorCode: number; errorMessage: string | null };

/** What the write needs to know about the cluster (placement.ts). */
export interface CommitTopics {
  partitionCount(topic: string): number | undefined;
  /** The error a commit is answered with when its append failed. */
  writeErrorOf(err: unknown): unknown;
}

export async function writeCommits(
  topics: CommitTopics,
  logger: Logger,
  offsetsTopic: OffsetsTopic,
  groupId: string,
  commits: ReadonlyArray<{ name: string; partitions: ReadonlyArray<{ partition: number; offset: number; metadata: string | null }> }>,
): Promise<OffsetCommitResponse> {
  const results = commits.map((t) => ({ name: t.name, partitions: [] as CommitPartitionResult[] }));
  const writes: OffsetWrite[] = [];
  const written: CommitPartitionResult[] = [];
  const nowMs = Date.now();
  commits.forEach((t, i) => {
    const partitions = topics.partitionCount(t.name);
    for (const p of t.partitions) {
      const result: CommitPartitionResult = { partition: p.partition, errorCode: 0, errorMessage: null };
      results[i]!.partitions.push(result);
      if (partitions === undefined || p.partition >= partitions) {
        result.errorCode = ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code;
        result.errorMessage = partitions === undefined ? `topic '${t.name}' does not exist` : `topic '${t.name}' has no partition ${p.partition}`;
      } else if (p.metadata !== null && Buffer.byteLength(p.metadata) > OFFSET_METADATA_MAX_BYTES) {
        result.errorCode = ERRORS.INVALID_COMMIT_OFFSET_SIZE.code;
        result.errorMessage = `Offset metadata of ${Buffer.byteLength(p.metadata)} bytes exceeds the maximum of ${OFFSET_METADATA_MAX_BYTES}`;
      } else {
        writes.push({ topic: t.name, partition: p.partition, value: { offset: p.offset, metadata: p.metadata, commitTimestampMs: nowMs } });
        written.push(result);
      }
    }
  });
  try {
    await offsetsTopic.write(groupId, writes, nowMs);
  } catch (err) {
    // Nothing was applied to memory: the append did not resolve.
    const mapped = topics.writeErrorOf(err);
    const code = mapped instanceof RillError ? mapped.code : ERRORS.KAFKA_STORAGE_ERROR.code;
    logger.error({ err, groupId }, `writing offsets to ${OFFSETS_TOPIC} failed`);
    for (const r of written) {
      r.errorCode = code;
      r.errorMessage = `Writing the offset to ${OFFSETS_TOPIC} failed: ${(err as Error).message}`;
    }
  }
  return { topics: results };
}
