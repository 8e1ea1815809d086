/**
 * The Kafka group handlers (broker/kafka/handlers/, kafkaGroupHandlers) driven in-process
 * against a real broker's context with decoded request objects, as the Kafka listener hands
 * them over; the rill side (DescribeGroups, ListGroups, OffsetFetch) is read over the rill
 * listener with a raw client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANONYMOUS_PRINCIPAL, type BrokerContext, type BrokerHandle } from '../../broker/index.js';
import { coordinatorOf } from '../../broker/groups/index.js';
import { setKafkaAdvertised } from '../../broker/kafka/advertised.js';
import type { KafkaRequestInfo } from '../../broker/kafka/handler.js';
import { kafkaGroupHandlers } from '../../broker/kafka/handlers/groups.js';
import { ErrorCode } from '../../protocol/errors.js';
import { KafkaApiKey, type KafkaMessage } from '../../protocol/kafka/index.js';
import type { RawClient } from '../helpers/raw-client.js';
import { connectClient, createTopic, produce, startTestBroker } from '../broker-groups/wire.js';

let dir: string;
const brokers: BrokerHandle[] = [];
const clients: RawClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rill-kafka-groups-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const b of brokers.splice(0)) await b.close();
  await rm(dir, { recursive: true, force: true });
});

async function broker(overrides: Record<string, unknown> = {}): Promise<{ b: BrokerHandle; rill: RawClient }> {
  const b = await startTestBroker(join(dir, String(brokers.length)), {
    'group.initial.rebalance.delay.ms': 50,
    'group.min.session.timeout.ms': 100,
    ...overrides,
  });
  brokers.push(b);
  // What the Kafka listener records once bound (no listener runs in this test).
  setKafkaAdvertised(b.context, b.context.advertisedHost, 19092);
  const rill = await connectClient(b.port, 'rill-test');
  clients.push(rill);
  await createTopic(rill, 't', 4);
  return { b, rill };
}

type Api = keyof typeof KafkaApiKey;
async function call(ctx: BrokerContext, api: Api, apiVersion: number, req: KafkaMessage, clientId = 'kafkajs'): Promise<any> {
  const info: KafkaRequestInfo = { apiKey: KafkaApiKey[api], apiVersion, correlationId: 1, clientId };
  const conn = { id: 1, clientId, clientHost: '/127.0.0.1', clientPort: 5000, principal: ANONYMOUS_PRINCIPAL, signal: new AbortController().signal };
  return kafkaGroupHandlers.get(KafkaApiKey[api])!(ctx, req, info, conn);
}

/** The "consumer" protocol's subscription v0 and assignment v0 bytes, as Kafka's clients write them. */
function subscription(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), int32(topics.length), ...topics.map(str), int32(-1)];
  return Buffer.concat(parts);
}
function assignment(byTopic: Record<string, number[]>): Buffer {
  const parts = [Buffer.from([0, 0]), int32(Object.keys(byTopic).length)];
  for (const [topic, ps] of Object.entries(byTopic)) parts.push(str(topic), int32(ps.length), ...ps.map(int32));
  parts.push(int32(-1));
  return Buffer.concat(parts);
}
function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

const joinV7 = (memberId: string) => ({
  groupId: 'g',
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 5_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: subscription(['t']) }],
});

/** Two members through JoinGroup v7 (MEMBER_ID_REQUIRED first) and SyncGroup v5 to Stable. */
async function stableGroup(ctx: BrokerContext) {
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const first = await call(ctx, 'JoinGroup', 7, joinV7(''));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    ids.push(first.memberId);
  }
  const joined = await Promise.all(ids.map((id) => call(ctx, 'JoinGroup', 7, joinV7(id))));
  for (const j of joined) expect(j).toMatchObject({ errorCode: 0, generationId: 1, protocolType: 'consumer', protocolName: 'range' });
  const leader = joined.find((j) => j.memberId === j.leader)!;
  const follower = joined.find((j) => j !== leader)!;
  expect(leader.members).toHaveLength(2);
  expect(Buffer.from(leader.members[0].metadata).equals(subscription(['t']))).toBe(true);
  const syncReq = (memberId: string, assignments: unknown[]) => ({ groupId: 'g', generationId: 1, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments });
  const [fs, ls] = await Promise.all([
    call(ctx, 'SyncGroup', 5, syncReq(follower.memberId, [])),
    call(ctx, 'SyncGroup', 5, syncReq(leader.memberId, [
      { memberId: leader.memberId, assignment: assignment({ t: [0, 1] }) },
      { memberId: follower.memberId, assignment: assignment({ t: [2, 3] }) },
    ])),
  ]);
  expect(ls.errorCode).toBe(0);
  expect(fs.errorCode).toBe(0);
  expect(Buffer.from(fs.assignment).equals(assignment({ t: [2, 3] }))).toBe(true);
  return { leader: leader.memberId as string, follower: follower.memberId as string };
}

