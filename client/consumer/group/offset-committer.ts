/**
 * A group member's offset commits (OffsetCommit) and committed-offset lookups (OffsetFetch).
 *
 * - What is committed is what the app has *processed* (consumer.ts `processedOffsets()`), never
 *   merely fetched: the offset after the last finished message, i.e. the next one to read.
 * - Auto-commit runs every `autoCommitIntervalMs`; membership.ts also commits before it gives
 *   partitions up and on close(). An offset equal to the last one committed (or fetched) for
 *   its partition is not sent again, so an idle consumer sends no commits.
 * - Commits are serialized: one OffsetCommit in flight; a later commit waits for it.
 * - Every commit carries the memberId and the member epoch of the latest heartbeat response.
 *   STALE_MEMBER_EPOCH (the epoch moved on since) is retried after the next heartbeat;
 *   coordinator trouble (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, loading, a lost
 *   connection) after a backoff, up to `retry.retries` times; UNKNOWN_MEMBER_ID and
 *   FENCED_MEMBER_EPOCH fail at once (the member has been expelled: its heartbeat rejoins, and
 *   what it processed meanwhile is not its to commit any more).
 */
import type { Logger } from 'pino';
import { ErrorCode, RillError, errorEntry, errorFromCode, isRetriable, rillError } from '../../../protocol/errors.js';
import { partitionKey } from '../../topic-partition.js';
import { sleep, backoffMs } from '../../retry.js';
import type { RetryOptions, TopicPartition, TopicPartitionCommit } from '../../types.js';
import { abortable } from '../waits.js';
import { CoordinatorChannel } from './coordinator-channel.js';

/** STALE_MEMBER_EPOCH means "wait for the heartbeat"; more than a few in a row means trouble. */
const MAX_STALE_EPOCH_RETRIES = 5;

export interface MemberIdentity {
  memberId: string;
  memberEpoch: number;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
}

export interface OffsetCommitterOptions {
  channel: CoordinatorChannel;
  groupId: string;
  /** Who commits: the member as of the latest heartbeat response, or null when not joined. */
  member: () => MemberIdentity | null;
  /** Resolves after the next successful heartbeat response; rejects when the member is fenced or leaves. */
  nextHeartbeat: () => Promise<void>;
  retry: RetryOptions;
  logger: Logger;
  /** After every successful OffsetCommit, with what it stored. */
  onCommit: (offsets: CommittedOffset[]) => void;
}

export class OffsetCommitter {
  /** partition key → the offset last committed (or found committed) for it. */
  private readonly committed = new Map<string, number>();
  private tail: Promise<unknown> = Promise.resolve();
  private autoTimer: NodeJS.Timeout | null = null;
  /** 0 when auto-commit is off (or stopped). */
  private autoIntervalMs = 0;

  constructor(private readonly opts: OffsetCommitterOptions) {}

