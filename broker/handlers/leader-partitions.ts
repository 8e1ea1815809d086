/**
 * The per-partition walk of a request only a partition's leader answers (ListOffsets,
 * OffsetsForLeaderEpoch): for each topic and partition in request order, the partition's log
 * when this broker may answer for it, else a failed entry with the reason. In a cluster that is
 * the leader (ClusterHandle.checkLeader, with `currentLeaderEpoch` checked as Fetch checks it:
 * NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, ...); a single broker leads every partition it has.
 */
import type { PartitionLog } from '../../storage/partition-log.js';
import type { BrokerContext } from '../context.js';

interface LeaderPartitionRequest {
  partition: number;
  currentLeaderEpoch: number;
}

/**
 * Answers every partition of `topics`: `answer` with its log, `fail` with the error code and
 * message when the broker may not answer for it. Partitions are answered one after another.
 */
export async function answerLeaderPartitions<P extends LeaderPartitionRequest, Out>(
  ctx: BrokerContext,
  topics: ReadonlyArray<{ name: string; partitions: readonly P[] }>,
  fail: (partition: number, errorCode: number, errorMessage: string) => Out,
  answer: (log: PartitionLog, topic: string, request: P) => Out | Promise<Out>,
): Promise<Array<{ name: string; partitions: Out[] }>> {
  const out: Array<{ name: string; partitions: Out[] }> = [];
  for (const t of topics) {
    const partitions: Out[] = [];
    for (const p of t.partitions) {
      const refused = ctx.cluster === null ? null : ctx.cluster.checkLeader(t.name, p.partition, p.currentLeaderEpoch);
      const log = refused !== null ? undefined : ctx.cluster === null ? ctx.topics.partitionLog(t.name, p.partition) : ctx.cluster.localLog(t.name, p.partition);
      if (log === undefined) {
        const e = refused ?? ctx.topics.noSuchPartition(t.name, p.partition);
        partitions.push(fail(p.partition, e.code, e.message));
        continue;
      }
      partitions.push(await answer(log, t.name, p));
    }
    out.push({ name: t.name, partitions });
  }
  return out;
}