const commitV8 = (generationIdOrMemberEpoch: number, memberId: string, offsets: Record<number, number>) => ({
  groupId: 'g',
  generationIdOrMemberEpoch,
  memberId,
  groupInstanceId: null,
  topics: [{ name: 't', partitions: Object.entries(offsets).map(([p, o]) => ({ partitionIndex: Number(p), committedOffset: o, committedLeaderEpoch: -1, committedMetadata: 'm' })) }],
});
const codes = (res: any): number[] => res.topics.flatMap((t: any) => t.partitions.map((p: any) => p.errorCode));

describe('Kafka group APIs on a real broker', () => {
  it('a classic group: join, sync, heartbeat, commit, fetch, describe (Kafka and rill), list, leave, delete', async () => {
    const { b, rill } = await broker();
    const ctx = b.context;
    const { leader, follower } = await stableGroup(ctx);

    expect((await call(ctx, 'Heartbeat', 4, { groupId: 'g', generationId: 1, memberId: follower, groupInstanceId: null })).errorCode).toBe(0);
    expect((await call(ctx, 'Heartbeat', 0, { groupId: 'g', generationId: 0, memberId: follower })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);

    // Commits: the member's generation works; an admin commit or a stale generation does not.
    expect(codes(await call(ctx, 'OffsetCommit', 8, commitV8(1, follower, { 2: 5, 3: 7 })))).toEqual([0, 0]);
    expect(codes(await call(ctx, 'OffsetCommit', 8, commitV8(-1, '', { 0: 1 })))).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(codes(await call(ctx, 'OffsetCommit', 2, { ...commitV8(0, leader, { 0: 1 }), retentionTimeMs: -1 }))).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(codes(await call(ctx, 'OffsetCommit', 8, commitV8(1, leader, { 0: -5, 9: 1 })))).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    // Kafka's sentinels (KafkaJS resetOffsets): -1 = the high watermark, -2 = the log start.
    await produce(rill, 't', 1, 4);
    expect(codes(await call(ctx, 'OffsetCommit', 8, commitV8(1, leader, { 1: -1, 0: -2 })))).toEqual([0, 0]);
    const sentinels = await call(ctx, 'OffsetFetch', 8, { groups: [{ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }] }], requireStable: false });
    expect(sentinels.groups[0].topics[0].partitions.map((p: any) => p.committedOffset)).toEqual([0, 4]);

    // OffsetFetch v1 (one group, partitions named), v8 (groups), and rill's.
    const v1 = await call(ctx, 'OffsetFetch', 1, { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 2, 3] }] });
    expect(v1.topics[0].partitions.map((p: any) => [p.partitionIndex, p.committedOffset, p.metadata])).toEqual([[0, 0, 'm'], [2, 5, 'm'], [3, 7, 'm']]);
    const v8 = await call(ctx, 'OffsetFetch', 8, { groups: [{ groupId: 'g', topics: null }, { groupId: 'none', topics: null }], requireStable: true });
    expect(v8.groups[0].topics[0].partitions.map((p: any) => p.committedOffset)).toEqual([0, 4, 5, 7]);
    expect(v8.groups[1]).toMatchObject({ groupId: 'none', errorCode: 0, topics: [] });
    const rillFetch = await rill.request('OffsetFetch', { groupId: 'g', topics: null });
    expect(rillFetch.topics[0]!.partitions.map((p) => p.committedOffset)).toEqual([0, 4, 5, 7]);

    // Kafka DescribeGroups: Stable, the chosen protocol, metadata and assignment bytes.
    const kd = (await call(ctx, 'DescribeGroups', 5, { groups: ['g', 'unknown'], includeAuthorizedOperations: false })).groups;
    expect(kd[0]).toMatchObject({ errorCode: 0, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    const fm = kd[0].members.find((m: any) => m.memberId === follower);
    expect(fm).toMatchObject({ clientId: 'kafkajs', clientHost: '/127.0.0.1' });
    expect(Buffer.from(fm.memberAssignment).equals(assignment({ t: [2, 3] }))).toBe(true);
    expect(kd[1]).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });

    // rill's DescribeGroups shows the classic group with its decoded subscription, assignment and offsets.
    const rd = (await rill.request('DescribeGroups', { groupIds: ['g'] })).groups[0]!;
    expect(rd).toMatchObject({ errorCode: 0, state: 'stable', groupEpoch: 1 });
    expect(rd.members.find((m) => m.memberId === follower)).toMatchObject({ subscribedTopicNames: ['t'], assignment: [{ topic: 't', partitions: [2, 3] }] });
    expect(rd.offsets.map((o) => [o.partition, o.committedOffset, o.lag])).toEqual([[0, 0, 0], [1, 4, 0], [2, 5, 0], [3, 7, 0]]);

    // ListGroups: v4 with Kafka's state names as filter; v0 everything.
    expect((await call(ctx, 'ListGroups', 4, { statesFilter: ['stable'] })).groups).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable' }]);
    expect((await call(ctx, 'ListGroups', 4, { statesFilter: ['Empty'] })).groups).toEqual([]);
    expect((await rill.request('ListGroups', { statesFilter: null })).groups).toEqual([{ groupId: 'g', groupState: 'stable' }]);

    // Not deletable, not resettable while members live.
    expect((await call(ctx, 'DeleteGroups', 2, { groupsNames: ['g', 'nope'] })).results).toEqual([
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    const alter = await rill.request('AlterGroupOffsets', { groupId: 'g', topics: [{ name: 't', partitions: [{ partition: 0, offset: 0, metadata: null }] }] });
    expect(alter.errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);

    // LeaveGroup v0 (one member: its error is the response's), then v3+ batch.
    expect((await call(ctx, 'LeaveGroup', 0, { groupId: 'g', memberId: 'stranger' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const left = await call(ctx, 'LeaveGroup', 4, { groupId: 'g', members: [{ memberId: leader, groupInstanceId: null }, { memberId: follower, groupInstanceId: null }] });
    expect(left).toMatchObject({ errorCode: 0, members: [{ memberId: leader, errorCode: 0 }, { memberId: follower, errorCode: 0 }] });

    // Empty with offsets: described Empty, an admin commit is allowed, then it can be deleted.
    expect((await call(ctx, 'DescribeGroups', 0, { groups: ['g'] })).groups[0]).toMatchObject({ groupState: 'Empty', members: [] });
    expect(codes(await call(ctx, 'OffsetCommit', 8, commitV8(-1, '', { 0: 1 })))).toEqual([0]);
    expect((await rill.request('DescribeGroups', { groupIds: ['g'] })).groups[0]!.state).toBe('empty');
    expect((await call(ctx, 'DeleteGroups', 0, { groupsNames: ['g'] })).results).toEqual([{ groupId: 'g', errorCode: 0 }]);
    const after = await call(ctx, 'OffsetFetch', 7, { groupId: 'g', topics: null, requireStable: false });
    expect(after).toMatchObject({ errorCode: 0, topics: [] });
  });

  it('a group id is one kind at a time: classic vs KIP-848', async () => {
    const { b, rill } = await broker();
    const ctx = b.context;
    // A KIP-848 member in group 'k' (over the rill listener).
    const hb = await rill.request('ConsumerGroupHeartbeat', {
      groupId: 'k', memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 5000, sessionTimeoutMs: 10_000, subscribedTopicNames: ['t'], subscribedTopicRegex: null, ownedPartitions: [],
    });
    expect(hb.errorCode).toBe(0);
    expect((await call(ctx, 'JoinGroup', 7, { ...joinV7(''), groupId: 'k' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await call(ctx, 'DescribeGroups', 5, { groups: ['k'], includeAuthorizedOperations: false })).groups[0]).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });
    expect((await call(ctx, 'ListGroups', 3, {})).groups).toEqual([{ groupId: 'k', protocolType: 'consumer', groupState: expect.any(String) }]);
    // A Kafka commit with the member's epoch is checked as a KIP-848 commit.
    expect(codes(await call(ctx, 'OffsetCommit', 8, { ...commitV8(hb.memberEpoch, hb.memberId!, { 0: 3 }), groupId: 'k' }))).toEqual([0]);

    // A classic group in use refuses KIP-848 heartbeats with GROUP_ID_NOT_FOUND.
    await stableGroup(ctx);
    const refused = await rill.request('ConsumerGroupHeartbeat', {
      groupId: 'g', memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 5000, sessionTimeoutMs: 10_000, subscribedTopicNames: ['t'], subscribedTopicRegex: null, ownedPartitions: [],
    }).catch((err: { code: number }) => ({ errorCode: err.code }));
    expect(refused.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('a classic group keeps its offsets while it has members; once empty past offsets.retention.minutes they expire and it is Dead', async () => {
    const { b } = await broker({ 'offsets.retention.minutes': 1 });
    const ctx = b.context;
    const { leader, follower } = await stableGroup(ctx);
    expect(codes(await call(ctx, 'OffsetCommit', 8, commitV8(1, leader, { 0: 3, 1: 4 })))).toEqual([0, 0]);
    const coordinator = coordinatorOf(ctx);
    const t0 = Date.now();
    expect(await coordinator.expireOffsetsNow(t0 + 1000 * 60_000)).toBe(0);
    await call(ctx, 'LeaveGroup', 4, { groupId: 'g', members: [{ memberId: leader, groupInstanceId: null }, { memberId: follower, groupInstanceId: null }] });
    const t1 = t0 + 2000 * 60_000;
    expect(await coordinator.expireOffsetsNow(t1)).toBe(0); // first seen empty now
    expect((await call(ctx, 'DescribeGroups', 5, { groups: ['g'], includeAuthorizedOperations: false })).groups[0]).toMatchObject({ groupState: 'Empty' });
    expect(await coordinator.expireOffsetsNow(t1 + 60_000)).toBe(2);
    expect((await call(ctx, 'DescribeGroups', 5, { groups: ['g'], includeAuthorizedOperations: false })).groups[0]).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });
    expect((await call(ctx, 'ListGroups', 4, { statesFilter: [] })).groups).toEqual([]);
    const fetched = await call(ctx, 'OffsetFetch', 7, { groupId: 'g', topics: null, requireStable: false });
    expect(fetched).toMatchObject({ errorCode: 0, topics: [] });
  });

  it('FindCoordinator v0-4 names this broker; transactional keys are refused', async () => {
    const { b } = await broker();
    const ctx = b.context;
    expect(await call(ctx, 'FindCoordinator', 0, { key: 'g', keyType: 0 })).toMatchObject({ errorCode: 0, nodeId: ctx.nodeId, host: ctx.advertisedHost, port: 19092 });
    expect(await call(ctx, 'FindCoordinator', 3, { key: 'g', keyType: 0 })).toMatchObject({ errorCode: 0, errorMessage: null, port: 19092 });
    const v4 = await call(ctx, 'FindCoordinator', 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators.map((c: any) => [c.key, c.errorCode, c.port])).toEqual([['a', 0, 19092], ['b', 0, 19092]]);
    const txn = await call(ctx, 'FindCoordinator', 4, { keyType: 1, coordinatorKeys: ['tx'] });
    expect(txn.coordinators[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1 });
  });

  it('bad session timeouts are refused, and closing the broker answers a parked join', async () => {
    const { b } = await broker({ 'group.initial.rebalance.delay.ms': 60_000 });
    const ctx = b.context;
    expect((await call(ctx, 'JoinGroup', 7, { ...joinV7(''), sessionTimeoutMs: 50 })).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    // v3: no MEMBER_ID_REQUIRED round; the join parks for the initial delay.
    const parked = call(ctx, 'JoinGroup', 3, { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 60_000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['t']) }] });
    await new Promise((r) => setTimeout(r, 50));
    expect(coordinatorOf(ctx).classic.get('g')!.state).toBe('PreparingRebalance');
    brokers.splice(brokers.indexOf(b), 1);
    await b.close();
    expect((await parked).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});
