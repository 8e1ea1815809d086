import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClassicGroups, type ClassicGroupConfig, type JoinRequest, type JoinResult, type SyncResult } from '../../broker/groups/classic/groups.js';
import { ErrorCode } from '../../protocol/errors.js';

const CONFIG: ClassicGroupConfig = { initialRebalanceDelayMs: 100, minSessionTimeoutMs: 100, maxSessionTimeoutMs: 60_000, maxSize: 4 };
const G = 'g';

let kip848Active = false;
let groups: ClassicGroups;

beforeEach(() => {
  vi.useFakeTimers();
  kip848Active = false;
  groups = new ClassicGroups({ config: CONFIG, logger: pino({ level: process.env.DBG ? 'info' : 'silent' }), consumerGroupActive: () => kip848Active });
});
afterEach(() => {
  groups.close();
  vi.useRealTimers();
});

function joinReq(over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    sessionTimeoutMs: 1000,
    rebalanceTimeoutMs: 2000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
    requireKnownMemberId: true,
    clientId: 'client',
    clientHost: '127.0.0.1',
    ...over,
  };
}

/** A join that may park: resolves once timers/other members let it. */
function track<T>(p: Promise<T>): { done: () => boolean; value: () => T; promise: Promise<T> } {
  let result: { v: T } | null = null;
  void p.then((v) => (result = { v }));
  return { done: () => result !== null, value: () => result!.v, promise: p };
}

/** MEMBER_ID_REQUIRED round trip, then the real join (parked). */
async function joinNew(over: Partial<JoinRequest> = {}) {
  const first = await groups.join(G, joinReq(over));
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  expect(first.memberId).toMatch(/^client-/);
  return track(groups.join(G, joinReq({ ...over, memberId: first.memberId })));
}

function sync(memberId: string, generationId: number, assignments: Array<{ memberId: string; assignment: Buffer }> = []) {
  return track(groups.sync(G, { generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments }));
}

/** Three members through one rebalance to Stable; returns their join results, leader first. */
async function stableGroupOfThree(): Promise<JoinResult[]> {
  const joins = [await joinNew(), await joinNew(), await joinNew()];
  await vi.advanceTimersByTimeAsync(CONFIG.initialRebalanceDelayMs * 3);
  const results = joins.map((j) => j.value());
  const leader = results.find((r) => r.memberId === r.leader)!;
  const syncs = results.filter((r) => r !== leader).map((r) => sync(r.memberId, r.generationId));
  const leaderSync = sync(
    leader.memberId,
    leader.generationId,
    results.map((r, i) => ({ memberId: r.memberId, assignment: Buffer.from(`a${i}`) })),
  );
  await vi.advanceTimersByTimeAsync(0);
  for (const s of [...syncs, leaderSync]) expect(s.value().errorCode).toBe(0);
  expect(groups.get(G)!.state).toBe('Stable');
  return [leader, ...results.filter((r) => r !== leader)];
}

