import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assignmentSize, fromWire, toWire } from '../../broker/groups/assignment.js';
import { ConsumerGroup, DEFAULT_GROUP_CONFIG } from '../../broker/groups/group.js';
import { FakeMetadata, SimGroup, SimMember, errorNameOf, heartbeatRequest, makeGroup, silentLogger } from './group-sim.js';
import { mulberry32 as rng } from '../helpers/rng.js';

const client = { clientId: 'c', clientHost: '127.0.0.1' };


beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('consumer group state machine', () => {
  it('gives 3 members 4 partitions each, then moves partitions to a 4th only after their owners revoke', () => {
    const md = new FakeMetadata({ t: 12 });
    const sim = new SimGroup(makeGroup(md));
    const [a, b, c] = ['a', 'b', 'c'].map((n) => sim.join(new SimMember(n, ['t'])));
    sim.converge();
    expect(sim.group.state).toBe('stable');
    for (const m of [a!, b!, c!]) expect(assignmentSize(m.owned)).toBe(4);
    const epochBefore = sim.group.groupEpoch;

    // d joins with delayed revocations on the others: it gets nothing until they let go.
    for (const m of [a!, b!, c!]) m.revokeDelay = 2;
    const d = sim.join(new SimMember('d', ['t']));
    expect(sim.group.groupEpoch).toBe(epochBefore + 1);
    expect(assignmentSize(d.owned)).toBe(0);
    expect(assignmentSize(sim.group.targetOf(d.memberId))).toBe(3);
    expect(sim.group.state).toBe('reconciling');
    const keepers = new Map([a!, b!, c!].map((m) => [m, fromWire(toWire(sim.group.targetOf(m.memberId)))]));

    // The old members are told to revoke one each; they still own it (pending revocation).
    for (const m of [a!, b!, c!]) sim.heartbeat(m);
    for (const m of [a!, b!, c!]) {
      expect(assignmentSize(m.owned)).toBe(4);
      expect(m.epoch).toBe(epochBefore); // no advance before revoking
    }
    sim.heartbeat(d);
    expect(assignmentSize(d.owned)).toBe(0);
    sim.converge();
    for (const m of [a!, b!, c!, d]) expect(assignmentSize(m.owned)).toBe(3);
    for (const m of [a!, b!, c!, d]) expect(m.epoch).toBe(sim.group.assignmentEpoch);
    // Partitions that stayed with their owner were never taken away from it.
    for (const [m, kept] of keepers) {
      expect(m.lostWhileTargeted).toEqual([]);
      for (const [t, ps] of kept) for (const p of ps) expect(m.owned.get(t)?.has(p)).toBe(true);
    }
  });

  it('frees a leaving member\'s partitions at once', () => {
    const sim = new SimGroup(makeGroup(new FakeMetadata({ t: 6 })));
    const [a, b] = ['a', 'b'].map((n) => sim.join(new SimMember(n, ['t'])));
    sim.converge();
    sim.leave(a!);
    expect(sim.group.members.size).toBe(1);
    expect(sim.group.state).toBe('assigning');
    sim.heartbeat(b!);
    expect(assignmentSize(b!.owned)).toBe(6);
    expect(sim.group.state).toBe('stable');
    // A second leave of the same member is harmless.
    expect(sim.group.heartbeat(heartbeatRequest({ memberId: a!.memberId, memberEpoch: -1 }), client).errorCode).toBe(0);
  });

  it('expels a member silent for its session timeout and gives its partitions to the survivors', () => {
    const sim = new SimGroup(makeGroup(new FakeMetadata({ t: 6 }), { sessionTimeoutMs: 1500 }));
    const [a, b] = ['a', 'b'].map((n) => sim.join(new SimMember(n, ['t'])));
    sim.converge();
    const epoch = sim.group.groupEpoch;
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(500);
      sim.reapExpelled();
      sim.heartbeat(a!); // a keeps heartbeating, b is silent
    }
    expect(b!.alive).toBe(false);
    expect(sim.group.groupEpoch).toBe(epoch + 1);
    sim.converge();
    expect(assignmentSize(a!.owned)).toBe(6);
    // A heartbeat from the expelled member is refused.
    expect(errorNameOf(() => sim.group.heartbeat(heartbeatRequest({ memberId: b!.memberId, memberEpoch: b!.epoch }), client))).toBe('UNKNOWN_MEMBER_ID');
  });

  it('expels a member that heartbeats but never finishes revoking within its rebalance timeout', () => {
    const sim = new SimGroup(makeGroup(new FakeMetadata({ t: 4 }), { rebalanceTimeoutMs: 2000 }));
    const a = sim.join(new SimMember('a', ['t'], 1_000_000));
    sim.converge();
    const b = sim.join(new SimMember('b', ['t']));
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(500);
      sim.reapExpelled();
      if (!a.alive) break;
      sim.heartbeat(a);
      sim.heartbeat(b);
    }
    expect(a.alive).toBe(false);
    sim.converge();
    expect(assignmentSize(b.owned)).toBe(4);
  });

  it('fences unknown members and wrong epochs, tolerates the previous epoch, and lets a fenced member rejoin', () => {
    const sim = new SimGroup(makeGroup(new FakeMetadata({ t: 4 })));
    const a = sim.join(new SimMember('a', ['t']));
    sim.converge();
    expect(errorNameOf(() => sim.group.heartbeat(heartbeatRequest({ memberId: 'nobody', memberEpoch: 3 }), client))).toBe('UNKNOWN_MEMBER_ID');
    expect(errorNameOf(() => sim.group.heartbeat(heartbeatRequest({ memberId: a.memberId, memberEpoch: a.epoch + 5 }), client))).toBe('FENCED_MEMBER_EPOCH');

    // b joins: a's epoch advances after revoking; a heartbeat still carrying the previous
    // epoch (a lost response) with owned ⊆ assigned is tolerated.
    const b = sim.join(new SimMember('b', ['t']));
    sim.converge();
    const previous = sim.group.members.get(a.memberId)!.previousMemberEpoch;
    expect(previous).toBeGreaterThan(0);
    const res = sim.group.heartbeat(heartbeatRequest({ memberId: a.memberId, memberEpoch: previous, ownedPartitions: toWire(a.owned) }), client);
    expect(res.errorCode).toBe(0);
    expect(res.memberEpoch).toBe(a.epoch);
    // ...but not with partitions beyond its assignment.
    const tooMuch = toWire(new Map([['t', new Set([0, 1, 2, 3])]]));
    expect(errorNameOf(() => sim.group.heartbeat(heartbeatRequest({ memberId: a.memberId, memberEpoch: previous, ownedPartitions: tooMuch }), client))).toBe('FENCED_MEMBER_EPOCH');

    // A fenced member drops everything and rejoins with epoch 0 and the same id.
    a.owned = new Map();
    a.epoch = 0;
    sim.heartbeat(a);
    expect(a.memberId).toBe(sim.group.members.get(a.memberId)!.memberId);
    expect(assignmentSize(a.owned)).toBe(2);
    expect(assignmentSize(b.owned)).toBe(2);
  });

  it('validates member commits by member id and epoch', () => {
    const sim = new SimGroup(makeGroup(new FakeMetadata({ t: 2 })));
    const a = sim.join(new SimMember('a', ['t']));
    sim.converge();
    const g = sim.group;
    expect(() => g.validateOffsetCommit(a.memberId, a.epoch)).not.toThrow();
    expect(errorNameOf(() => g.validateOffsetCommit(a.memberId, a.epoch - 1))).toBe('STALE_MEMBER_EPOCH');
    expect(errorNameOf(() => g.validateOffsetCommit(a.memberId, a.epoch + 1))).toBe('FENCED_MEMBER_EPOCH');
    expect(errorNameOf(() => g.validateOffsetCommit('ghost', 1))).toBe('UNKNOWN_MEMBER_ID');
    expect(errorNameOf(() => g.validateOffsetCommit('', -1))).toBe('NON_EMPTY_GROUP');
    sim.leave(a);
    expect(() => g.validateOffsetCommit('', -1)).not.toThrow();
    expect(errorNameOf(() => g.validateOffsetCommit(a.memberId, a.epoch))).toBe('UNKNOWN_MEMBER_ID');
  });

  it('bumps the epoch and assigns new partitions when a subscribed topic grows or a regex matches a new topic', () => {
    const md = new FakeMetadata({ 'orders.eu': 2, other: 5 });
    const g = makeGroup(md);
    const res = g.heartbeat(heartbeatRequest({ subscribedTopicRegex: 'orders\\..*', ownedPartitions: [] }), client);
    expect(res.assignment?.topicPartitions).toEqual([{ topic: 'orders.eu', partitions: [0, 1] }]);
    const epoch = g.groupEpoch;
    md.counts.set('orders.us', 1);
    md.counts.set('orders.eu', 3);
    md.counts.set('old-orders.eu', 1); // must match the whole name
    const owned = res.assignment!.topicPartitions;
    const res2 = g.heartbeat(heartbeatRequest({ memberId: res.memberId, memberEpoch: res.memberEpoch, ownedPartitions: owned }), client);
    expect(g.groupEpoch).toBe(epoch + 1);
    expect(res2.memberEpoch).toBe(epoch + 1);
    expect(res2.assignment?.topicPartitions).toEqual([
      { topic: 'orders.eu', partitions: [0, 1, 2] },
      { topic: 'orders.us', partitions: [0] },
    ]);
    // Nothing changed: no bump, no assignment resent.
    const res3 = g.heartbeat(heartbeatRequest({ memberId: res.memberId, memberEpoch: res2.memberEpoch, ownedPartitions: res2.assignment!.topicPartitions }), client);
    expect(g.groupEpoch).toBe(epoch + 1);
    expect(res3.assignment).toBeNull();
    expect(g.state).toBe('stable');
  });

  it('refuses unsafe or invalid regexes, bad session timeouts and joins beyond group.consumer.max.size', () => {
    const g = makeGroup(new FakeMetadata({ t: 1 }), { maxSize: 2 });
    for (const regex of ['(a+)+', '(a|aa)*x', '(?=x)y', '(x)\\1', 'a'.repeat(2000), '(', '[']) {
      expect(errorNameOf(() => g.heartbeat(heartbeatRequest({ subscribedTopicRegex: regex }), client)), regex).toBe('INVALID_REQUEST');
    }
    expect(errorNameOf(() => g.heartbeat(heartbeatRequest({ subscribedTopicRegex: 'orders-(eu|us)\\..+' }), client))).toBeNull();
    expect(errorNameOf(() => g.heartbeat(heartbeatRequest({ subscribedTopicNames: ['t'], sessionTimeoutMs: 10 }), client))).toBe('INVALID_SESSION_TIMEOUT');
    expect(errorNameOf(() => g.heartbeat(heartbeatRequest({}), client))).toBe('INVALID_REQUEST'); // no subscription
    expect(errorNameOf(() => g.heartbeat(heartbeatRequest({ subscribedTopicNames: ['t'] }), client))).toBeNull();
    expect(errorNameOf(() => g.heartbeat(heartbeatRequest({ subscribedTopicNames: ['t'] }), client))).toBe('GROUP_MAX_SIZE_REACHED');
    expect(g.members.size).toBe(2);
    g.close();
  });

  it('keeps the no-double-ownership invariant across random joins, leaves, expiries, slow revocations and topic changes', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const md = new FakeMetadata({ a: 1 + Math.floor(r() * 8), b: 1 + Math.floor(r() * 8), c: 1 + Math.floor(r() * 4) });
      const group = makeGroup(md, { sessionTimeoutMs: 1000, rebalanceTimeoutMs: 60_000 });
      const sim = new SimGroup(group);
      const silent = new Set<SimMember>();
      const lastBeat = new Map<SimMember, number>();
      let now = 0;
      let names = 0;
      const pickTopics = () => {
        const ts = ['a', 'b', 'c'].filter(() => r() < 0.7);
        return ts.length > 0 ? ts : ['a'];
      };
      const beat = (m: SimMember, subChanged = false) => {
        sim.heartbeat(m, subChanged);
        lastBeat.set(m, now);
      };
      for (let step = 0; step < 250; step++) {
        const live = sim.live().filter((m) => !silent.has(m));
        const x = r();
        if (x < 0.08 && live.length < 7) {
          const m = new SimMember(`m${names++}`, pickTopics(), Math.floor(r() * 3), r() < 0.5);
          sim.members.push(m);
          beat(m);
        } else if (x < 0.12 && live.length > 0) {
          sim.leave(live[Math.floor(r() * live.length)]!);
        } else if (x < 0.15 && live.length > 0) {
          silent.add(live[Math.floor(r() * live.length)]!); // stops heartbeating: will be expelled
        } else if (x < 0.18 && live.length > 0) {
          const m = live[Math.floor(r() * live.length)]!;
          m.topics = pickTopics();
          beat(m, true);
        } else if (x < 0.2) {
          const t = ['a', 'b', 'c'][Math.floor(r() * 3)]!;
          md.counts.set(t, md.counts.get(t)! + 1);
        } else if (live.length > 0) {
          beat(live[Math.floor(r() * live.length)]!);
        }
        now += 50;
        vi.advanceTimersByTime(50);
        sim.reapExpelled();
        // Live, non-silent members never miss their session.
        for (const m of sim.live()) if (!silent.has(m) && now - (lastBeat.get(m) ?? now) >= 500) beat(m);
        sim.checkNoDoubleOwnership();
      }
      // Quiesce: silent members time out, everyone else converges to a balanced, stable group.
      now += 1000;
      vi.advanceTimersByTime(1000);
      sim.reapExpelled();
      for (const m of sim.live()) m.revokeDelay = 0;
      if (sim.live().length === 0) continue;
      sim.converge(30);
      expect(group.state, `seed ${seed}`).toBe('stable');
      const subscribed = new Set(sim.live().flatMap((m) => m.topics));
      let owned = 0;
      for (const m of sim.live()) {
        expect(m.owned, `seed ${seed}`).toEqual(group.targetOf(m.memberId));
        expect(m.epoch).toBe(group.assignmentEpoch);
        owned += assignmentSize(m.owned);
      }
      expect(owned).toBe([...subscribed].reduce((n, t) => n + md.counts.get(t)!, 0));
      group.close();
    }
  });

  it('describes members with client identity, owned and target assignments', () => {
    const g = new ConsumerGroup('g', { config: DEFAULT_GROUP_CONFIG, metadata: new FakeMetadata({ t: 2 }), logger: silentLogger, debugChecks: true });
    const res = g.heartbeat(heartbeatRequest({ subscribedTopicNames: ['t', 't'], ownedPartitions: [] }), { clientId: 'svc-1', clientHost: '10.0.0.7' });
    const [m] = g.describeMembers();
    expect(m).toEqual({
      memberId: res.memberId,
      clientId: 'svc-1',
      clientHost: '10.0.0.7',
      memberEpoch: 1,
      subscribedTopicNames: ['t'],
      subscribedTopicRegex: null,
      assignment: [{ topic: 't', partitions: [0, 1] }],
      targetAssignment: [{ topic: 't', partitions: [0, 1] }],
    });
    g.close();
  });
});
