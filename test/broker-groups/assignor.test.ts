import { describe, expect, it } from 'vitest';
import { addPartition, assignmentSize, partitionsOf, type Assignment } from '../../broker/groups/assignment.js';
import { assignUniform, type AssignorMember } from '../../broker/groups/assignor.js';
import { mulberry32 as rng } from '../helpers/rng.js';


function owners(result: Map<string, Assignment>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, a] of result) {
    for (const [t, p] of partitionsOf(a)) {
      const key = `${t}-${p}`;
      expect(out.has(key), `${key} assigned twice`).toBe(false);
      out.set(key, id);
    }
  }
  return out;
}

/** Checks validity and balance of an assignment; returns partition → owner. */
function checkAssignment(members: AssignorMember[], counts: Map<string, number>, result: Map<string, Assignment>): Map<string, string> {
  const byId = new Map(members.map((m) => [m.memberId, m]));
  expect([...result.keys()].sort()).toEqual(members.map((m) => m.memberId).sort());
  const owner = owners(result);
  // Every partition of a subscribed topic is assigned, to a subscriber.
  for (const [t, n] of counts) {
    const subscribed = members.some((m) => m.subscribedTopics.has(t));
    for (let p = 0; p < n; p++) {
      const id = owner.get(`${t}-${p}`);
      if (!subscribed) {
        expect(id).toBeUndefined();
        continue;
      }
      expect(id, `${t}-${p} unassigned`).toBeDefined();
      expect(byId.get(id!)!.subscribedTopics.has(t)).toBe(true);
    }
  }
  // Balance: no partition could move to a subscriber holding two or more fewer.
  const size = (id: string) => assignmentSize(result.get(id)!);
  for (const [id, a] of result) {
    for (const t of a.keys()) {
      for (const other of members) {
        if (other.memberId === id || !other.subscribedTopics.has(t)) continue;
        expect(size(other.memberId), `${other.memberId} (${size(other.memberId)}) could take ${t} from ${id} (${size(id)})`).toBeGreaterThanOrEqual(size(id) - 1);
      }
    }
  }
  return owner;
}

function homogeneous(ids: string[], topics: string[]): AssignorMember[] {
  return ids.map((memberId) => ({ memberId, subscribedTopics: new Set(topics) }));
}

describe('uniform assignor', () => {
  it('balances 12 partitions over 3 members as 4 each, then 3 each with a fourth', () => {
    const counts = new Map([['t', 12]]);
    const three = assignUniform(homogeneous(['a', 'b', 'c'], ['t']), counts, new Map());
    checkAssignment(homogeneous(['a', 'b', 'c'], ['t']), counts, three);
    for (const a of three.values()) expect(assignmentSize(a)).toBe(4);
    const four = assignUniform(homogeneous(['a', 'b', 'c', 'd'], ['t']), counts, three);
    for (const a of four.values()) expect(assignmentSize(a)).toBe(3);
    // Each old member gave exactly one partition to d and kept the other three.
    for (const id of ['a', 'b', 'c']) {
      for (const [t, p] of partitionsOf(four.get(id)!)) expect(three.get(id)!.get(t)!.has(p)).toBe(true);
    }
  });

  it('is valid, balanced and deterministic for random shapes', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const topicCount = 1 + Math.floor(r() * 5);
      const topics = Array.from({ length: topicCount }, (_, i) => `t${i}`);
      const counts = new Map(topics.map((t) => [t, 1 + Math.floor(r() * 20)]));
      if (r() < 0.2) counts.delete(topics[0]!); // a subscribed topic that does not exist
      const memberCount = 1 + Math.floor(r() * 12);
      const same = r() < 0.5;
      const members: AssignorMember[] = Array.from({ length: memberCount }, (_, i) => ({
        memberId: `m${i.toString().padStart(2, '0')}`,
        subscribedTopics: new Set(same ? topics : topics.filter(() => r() < 0.6)),
      }));
      // A random (possibly invalid) current assignment to start from.
      const current = new Map<string, Assignment>();
      for (const m of members) {
        const a: Assignment = new Map();
        for (const t of topics) for (let p = 0; p < 25; p++) if (r() < 0.1) addPartition(a, t, p);
        current.set(m.memberId, a);
      }
      const result = assignUniform(members, counts, current);
      checkAssignment(members, counts, result);
      if (same) {
        const sizes = [...result.values()].map(assignmentSize);
        expect(Math.max(...sizes) - Math.min(...sizes), `seed ${seed}`).toBeLessThanOrEqual(1);
      }
      const shuffled = [...members].sort(() => r() - 0.5);
      expect(assignUniform(shuffled, counts, current)).toEqual(result);
    }
  });

  it('moves only the minimum when a member joins, and only its partitions when one leaves', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const r = rng(seed * 7919);
      const topics = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, i) => `t${i}`);
      const counts = new Map(topics.map((t) => [t, 1 + Math.floor(r() * 30)]));
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      const ids = Array.from({ length: 1 + Math.floor(r() * 8) }, (_, i) => `m${i}`);
      const before = assignUniform(homogeneous(ids, topics), counts, new Map());
      const ownerBefore = owners(before);

      // Join: the newcomer takes floor(P / (M + 1)) partitions, nobody else changes hands.
      const joined = [...ids, 'newcomer'];
      const after = assignUniform(homogeneous(joined, topics), counts, before);
      const ownerAfter = checkAssignment(homogeneous(joined, topics), counts, after);
      let moved = 0;
      for (const [tp, id] of ownerAfter) {
        if (ownerBefore.get(tp) === id) continue;
        moved++;
        expect(id, `seed ${seed}: ${tp} moved between old members`).toBe('newcomer');
      }
      expect(moved).toBe(Math.floor(total / joined.length));

      // Leave: only the leaver's partitions move.
      if (ids.length < 2) continue;
      const leaver = ids[Math.floor(r() * ids.length)]!;
      const rest = ids.filter((id) => id !== leaver);
      const shrunk = assignUniform(homogeneous(rest, topics), counts, before);
      const ownerShrunk = checkAssignment(homogeneous(rest, topics), counts, shrunk);
      for (const [tp, id] of ownerShrunk) {
        if (ownerBefore.get(tp) !== leaver) expect(id, `seed ${seed}: ${tp} moved though its owner stayed`).toBe(ownerBefore.get(tp));
      }
    }
  });

  it('assigns topics only to their subscribers when subscriptions differ', () => {
    const members: AssignorMember[] = [
      { memberId: 'a', subscribedTopics: new Set(['orders']) },
      { memberId: 'b', subscribedTopics: new Set(['orders', 'payments']) },
      { memberId: 'c', subscribedTopics: new Set(['payments']) },
    ];
    const counts = new Map([
      ['orders', 4],
      ['payments', 4],
    ]);
    const result = assignUniform(members, counts, new Map());
    checkAssignment(members, counts, result);
    for (const a of result.values()) expect([2, 3]).toContain(assignmentSize(a));
    expect(result.get('a')!.has('payments')).toBe(false);
    expect(result.get('c')!.has('orders')).toBe(false);
    // Sticky under different subscriptions too: recomputing from the result changes nothing.
    expect(assignUniform(members, counts, result)).toEqual(result);
  });

  it('leaves topics nobody subscribes to unassigned and handles no members', () => {
    expect(assignUniform([], new Map([['t', 3]]), new Map()).size).toBe(0);
    const members: AssignorMember[] = [{ memberId: 'a', subscribedTopics: new Set(['x']) }];
    const result = assignUniform(members, new Map([['t', 3]]), new Map());
    expect(assignmentSize(result.get('a')!)).toBe(0);
  });
});