describe('classic group: joining', () => {
  it('waits the initial delay, extends it while members arrive, then answers all joins in one generation', async () => {
    const a = await joinNew();
    await vi.advanceTimersByTimeAsync(60);
    const b = await joinNew();
    await vi.advanceTimersByTimeAsync(60);
    // 120 ms after the first join: the delay was extended because b arrived.
    expect(a.done()).toBe(false);
    expect(groups.get(G)!.state).toBe('PreparingRebalance');
    await vi.advanceTimersByTimeAsync(100);
    expect(a.done() && b.done()).toBe(true);
    const [ra, rb] = [a.value(), b.value()];
    expect(ra.errorCode).toBe(0);
    expect(rb.generationId).toBe(ra.generationId);
    expect(ra.generationId).toBe(1);
    expect(ra.protocolName).toBe('range');
    const leader = ra.memberId === ra.leader ? ra : rb;
    const follower = leader === ra ? rb : ra;
    expect(leader.members.map((m) => m.memberId).sort()).toEqual([ra.memberId, rb.memberId].sort());
    expect(leader.members[0]!.metadata.toString()).toBe('meta');
    expect(follower.members).toEqual([]);
    expect(groups.get(G)!.state).toBe('CompletingRebalance');

    // The follower's sync waits for the leader's, which carries both assignments.
    const fs = sync(follower.memberId, 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(fs.done()).toBe(false);
    const ls = sync(leader.memberId, 1, [
      { memberId: leader.memberId, assignment: Buffer.from('L') },
      { memberId: follower.memberId, assignment: Buffer.from('F') },
    ]);
    await vi.advanceTimersByTimeAsync(0);
    expect(ls.value()).toMatchObject({ errorCode: 0, protocolType: 'consumer', protocolName: 'range' });
    expect(ls.value().assignment.toString()).toBe('L');
    expect(fs.value().assignment.toString()).toBe('F');
    expect(groups.get(G)!.state).toBe('Stable');
    // A sync in Stable answers the stored assignment at once.
    expect((await groups.sync(G, { generationId: 1, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).assignment.toString()).toBe('F');
  });

  it('v0-3 joins (no MEMBER_ID_REQUIRED) get a member id in the join answer', async () => {
    const j = track(groups.join(G, joinReq({ requireKnownMemberId: false })));
    await vi.advanceTimersByTimeAsync(CONFIG.initialRebalanceDelayMs);
    expect(j.value()).toMatchObject({ errorCode: 0, generationId: 1 });
    expect(j.value().memberId).toBe(j.value().leader);
  });

  it('refuses bad session timeouts, unknown member ids, foreign protocols, a full group and a KIP-848 group in use', async () => {
    expect((await groups.join(G, joinReq({ sessionTimeoutMs: 50 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await groups.join(G, joinReq({ sessionTimeoutMs: 60_001 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await groups.join(G, joinReq({ memberId: 'nobody' }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await groups.join(G, joinReq({ protocolType: '' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await groups.join(G, joinReq({ protocols: [] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await groups.join('', joinReq())).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(groups.get(G)).toBeUndefined();

    await joinNew();
    expect((await groups.join(G, joinReq({ protocolType: 'connect' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await groups.join(G, joinReq({ protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // maxSize 4 counts members and ids handed out with MEMBER_ID_REQUIRED.
    for (let i = 0; i < 3; i++) expect((await groups.join(G, joinReq())).errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect((await groups.join(G, joinReq())).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);

    kip848Active = true;
    expect((await groups.join('other', joinReq())).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('chooses the protocol every member supports with the most first-preference votes', async () => {
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
    const a = await joinNew({ protocols: p('range', 'roundrobin') });
    const b = await joinNew({ protocols: p('roundrobin', 'range', 'sticky') });
    const c = await joinNew({ protocols: p('sticky', 'roundrobin') });
    await vi.advanceTimersByTimeAsync(CONFIG.initialRebalanceDelayMs * 4);
    // Common: roundrobin only (range is not c's, sticky is not a's).
    for (const j of [a, b, c]) expect(j.value().protocolName).toBe('roundrobin');
    const leader = [a, b, c].map((j) => j.value()).find((r) => r.memberId === r.leader)!;
    expect(leader.members.every((m) => m.metadata.toString() === 'roundrobin')).toBe(true);
  });

  it('a member that never comes back with its id frees the reservation after the session timeout', async () => {
    const first = await groups.join(G, joinReq());
    expect(groups.get(G)!.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(groups.get(G)).toBeUndefined();
    expect((await groups.join(G, joinReq({ memberId: first.memberId }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('classic group: rebalancing', () => {
  it('heartbeats: fine when stable, REBALANCE_IN_PROGRESS once a member joins, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID for strangers', async () => {
    const [leader, f1, f2] = await stableGroupOfThree();
    expect(groups.heartbeat(G, f1!.memberId, null, 1)).toBe(0);
    expect(groups.heartbeat(G, f1!.memberId, null, 0)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(groups.heartbeat(G, 'stranger', null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(groups.heartbeat('nogroup', f1!.memberId, null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);

    const d = await joinNew();
    expect(groups.get(G)!.state).toBe('PreparingRebalance');
    expect(groups.heartbeat(G, f1!.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    // Not initial: completes as soon as everyone rejoined, no delay.
    const rejoins = [leader!, f1!, f2!].map((r) => track(groups.join(G, joinReq({ memberId: r.memberId }))));
    await vi.advanceTimersByTimeAsync(0);
    for (const j of [d, ...rejoins]) expect(j.value()).toMatchObject({ errorCode: 0, generationId: 2 });
    expect(rejoins[0]!.value().members).toHaveLength(4);
    expect(groups.get(G)!.state).toBe('CompletingRebalance');
    // During CompletingRebalance heartbeats of the new generation are fine (Kafka 2.x+).
    expect(groups.heartbeat(G, f1!.memberId, null, 2)).toBe(0);
  });

  it('a member that does not rejoin before the rebalance timeout is removed', async () => {
    const [leader, f1, f2] = await stableGroupOfThree();
    const j1 = track(groups.join(G, joinReq({ memberId: f1!.memberId, protocols: [{ name: 'range', metadata: Buffer.from('new') }] })));
    const j0 = track(groups.join(G, joinReq({ memberId: leader!.memberId })));
    await vi.advanceTimersByTimeAsync(500);
    // f2 keeps heartbeating (REBALANCE_IN_PROGRESS) but never rejoins.
    expect(groups.heartbeat(G, f2!.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(j1.done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1600);
    expect(j1.value()).toMatchObject({ errorCode: 0, generationId: 2 });
    expect(j0.value().members.map((m) => m.memberId).sort()).toEqual([leader!.memberId, f1!.memberId].sort());
    expect(groups.get(G)!.members.has(f2!.memberId)).toBe(false);
    expect(groups.heartbeat(G, f2!.memberId, null, 2)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('session expiry of a silent member triggers a rebalance; the rest rejoin to a new generation', async () => {
    const [leader, f1, f2] = await stableGroupOfThree();
    for (let t = 0; t < 2; t++) {
      await vi.advanceTimersByTimeAsync(400);
      expect(groups.heartbeat(G, leader!.memberId, null, 1)).toBe(0);
      expect(groups.heartbeat(G, f1!.memberId, null, 1)).toBe(0);
    }
    expect(groups.get(G)!.members.has(f2!.memberId)).toBe(true);
    await vi.advanceTimersByTimeAsync(300);
    // f2 was silent for 1100 ms > 1000 ms.
    expect(groups.get(G)!.members.has(f2!.memberId)).toBe(false);
    expect(groups.heartbeat(G, f1!.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const js = [leader!, f1!].map((r) => track(groups.join(G, joinReq({ memberId: r.memberId }))));
    await vi.advanceTimersByTimeAsync(0);
    for (const j of js) expect(j.value()).toMatchObject({ errorCode: 0, generationId: 2 });
  });

  it('LeaveGroup (one or a batch) rebalances; the last leave empties the group', async () => {
    const [leader, f1, f2] = await stableGroupOfThree();
    expect(groups.leave(G, [{ memberId: f2!.memberId, groupInstanceId: null }, { memberId: 'stranger', groupInstanceId: null }])).toEqual([0, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(groups.get(G)!.state).toBe('PreparingRebalance');
    expect(groups.leave(G, [{ memberId: leader!.memberId, groupInstanceId: null }, { memberId: f1!.memberId, groupInstanceId: null }])).toEqual([0, 0]);
    // No members and (here) no offsets: the group object is forgotten.
    expect(groups.get(G)).toBeUndefined();
    expect(groups.leave(G, [{ memberId: f1!.memberId, groupInstanceId: null }])).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
  });

  it('a rebalance before the leader synced tells parked syncs to rejoin; a leader that never syncs is removed', async () => {
    const joins = [await joinNew(), await joinNew()];
    await vi.advanceTimersByTimeAsync(CONFIG.initialRebalanceDelayMs * 3);
    const [r0, r1] = joins.map((j) => j.value());
    const leader = r0!.memberId === r0!.leader ? r0! : r1!;
    const follower = leader === r0 ? r1! : r0!;
    const fs = sync(follower.memberId, 1);
    // The leader heartbeats (fine while CompletingRebalance) but never syncs; the sync
    // deadline (the rebalance timeout, 2000 ms after the join completed) removes it.
    for (let t = 0; t < 3; t++) {
      await vi.advanceTimersByTimeAsync(500);
      expect(groups.heartbeat(G, leader.memberId, null, 1)).toBe(0);
    }
    expect(fs.done()).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(fs.value().errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(groups.get(G)!.members.has(leader.memberId)).toBe(false);
    expect(groups.get(G)!.state).toBe('PreparingRebalance');
    const j = track(groups.join(G, joinReq({ memberId: follower.memberId })));
    await vi.advanceTimersByTimeAsync(0);
    expect(j.value()).toMatchObject({ errorCode: 0, generationId: 2, leader: follower.memberId });
  });

  it('SyncGroup refusals: unknown member, old generation, during PreparingRebalance, wrong protocol', async () => {
    const [leader, f1] = await stableGroupOfThree();
    const base = { groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] };
    expect((await groups.sync(G, { ...base, generationId: 1, memberId: 'x' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await groups.sync(G, { ...base, generationId: 0, memberId: f1!.memberId })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await groups.sync(G, { ...base, generationId: 1, memberId: f1!.memberId, protocolName: 'sticky' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    void groups.join(G, joinReq({ memberId: leader!.memberId }));
    expect((await groups.sync(G, { ...base, generationId: 1, memberId: f1!.memberId })).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });
});

describe('classic group: static members, commits, shutdown', () => {
  it('a static member rejoining under a new id fences the old id and keeps its assignment without a rebalance', async () => {
    const a = track(groups.join(G, joinReq({ groupInstanceId: 'i-a' })));
    const b = track(groups.join(G, joinReq({ groupInstanceId: 'i-b' })));
    await vi.advanceTimersByTimeAsync(CONFIG.initialRebalanceDelayMs * 3);
    const ra = a.value();
    const rb = b.value();
    expect(ra.errorCode).toBe(0);
    const leader = ra.memberId === ra.leader ? ra : rb;
    const follower = leader === ra ? rb : ra;
    const followerInstance = follower === ra ? 'i-a' : 'i-b';
    const fs = sync(follower.memberId, 1);
    sync(leader.memberId, 1, [{ memberId: follower.memberId, assignment: Buffer.from('kept') }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(fs.value().assignment.toString()).toBe('kept');

    const again = await groups.join(G, joinReq({ groupInstanceId: followerInstance }));
    expect(again).toMatchObject({ errorCode: 0, generationId: 1 });
    expect(again.memberId).not.toBe(follower.memberId);
    expect(groups.get(G)!.state).toBe('Stable');
    expect(groups.heartbeat(G, follower.memberId, followerInstance, 1)).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const s = await groups.sync(G, { generationId: 1, memberId: again.memberId, groupInstanceId: followerInstance, protocolType: null, protocolName: null, assignments: [] });
    expect(s.assignment.toString()).toBe('kept');
    // LeaveGroup by instance id alone.
    expect(groups.leave(G, [{ memberId: '', groupInstanceId: followerInstance }])).toEqual([0]);
    expect(groups.leave(G, [{ memberId: '', groupInstanceId: 'i-unknown' }])).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
  });

  it("checks OffsetCommit generation and member as Kafka's classic coordinator does", async () => {
    // No group: an admin commit is fine, a member of some generation is not.
    expect(() => groups.validateOffsetCommit(G, '', null, -1)).not.toThrow();
    expect(() => groups.validateOffsetCommit(G, 'm', null, 3)).toThrow(expect.objectContaining({ code: ErrorCode.ILLEGAL_GENERATION }));
    const [leader] = await stableGroupOfThree();
    expect(() => groups.validateOffsetCommit(G, leader!.memberId, null, 1)).not.toThrow();
    expect(() => groups.validateOffsetCommit(G, leader!.memberId, null, 0)).toThrow(expect.objectContaining({ code: ErrorCode.ILLEGAL_GENERATION }));
    expect(() => groups.validateOffsetCommit(G, 'x', null, 1)).toThrow(expect.objectContaining({ code: ErrorCode.UNKNOWN_MEMBER_ID }));
    expect(() => groups.validateOffsetCommit(G, '', null, -1)).toThrow(expect.objectContaining({ code: ErrorCode.UNKNOWN_MEMBER_ID }));
    // During PreparingRebalance the current generation may still commit (onPartitionsRevoked).
    void groups.join(G, joinReq({ memberId: leader!.memberId }));
    expect(() => groups.validateOffsetCommit(G, leader!.memberId, null, 1)).not.toThrow();
  });

  it('close answers every parked join and sync', async () => {
    const a = await joinNew();
    const pending: Array<{ value: () => JoinResult | SyncResult; done: () => boolean }> = [a];
    groups.close();
    await vi.advanceTimersByTimeAsync(0);
    for (const p of pending) {
      expect(p.done()).toBe(true);
      expect(p.value().errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    expect((await groups.join(G, joinReq())).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});
