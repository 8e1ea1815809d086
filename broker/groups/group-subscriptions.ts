/**
 * What a consumer group's members subscribe to (used by group.ts): the group-wide reference
 * counts of subscribed topic names and regexes, and the partition count of every subscribed
 * topic as last seen. A change of that snapshot (a topic created, grown or deleted) bumps the
 * group epoch, so it is re-read on every heartbeat; regexes never match internal topics
 * (the metadata source does not list them).
 */
import type { GroupMember } from './member.js';

/** What the group needs to know about topics: partition counts and the names regexes see. */
export interface TopicMetadataSource {
  partitionCount(topic: string): number | undefined;
  /** Every non-internal topic (regex subscriptions never match internal topics). */
  topicNames(): Iterable<string>;
}

export class GroupSubscriptions {
  private readonly topicNameRefs = new Map<string, number>();
  private readonly regexRefs = new Map<string, { regex: RegExp; refs: number }>();
  /** Partition count of every subscribed topic at the last check. */
  private counts = new Map<string, number>();

  constructor(private readonly metadata: TopicMetadataSource) {}

  /** Subscribed topic → partition count, as of the last `refresh`. */
  get partitionCounts(): ReadonlyMap<string, number> {
    return this.counts;
  }

  /** The subscribed topics of `member` that exist (by name or by its regex). */
  topicsOf(member: GroupMember): Set<string> {
    const topics = new Set<string>();
    for (const t of member.subscribedTopicNames) if (this.counts.has(t)) topics.add(t);
    if (member.topicRegex !== null) for (const t of this.counts.keys()) if (member.topicRegex.test(t)) topics.add(t);
    return topics;
  }

  /** Re-reads the partition counts of every subscribed topic; true when they changed. */
  refresh(): boolean {
    const md = this.metadata;
    const snapshot = new Map<string, number>();
    for (const t of this.topicNameRefs.keys()) {
      const n = md.partitionCount(t);
      if (n !== undefined && n > 0) snapshot.set(t, n);
    }
    if (this.regexRefs.size > 0) {
      for (const t of md.topicNames()) {
        if (snapshot.has(t)) continue;
        for (const { regex } of this.regexRefs.values()) {
          if (!regex.test(t)) continue;
          const n = md.partitionCount(t);
          if (n !== undefined && n > 0) snapshot.set(t, n);
          break;
        }
      }
    }
    let same = snapshot.size === this.counts.size;
    if (same) for (const [t, n] of snapshot) if (this.counts.get(t) !== n) same = false;
    this.counts = snapshot;
    return !same;
  }

  /**
   * Applies a heartbeat's subscription fields to `member` (null = unchanged; regex '' = no
   * regex) and keeps the group-wide reference counts. Returns true when the subscription changed.
   */
  update(member: GroupMember, names: string[] | null, regexSource: string | null, regex: RegExp | null): boolean {
    let changed = false;
    if (names !== null) {
      const next = [...new Set(names)].sort();
      const prev = member.subscribedTopicNames;
      if (next.length !== prev.length || next.some((t, i) => t !== prev[i])) {
        for (const t of prev) unref(this.topicNameRefs, t);
        for (const t of next) this.topicNameRefs.set(t, (this.topicNameRefs.get(t) ?? 0) + 1);
        member.subscribedTopicNames = next;
        changed = true;
      }
    }
    if (regexSource !== null) {
      const next = regexSource === '' ? null : regexSource;
      if (next !== member.subscribedTopicRegex) {
        if (member.subscribedTopicRegex !== null) {
          const entry = this.regexRefs.get(member.subscribedTopicRegex)!;
          if (--entry.refs === 0) this.regexRefs.delete(member.subscribedTopicRegex);
        }
        if (next !== null) {
          const entry = this.regexRefs.get(next);
          if (entry !== undefined) entry.refs++;
          else this.regexRefs.set(next, { regex: regex!, refs: 1 });
        }
        member.subscribedTopicRegex = next;
        member.topicRegex = next === null ? null : regex;
        changed = true;
      }
    }
    return changed;
  }
}

function unref(refs: Map<string, number>, key: string): void {
  const n = (refs.get(key) ?? 0) - 1;
  if (n <= 0) refs.delete(key);
  else refs.set(key, n);
}
