/**
 * Which partitions wait for a new leader, shared by the producer's sender and the consumer's
 * fetcher. A partition whose leader answered NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH, or
 * whose connection failed, waits for its topic's metadata refresh (one refresh per topic at a
 * time). Only that partition waits: the topic's other partitions keep going to the leaders the
 * cache knows, so one dead partition never blocks the rest.
 */
import type { BrokerPool } from './broker-pool.js';
import type { Metadata, TopicInfo } from './metadata.js';

export class LeaderWaits {
  /** partition key -> topic, for the partitions waiting for a refresh. */
  private readonly waiting = new Map<string, string>();
  private readonly refreshing = new Set<string>();

  constructor(
    private readonly metadata: Metadata,
    private readonly pool: BrokerPool,
  ) {}

  /** The cached leader of a partition is known and in the pool. */
  hasLeader(topic: string, partition: number): boolean {
    const leader = this.metadata.leaderOf(topic, partition);
    return leader >= 0 && this.pool.hasNode(leader);
  }

  /** The partition may be sent to its cached leader now (it has one, and is not waiting). */
  canSend(topic: string, partition: number, key: string): boolean {
    return !this.waiting.has(key) && this.hasLeader(topic, partition);
  }

  /** The partition's leader is suspect: it waits for the next refresh of its topic. */
  wait(topic: string, key: string): void {
    this.waiting.set(key, topic);
    this.metadata.markStale(topic);
  }

  /**
   * Refreshes `topic` unless a refresh is already under way. When it ends, the partitions that
   * waited stop waiting and `done` gets the outcome and their keys.
   */
  refresh(topic: string, signal: AbortSignal | undefined, done: (outcome: { info: TopicInfo } | { error: Error }, waited: Set<string>) => void): void {
    if (this.refreshing.has(topic)) return;
    this.refreshing.add(topic);
    this.metadata.markStale(topic);
    const finish = (outcome: { info: TopicInfo } | { error: Error }): void => {
      this.refreshing.delete(topic);
      const waited = new Set<string>();
      for (const [key, t] of this.waiting) {
        if (t !== topic) continue;
        waited.add(key);
        this.waiting.delete(key);
      }
      done(outcome, waited);
    };
    this.metadata.topic(topic, { waitForTopic: true, signal }).then(
      (info) => finish({ info }),
      (error: Error) => finish({ error }),
    );
  }

  /** A partition is gone (unassigned): it no longer waits. */
  forget(key: string): void {
    this.waiting.delete(key);
  }
}
