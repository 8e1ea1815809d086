/**
 * Offsets retention (Kafka's `offsets.retention.minutes`, KIP-211): the committed offsets of a
 * group that has had no live members for the retention period are deleted, so groups that are
 * gone for good do not stay in `__consumer_offsets` and in memory forever.
 *
 * Every `offsets.retention.check.interval.ms` the coordinator's loaded groups are walked:
 *  - a group with live members (KIP-848 or classic) keeps every offset, however old;
 *  - a group without members: an offset expires once both its commit and the moment the group
 *    was last seen empty-since are older than the retention: `now - max(commitTimestampMs,
 *    emptySinceMs) >= retention`. Expired offsets get tombstones (through the same append as
 *    commits: durable, and in a cluster acknowledged by every in-sync replica), then the group,
 *    if it has no offsets left, is gone (ListGroups no longer shows it).
 *
 * When a group became empty is not persisted (membership lives in memory), so `emptySinceMs`
 * errs late, never early: it is the first check that saw the group without members, and never
 * earlier than the moment its `__consumer_offsets` partition was loaded on this broker. A
 * restart or a coordinator move therefore restarts the clock of idle groups (their offsets live
 * up to one retention longer); a group whose consumers are merely restarting is never expired
 * early. Kafka keeps the group's state timestamp in `__consumer_offsets` and does not restart
 * the clock; for standalone consumers (no membership, only simple commits) it counts from the
 * commit alone.
 *
 * A group whose commits or tombstones are still being written, or that is being deleted, is
 * skipped until the next check, so a tombstone never overtakes a commit it did not see. While a
 * group's tombstones are written its commits and joins are refused with the retriable
 * COORDINATOR_NOT_AVAILABLE, as for DeleteGroups.
 *
 * Not done (Kafka's KIP-496): offsets of topics an active group no longer subscribes to are
 * kept until the whole group is empty for the retention.
 */
import type { Logger } from 'pino';
import type { OffsetsTopic, OffsetWrite } from './offsets-topic.js';

export interface OffsetsExpiryConfig {
  /** `offsets.retention.minutes` in ms. */
  retentionMs: number;
  /** `offsets.retention.check.interval.ms`. */
  checkIntervalMs: number;
}

/** What the expiry needs from the coordinator. */
export interface OffsetsExpiryHost {
  /** `__consumer_offsets`, or null while it does not exist here. */
  offsetsTopic(): OffsetsTopic | null;
  /** Live members of the group, KIP-848 and classic together. */
  liveMembers(groupId: string): number;
  /** Whether DeleteGroups (or an expiry) is writing the group's tombstones. */
  isDeleting(groupId: string): boolean;
  /**
   * Writes `tombstones` for `groupId` while its commits and joins are refused (as DeleteGroups
   * does), then forgets the group's empty membership objects if it has no offsets left.
   */
  expire(groupId: string, tombstones: OffsetWrite[]): Promise<void>;
  logger: Logger;
}

export class OffsetsExpiry {
  /** Per group without members: since when it is known to be empty (see the file comment). */
  private emptySince = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly host: OffsetsExpiryHost,
    private readonly config: OffsetsExpiryConfig,
  ) {}

  /** Checks every `checkIntervalMs` from now on (an unref'ed timer: it never holds the process). */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      this.expireNow().catch((err: unknown) => this.host.logger.error({ err }, 'offsets expiry failed; retrying at the next check'));
    }, this.config.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * One check now (a check already running is joined, not repeated); resolves with the number
   * of offsets deleted. A group whose tombstones fail keeps its offsets until the next check.
   */
  expireNow(nowMs = Date.now()): Promise<number> {
    if (this.running !== null) return this.running;
    const run = this.check(nowMs).finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  private async check(nowMs: number): Promise<number> {
    const topic = this.host.offsetsTopic();
    if (topic === null) {
      this.emptySince.clear();
      return 0;
    }
    const seen = new Map<string, number>();
    for (const groupId of topic.offsets.groupIds()) {
      if (this.host.liveMembers(groupId) > 0) continue;
      const loadedAtMs = topic.loadedAtMs(topic.partitionFor(groupId));
      seen.set(groupId, Math.max(this.emptySince.get(groupId) ?? nowMs, loadedAtMs));
    }
    // Groups with members now, or gone, start afresh when next seen empty.
    this.emptySince = seen;
    let deleted = 0;
    for (const [groupId, since] of seen) {
      // Decided just before the write, in the same turn: a member may have joined, or a commit
      // landed, while earlier groups' tombstones were written.
      const tombstones = this.expiredOf(topic, groupId, since, nowMs);
      if (tombstones.length === 0) continue;
      try {
        await this.host.expire(groupId, tombstones);
        deleted += tombstones.length;
        this.host.logger.info({ groupId, offsets: tombstones.length, retentionMs: this.config.retentionMs }, 'committed offsets expired (offsets.retention.minutes)');
      } catch (err) {
        this.host.logger.warn({ err, groupId }, 'expiring committed offsets failed; retrying at the next check');
      }
    }
    return deleted;
  }

  /** Tombstones for the group's offsets that are past the retention now (none while it is busy). */
  private expiredOf(topic: OffsetsTopic, groupId: string, since: number, nowMs: number): OffsetWrite[] {
    if (this.host.liveMembers(groupId) > 0 || this.host.isDeleting(groupId) || topic.isWriting(groupId)) return [];
    const expired: OffsetWrite[] = [];
    for (const [name, byPartition] of topic.offsets.ofGroup(groupId) ?? []) {
      for (const [partition, c] of byPartition) {
        if (nowMs - Math.max(c.commitTimestampMs, since) >= this.config.retentionMs) expired.push({ topic: name, partition, value: null });
      }
    }
    return expired;
  }
}
