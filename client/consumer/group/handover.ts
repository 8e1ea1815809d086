/**
 * Handing partitions over in a rebalance (used by membership.ts): giving partitions up (stop
 * fetching, wait for their in-flight messages, commit what was processed unless they were lost,
 * call onRevoke) and the offsets newly assigned partitions start at. The user's callbacks never
 * throw back into the membership: their errors go to `onError`.
 */
import { partitionKey } from '../../topic-partition.js';
import type { RevokedPartition, TopicPartition, TopicPartitionOffset } from '../../types.js';
import type { MembershipOptions } from './membership.js';

type HandoverOptions = Pick<MembershipOptions, 'consumer' | 'committer' | 'autoCommit' | 'onRevoke' | 'onError'>;

/**
 * Stops consuming `list` (waiting for its in-flight messages), commits what was processed
 * unless the partitions were lost or `isMember()` says the member can no longer commit, and
 * calls onRevoke. The caller stops reporting them afterwards.
 */
export async function givePartitionsUp(opts: HandoverOptions, list: TopicPartition[], lost: boolean, isMember: () => boolean): Promise<void> {
  const processed = await opts.consumer.revokePartitions(list);
  if (!lost && opts.autoCommit && processed.length > 0 && isMember()) {
    try {
      await opts.committer.commit(processed);
    } catch (err) {
      opts.onError(withContext(err, `committing before giving up ${list.length} partition(s) failed`));
    }
  }
  opts.committer.forget(list);
  const byKey = new Map(processed.map((p) => [partitionKey(p.topic, p.partition), p.offset]));
  const revoked: RevokedPartition[] = list.map((tp) => ({ topic: tp.topic, partition: tp.partition, offset: byKey.get(partitionKey(tp.topic, tp.partition)) ?? null, lost }));
  await runCallback(opts, 'onRevoke', () => opts.onRevoke?.(revoked));
}

/**
 * Where each of `list` starts: its committed offset (which also seeds the committer), else
 * `reset` (earliest/latest).
 */
export function startOffsets(opts: Pick<MembershipOptions, 'committer'>, list: TopicPartition[], committed: ReadonlyMap<string, number>, reset: 'earliest' | 'latest'): TopicPartitionOffset[] {
  return list.map((tp) => {
    const offset = committed.get(partitionKey(tp.topic, tp.partition)) ?? -1;
    if (offset >= 0) opts.committer.seed(tp.topic, tp.partition, offset);
    return { topic: tp.topic, partition: tp.partition, offset: offset >= 0 ? offset : reset };
  });
}

/** Runs a user callback; what it throws goes to onError, named. */
export async function runCallback(opts: Pick<MembershipOptions, 'onError'>, name: 'onAssign' | 'onRevoke', fn: () => Promise<void> | void | undefined): Promise<void> {
  try {
    await fn();
  } catch (err) {
    opts.onError(withContext(err, `${name} threw`));
  }
}

function withContext(err: unknown, what: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  return new Error(`${what}: ${e.message}`, { cause: e });
}
