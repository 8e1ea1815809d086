/**
 * The server-side "uniform" assignor: a sticky, balanced assignment of topic-partitions to
 * the members of a consumer group (Kafka's KIP-848 UniformAssignor, same goals).
 *
 * Guarantees, for any input:
 *  - every partition of a topic that at least one member subscribes to goes to exactly one
 *    member, and only to a member subscribing to its topic;
 *  - balance: no member X holds a partition that a member Y also subscribing to that topic
 *    could take while count(Y) < count(X) - 1. When every member subscribes to the same
 *    topics this means totals differ by at most one across members;
 *  - stickiness: a member keeps the partitions of its current target up to its quota, so
 *    adding a member moves only the partitions the newcomer needs, and removing one (with
 *    identical subscriptions) moves only the partitions it had.
 *  - determinism: the same input gives the same output (members and partitions are visited in
 *    sorted order, ties broken by member id).
 *
 * Two paths, as in Kafka: identical subscriptions use quotas (O(P + M log M)), different
 * subscriptions start from the sticky assignment and move one partition at a time from the
 * most to the least loaded eligible member until no such move is left.
 */
import { addPartition, partitionsOf, removePartition, type Assignment } from './assignment.js';

export interface AssignorMember {
  memberId: string;
  /** Topics this member subscribes to (names resolved from regexes already). */
  subscribedTopics: ReadonlySet<string>;
}

/**
 * @param members the live members
 * @param partitionCounts partition count of every subscribed topic that exists
 * @param current the current target assignment, by member id (members not in `members` are ignored)
 * @returns the new target assignment, with an entry (possibly empty) for every member
 */