  /**
   * Commits `offsets` after any commit in flight. Unless `force`, partitions whose offset equals
   * the last committed one are skipped. Resolves with what was sent; rejects with a RillError
   * naming every partition that failed. `signal` ends the wait (its queue turn, a request, a
   * backoff) with its reason; an OffsetCommit already sent may still land.
   */
  commit(offsets: ReadonlyArray<TopicPartitionCommit>, force = false, signal?: AbortSignal): Promise<CommittedOffset[]> {
    const queued = signal === undefined ? this.tail : abortable(this.tail, signal);
    const run = queued.then(
      () => this.commitNow(offsets, force, signal),
      (err: unknown) => (signal?.aborted === true ? Promise.reject(err) : this.commitNow(offsets, force, signal)),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Waits for the commit in flight (and those queued behind it), ignoring their outcome. */
  async drain(): Promise<void> {
    await this.tail;
  }

  /** Records an offset known to be committed (from OffsetFetch), so it is not committed again. */
  seed(topic: string, partition: number, offset: number): void {
    if (offset >= 0) this.committed.set(partitionKey(topic, partition), offset);
  }

  /** The member gave these partitions up: another member commits them from now on. */
  forget(list: ReadonlyArray<TopicPartition>): void {
    for (const tp of list) this.committed.delete(partitionKey(tp.topic, tp.partition));
  }

  forgetAll(): void {
    this.committed.clear();
  }

  /**
   * Committed offsets of these partitions (key → offset, -1 when none), retried on coordinator
   * trouble up to `retry.retries` times.
   */
  async fetchCommitted(list: ReadonlyArray<TopicPartition>, signal?: AbortSignal): Promise<Map<string, number>> {
    const byTopic = new Map<string, number[]>();
    for (const tp of list) {
      let ps = byTopic.get(tp.topic);
      if (ps === undefined) byTopic.set(tp.topic, (ps = []));
      ps.push(tp.partition);
    }
    const request = { groupId: this.opts.groupId, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.opts.channel.request('OffsetFetch', request, { signal });
        if (response.errorCode !== ErrorCode.NONE) throw errorFromCode(response.errorCode, `OffsetFetch for group '${this.opts.groupId}' refused: ${errorEntry(response.errorCode).message}`);
        const out = new Map<string, number>();
        const failed: Array<{ topic: string; partition: number; errorCode: number }> = [];
        for (const t of response.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== ErrorCode.NONE) failed.push({ topic: t.name, partition: p.partition, errorCode: p.errorCode });
            else out.set(partitionKey(t.name, p.partition), p.committedOffset);
          }
        }
        if (failed.length > 0) {
          const list = failed.map((f) => `${f.topic}[${f.partition}] ${errorEntry(f.errorCode).name}`).join(', ');
          throw errorFromCode(failed[0]!.errorCode, `OffsetFetch failed for ${list}`, { partitions: failed });
        }
        return out;
      } catch (err) {
        if (!isRetriable(err) || attempt >= this.opts.retry.retries || signal?.aborted) throw err;
        if (CoordinatorChannel.isCoordinatorMoved(err)) this.opts.channel.markUnknown();
        await sleep(backoffMs(this.opts.retry, attempt + 1), signal);
      }
    }
  }

  /** Commits `source()` every `intervalMs` (counted from the end of the previous auto-commit). */
  startAuto(intervalMs: number, source: () => TopicPartitionCommit[], onError: (err: Error) => void): void {
    this.stopAuto();
    this.autoIntervalMs = intervalMs;
    const tick = (): void => {
      this.autoTimer = null;
      // Not a member right now (joining, fenced): nothing of ours to commit.
      const offsets = this.opts.member() === null ? [] : source();
      this.commit(offsets)
        .catch((err: Error) => onError(err))
        .finally(() => {
          if (this.autoIntervalMs > 0) this.autoTimer = setTimeout(tick, this.autoIntervalMs);
        });
    };
    this.autoTimer = setTimeout(tick, intervalMs);
  }

  stopAuto(): void {
    this.autoIntervalMs = 0;
    if (this.autoTimer !== null) clearTimeout(this.autoTimer);
    this.autoTimer = null;
  }

  private async commitNow(offsets: ReadonlyArray<TopicPartitionCommit>, force: boolean, signal?: AbortSignal): Promise<CommittedOffset[]> {
    signal?.throwIfAborted();
    let pending = offsets.filter((o) => force || this.committed.get(partitionKey(o.topic, o.partition)) !== o.offset);
    for (const o of pending) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new RangeError(`cannot commit offset ${o.offset} for ${o.topic}[${o.partition}]: it must be a non-negative integer`);
    }
    if (pending.length === 0) return [];
    const done: CommittedOffset[] = [];
    let staleRetries = 0;
    for (let attempt = 0; ; attempt++) {
      const member = this.opts.member();
      if (member === null) {
        throw rillError('UNKNOWN_MEMBER_ID', `not committing ${pending.length} offset(s) of group '${this.opts.groupId}': the consumer is not a member of the group right now (joining, or fenced and rejoining)`);
      }
      let failed: Array<{ topic: string; partition: number; errorCode: number }>;
      try {
        failed = await this.send(member, pending, signal);
      } catch (err) {
        if (!isRetriable(err) || attempt >= this.opts.retry.retries || signal?.aborted === true) throw err;
        this.opts.logger.debug({ groupId: this.opts.groupId, err: (err as Error).message }, 'offset commit failed; will retry');
        await sleep(backoffMs(this.opts.retry, attempt + 1), signal);
        continue;
      }
      const failedKeys = new Set(failed.map((f) => partitionKey(f.topic, f.partition)));
      const succeeded = pending.filter((o) => !failedKeys.has(partitionKey(o.topic, o.partition)));
      for (const o of succeeded) {
        this.committed.set(partitionKey(o.topic, o.partition), o.offset);
        done.push({ topic: o.topic, partition: o.partition, offset: o.offset });
      }
      if (succeeded.length > 0) this.opts.onCommit(succeeded.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
      if (failed.length === 0) return done;
      pending = pending.filter((o) => failedKeys.has(partitionKey(o.topic, o.partition)));
      const codes = new Set(failed.map((f) => f.errorCode));
      const err = commitError(this.opts.groupId, failed);
      if (codes.has(ErrorCode.STALE_MEMBER_EPOCH) && [...codes].every((c) => c === ErrorCode.STALE_MEMBER_EPOCH) && staleRetries < MAX_STALE_EPOCH_RETRIES) {
        // The coordinator moved the member to a newer epoch that our latest heartbeat response
        // has not told us yet: commit again with the epoch of the next one.
        staleRetries++;
        attempt--;
        await (signal === undefined ? this.opts.nextHeartbeat() : abortable(this.opts.nextHeartbeat(), signal));
        continue;
      }
      if ([...codes].every((c) => errorEntry(c).retriable) && attempt < this.opts.retry.retries) {
        if (codes.has(ErrorCode.NOT_COORDINATOR) || codes.has(ErrorCode.COORDINATOR_NOT_AVAILABLE)) this.opts.channel.markUnknown();
        await sleep(backoffMs(this.opts.retry, attempt + 1), signal);
        continue;
      }
      throw err;
    }
  }

  /** One OffsetCommit; resolves with the partitions that failed. */
  private async send(member: MemberIdentity, offsets: ReadonlyArray<TopicPartitionCommit>, signal?: AbortSignal): Promise<Array<{ topic: string; partition: number; errorCode: number }>> {
    const byTopic = new Map<string, Array<{ partition: number; committedOffset: number; committedMetadata: string | null }>>();
    for (const o of offsets) {
      let ps = byTopic.get(o.topic);
      if (ps === undefined) byTopic.set(o.topic, (ps = []));
      ps.push({ partition: o.partition, committedOffset: o.offset, committedMetadata: o.metadata ?? null });
    }
    const response = await this.opts.channel.request('OffsetCommit', {
      groupId: this.opts.groupId,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    }, signal === undefined ? undefined : { signal });
    const failed: Array<{ topic: string; partition: number; errorCode: number }> = [];
    for (const t of response.topics) {
      for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) failed.push({ topic: t.name, partition: p.partition, errorCode: p.errorCode });
    }
    return failed;
  }
}

function commitError(groupId: string, failed: Array<{ topic: string; partition: number; errorCode: number }>): RillError {
  const list = failed.map((f) => `${f.topic}[${f.partition}] ${errorEntry(f.errorCode).name}`).join(', ');
  const first = failed[0]!;
  return errorFromCode(first.errorCode, `offset commit of group '${groupId}' failed for ${failed.length} partition(s): ${list}`, {
    topic: first.topic,
    partition: first.partition,
    partitions: failed,
  });
}