export function assignUniform(
  members: readonly AssignorMember[],
  partitionCounts: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, Assignment>,
): Map<string, Assignment> {
  const state = new AssignmentState(members, partitionCounts);
  state.keepCurrent(current);
  if (state.isHomogeneous()) state.balanceByQuota();
  else state.balanceGreedily();
  return state.result;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class AssignmentState {
  readonly ids: string[];
  readonly result = new Map<string, Assignment>();
  /** Per member: the existing topics it subscribes to. */
  private readonly subscriptions = new Map<string, Set<string>>();
  /** Per topic with at least one subscriber: its subscribers, sorted by id. */
  private readonly subscribers = new Map<string, string[]>();
  /** topic → partition → owning member id, for the assignment being built. */
  private readonly owner = new Map<string, Map<number, string>>();
  private readonly counts = new Map<string, number>();

  constructor(members: readonly AssignorMember[], private readonly partitionCounts: ReadonlyMap<string, number>) {
    this.ids = members.map((m) => m.memberId).sort(compareIds);
    for (const m of members) {
      const subs = new Set<string>();
      for (const t of m.subscribedTopics) if ((partitionCounts.get(t) ?? 0) > 0) subs.add(t);
      this.subscriptions.set(m.memberId, subs);
      this.result.set(m.memberId, new Map());
      this.counts.set(m.memberId, 0);
    }
    for (const id of this.ids) {
      for (const t of this.subscriptions.get(id)!) {
        let list = this.subscribers.get(t);
        if (list === undefined) this.subscribers.set(t, (list = []));
        list.push(id);
      }
    }
  }

  private ownerOf(topic: string, partition: number): string | undefined {
    return this.owner.get(topic)?.get(partition);
  }

  private topicCount(id: string, topic: string): number {
    return this.result.get(id)!.get(topic)?.size ?? 0;
  }

  private give(id: string, topic: string, partition: number): void {
    addPartition(this.result.get(id)!, topic, partition);
    let byPartition = this.owner.get(topic);
    if (byPartition === undefined) this.owner.set(topic, (byPartition = new Map()));
    byPartition.set(partition, id);
    this.counts.set(id, this.counts.get(id)! + 1);
  }

  private take(id: string, topic: string, partition: number): void {
    removePartition(this.result.get(id)!, topic, partition);
    this.owner.get(topic)!.delete(partition);
    this.counts.set(id, this.counts.get(id)! - 1);
  }

  /** Sticky start: every member keeps what it had that is still valid (and not claimed twice). */
  keepCurrent(current: ReadonlyMap<string, Assignment>): void {
    for (const id of this.ids) {
      const had = current.get(id);
      if (had === undefined) continue;
      const subs = this.subscriptions.get(id)!;
      for (const [t, p] of partitionsOf(had)) {
        if (!subs.has(t) || p >= (this.partitionCounts.get(t) ?? 0) || this.ownerOf(t, p) !== undefined) continue;
        this.give(id, t, p);
      }
    }
  }

  isHomogeneous(): boolean {
    if (this.ids.length === 0) return true;
    const first = this.subscriptions.get(this.ids[0]!)!;
    for (const id of this.ids) {
      const s = this.subscriptions.get(id)!;
      if (s.size !== first.size) return false;
      for (const t of s) if (!first.has(t)) return false;
    }
    return true;
  }

  /** Unowned partitions of subscribed topics, sorted by topic then partition. */
  private unowned(topics: Iterable<string>): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const t of [...topics].sort()) {
      const n = this.partitionCounts.get(t) ?? 0;
      for (let p = 0; p < n; p++) if (this.ownerOf(t, p) === undefined) out.push([t, p]);
    }
    return out;
  }

  /**
   * Identical subscriptions: quota floor(P/M) each, the P mod M extra slots going to the
   * members that already hold the most (fewest moves). Over-quota members give up partitions
   * of the topic they hold most of; the pool goes to under-quota members, spreading each topic.
   */
  balanceByQuota(): void {
    const ids = this.ids;
    if (ids.length === 0) return;
    let total = 0;
    for (const t of this.subscribers.keys()) total += this.partitionCounts.get(t)!;
    const floor = Math.floor(total / ids.length);
    const extras = total % ids.length;
    const byKept = [...ids].sort((a, b) => this.counts.get(b)! - this.counts.get(a)! || compareIds(a, b));
    const quota = new Map<string, number>();
    byKept.forEach((id, i) => quota.set(id, floor + (i < extras ? 1 : 0)));

    for (const id of ids) {
      const a = this.result.get(id)!;
      while (this.counts.get(id)! > quota.get(id)!) {
        let topic = '';
        let most = -1;
        for (const t of [...a.keys()].sort()) {
          const size = a.get(t)!.size;
          if (size > most) {
            most = size;
            topic = t;
          }
        }
        this.take(id, topic, Math.max(...a.get(topic)!));
      }
    }

    const hungry = ids.filter((id) => this.counts.get(id)! < quota.get(id)!);
    for (const [t, p] of this.unowned(this.subscribers.keys())) {
      let best = -1;
      for (let i = 0; i < hungry.length; i++) {
        const id = hungry[i]!;
        if (best < 0) {
          best = i;
          continue;
        }
        const b = hungry[best]!;
        const d = this.topicCount(id, t) - this.topicCount(b, t) || this.counts.get(id)! - this.counts.get(b)!;
        if (d < 0) best = i;
      }
      // Quotas sum to the number of partitions, so a hungry member always exists here.
      const id = hungry[best]!;
      this.give(id, t, p);
      if (this.counts.get(id)! >= quota.get(id)!) hungry.splice(best, 1);
    }
  }

  /** The eligible member (subscribed to `topic`, not `except`) with the fewest partitions. */
  private leastLoadedSubscriber(topic: string, except?: string): string | undefined {
    let best: string | undefined;
    for (const id of this.subscribers.get(topic) ?? []) {
      if (id === except) continue;
      if (best === undefined) {
        best = id;
        continue;
      }
      const d = this.counts.get(id)! - this.counts.get(best)! || this.topicCount(id, topic) - this.topicCount(best, topic);
      if (d < 0) best = id;
    }
    return best;
  }

  /**
   * Different subscriptions: place unowned partitions (most constrained topics first) on the
   * least loaded subscriber, then repeatedly move one partition from the most loaded member
   * that has one a lighter subscriber could take (by two or more) to that subscriber.
   * Each move lowers the sum of squared counts by at least 2, so the loop ends.
   */
  balanceGreedily(): void {
    const topics = [...this.subscribers.keys()].sort(
      (a, b) => this.subscribers.get(a)!.length - this.subscribers.get(b)!.length || compareIds(a, b),
    );
    for (const t of topics) {
      for (const [, p] of this.unowned([t])) this.give(this.leastLoadedSubscriber(t)!, t, p);
    }

    for (;;) {
      const byLoad = [...this.ids].sort((a, b) => this.counts.get(b)! - this.counts.get(a)! || compareIds(a, b));
      const minCount = this.counts.get(byLoad[byLoad.length - 1]!) ?? 0;
      let moved = false;
      for (const x of byLoad) {
        const cx = this.counts.get(x)!;
        if (cx <= minCount + 1) break;
        const held = this.result.get(x)!;
        for (const t of [...held.keys()].sort()) {
          const y = this.leastLoadedSubscriber(t, x);
          if (y === undefined || this.counts.get(y)! >= cx - 1) continue;
          const p = Math.max(...held.get(t)!);
          this.take(x, t, p);
          this.give(y, t, p);
          moved = true;
          break;
        }
        if (moved) break;
      }
      if (!moved) return;
    }
  }
}
