import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GroupCoordinator } from '../../broker/groups/coordinator.js';
import { OffsetsExpiry, type OffsetsExpiryHost } from '../../broker/groups/offsets-expiry.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, OffsetsTopic } from '../../broker/groups/offsets-topic.js';
import type { BrokerHandle } from '../../broker/index.js';
import { parseLogConfig } from '../../storage/log-config.js';
import { PartitionLog } from '../../storage/partition-log.js';
import type { RawClient } from '../helpers/raw-client.js';
import { silentLogger } from './group-sim.js';
import { OwnershipLedger, WireMember, connectClient, createTopic, startTestBroker } from './wire.js';

const RETENTION_MS = 60_000; // offsets.retention.minutes = 1
let dir: string;
const brokers: BrokerHandle[] = [];
const clients: RawClient[] = [];
const logs: PartitionLog[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rill-offsets-retention-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const b of brokers.splice(0)) await b.close();
  for (const l of logs.splice(0)) await l.close();
  await rm(dir, { recursive: true, force: true });
});

async function broker(): Promise<BrokerHandle> {
  const b = await startTestBroker(dir, { 'offsets.retention.minutes': 1 });
  brokers.push(b);
  return b;
}

async function client(b: BrokerHandle, clientId: string): Promise<RawClient> {
  const c = await connectClient(b.port, clientId);
  clients.push(c);
  return c;
}

const coordinatorOf = (b: BrokerHandle): GroupCoordinator => b.context.groups as GroupCoordinator;

async function committed(c: RawClient, groupId: string, topic: string, partitions: number[]): Promise<number[]> {
  const res = await c.request('OffsetFetch', { groupId, topics: [{ name: topic, partitions }] });
  return res.topics[0]!.partitions.map((p) => p.committedOffset);
}

async function simpleCommit(c: RawClient, groupId: string, topic: string, offsets: Record<number, number>): Promise<number[]> {
  const res = await c.request('OffsetCommit', {
    groupId,
    memberId: '',
    memberEpoch: -1,
    topics: [{ name: topic, partitions: Object.entries(offsets).map(([p, o]) => ({ partition: Number(p), committedOffset: o, committedMetadata: null })) }],
  });
  return res.topics[0]!.partitions.map((p) => p.errorCode);
}

describe('offsets retention on a real broker (offsets.retention.minutes)', () => {
  it('deletes the offsets of a group empty past the retention, durably, and the group is gone', async () => {
    let b = await broker();
    let admin = await client(b, 'admin');
    await createTopic(admin, 't', 2);
    expect(await simpleCommit(admin, 'idle', 't', { 0: 5, 1: 7 })).toEqual([0, 0]);
    expect(await simpleCommit(admin, 'kept', 't', { 0: 1 })).toEqual([0]);
    const coordinator = coordinatorOf(b);
    const t0 = Date.now();
    // The first check only notes that both groups are empty; nothing is old enough yet.
    expect(await coordinator.expireOffsetsNow(t0)).toBe(0);
    expect(await coordinator.expireOffsetsNow(t0 + RETENTION_MS - 1)).toBe(0);
    expect(await committed(admin, 'idle', 't', [0, 1])).toEqual([5, 7]);
    // 'kept' commits again just before the retention: its fresh commit keeps it.
    const beforeCommitMs = Date.now(); // the broker stamps the commit at or after this
    expect(await simpleCommit(admin, 'kept', 't', { 0: 2 })).toEqual([0]);
    expect(await coordinator.expireOffsetsNow(Math.max(t0 + RETENTION_MS, beforeCommitMs + RETENTION_MS - 1))).toBe(2);
    expect(await committed(admin, 'idle', 't', [0, 1])).toEqual([-1, -1]);
    expect(await committed(admin, 'kept', 't', [0])).toEqual([2]);
    expect((await admin.request('ListGroups', { statesFilter: null })).groups).toEqual([{ groupId: 'kept', groupState: 'empty' }]);

    // The tombstones are in __consumer_offsets: a restarted coordinator does not bring them back.
    for (const c of clients.splice(0)) await c.close();
    await brokers.splice(0)[0]!.close();
    b = await broker();
    admin = await client(b, 'admin');
    expect(await committed(admin, 'idle', 't', [0, 1])).toEqual([-1, -1]);
    expect(await committed(admin, 'kept', 't', [0])).toEqual([2]);
    expect((await admin.request('ListGroups', { statesFilter: null })).groups).toEqual([{ groupId: 'kept', groupState: 'empty' }]);
  });

  it('never expires a group with live members; once it is empty, the retention counts from when a check first saw it so', async () => {
    const b = await broker();
    const admin = await client(b, 'admin');
    await createTopic(admin, 't', 1);
    const member = new WireMember('m', await client(b, 'm'), new OwnershipLedger(), ['t']);
    await member.heartbeat();
    await member.heartbeat();
    expect(member.count()).toBe(1);
    const commit = await member.client.request('OffsetCommit', {
      groupId: 'g',
      memberId: member.memberId,
      memberEpoch: member.epoch,
      topics: [{ name: 't', partitions: [{ partition: 0, committedOffset: 42, committedMetadata: null }] }],
    });
    expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(0);
    const coordinator = coordinatorOf(b);
    const t0 = Date.now();
    expect(await coordinator.expireOffsetsNow(t0 + 100 * RETENTION_MS)).toBe(0);
    await member.leave();
    // Its commit is old by now (simulated), but the group was seen empty only from t1 on.
    const t1 = t0 + 200 * RETENTION_MS;
    expect(await coordinator.expireOffsetsNow(t1)).toBe(0);
    expect(await coordinator.expireOffsetsNow(t1 + RETENTION_MS - 1)).toBe(0);
    expect(await committed(admin, 'g', 't', [0])).toEqual([42]);
    expect(await coordinator.expireOffsetsNow(t1 + RETENTION_MS)).toBe(1);
    expect(await committed(admin, 'g', 't', [0])).toEqual([-1]);
    expect((await admin.request('ListGroups', { statesFilter: null })).groups).toEqual([]);
    // The group id is free: a new member starts a fresh group.
    const again = new WireMember('n', await client(b, 'n'), new OwnershipLedger(), ['t']);
    await again.heartbeat();
    expect(again.epoch).toBeGreaterThan(0);
  });
});

describe('offsets expiry rules (OffsetsExpiry on a real __consumer_offsets log)', () => {
  async function loadedTopic(): Promise<OffsetsTopic> {
    const log = await PartitionLog.open({ topic: OFFSETS_TOPIC, partition: 0, dir: join(dir, `${OFFSETS_TOPIC}-0`), config: parseLogConfig({ ...OFFSETS_TOPIC_CONFIGS }), recoveryPoint: null });
    logs.push(log);
    const topic = new OffsetsTopic(1, () => log, silentLogger);
    await topic.load();
    return topic;
  }

  function expiryOf(topic: OffsetsTopic, live: Map<string, number> = new Map(), config = { retentionMs: RETENTION_MS, checkIntervalMs: 600_000 }): OffsetsExpiry {
    const host: OffsetsExpiryHost = {
      offsetsTopic: () => topic,
      liveMembers: (groupId) => live.get(groupId) ?? 0,
      isDeleting: () => false,
      expire: (groupId, tombstones) => topic.write(groupId, tombstones),
      logger: silentLogger,
    };
    return new OffsetsExpiry(host, config);
  }

  it('checks on its own every check interval once started, and stops when stopped', async () => {
    const topic = await loadedTopic();
    const old = topic.loadedAtMs(0) - 1000;
    await topic.write('g', [{ topic: 't', partition: 0, value: { offset: 1, metadata: null, commitTimestampMs: old } }]);
    const expiry = expiryOf(topic, new Map(), { retentionMs: 1, checkIntervalMs: 20 });
    expiry.start();
    try {
      for (let i = 0; i < 100 && topic.offsets.hasGroup('g'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(topic.offsets.hasGroup('g')).toBe(false);
    } finally {
      expiry.stop();
    }
    await topic.write('h', [{ topic: 't', partition: 0, value: { offset: 1, metadata: null, commitTimestampMs: old } }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(topic.offsets.get('h', 't', 0)?.offset).toBe(1);
  });

  it('does not count from before the partition was loaded here (a coordinator move restarts the clock)', async () => {
    const topic = await loadedTopic();
    const firstLoad = topic.loadedAtMs(0);
    await topic.write('g', [{ topic: 't', partition: 0, value: { offset: 3, metadata: null, commitTimestampMs: firstLoad - 50 * RETENTION_MS } }]);
    const expiry = expiryOf(topic);
    // Seen empty long ago (simulated), then the partition moves away and comes back.
    expect(await expiry.expireNow(firstLoad - 10 * RETENTION_MS)).toBe(0);
    topic.unassign(0);
    await new Promise((r) => setTimeout(r, 5));
    await topic.assign(0, 1);
    const reload = topic.loadedAtMs(0);
    expect(reload).toBeGreaterThan(firstLoad);
    expect(await expiry.expireNow(reload + RETENTION_MS - 1)).toBe(0);
    expect(topic.offsets.get('g', 't', 0)?.offset).toBe(3);
    expect(await expiry.expireNow(reload + RETENTION_MS)).toBe(1);
    expect(topic.offsets.hasGroup('g')).toBe(false);
  });

  it('skips a group while its commit is being written, and one with live members', async () => {
    const topic = await loadedTopic();
    const old = topic.loadedAtMs(0) - 10 * RETENTION_MS;
    await topic.write('busy', [{ topic: 't', partition: 0, value: { offset: 1, metadata: null, commitTimestampMs: old } }]);
    await topic.write('live', [{ topic: 't', partition: 0, value: { offset: 1, metadata: null, commitTimestampMs: old } }]);
    const expiry = expiryOf(topic, new Map([['live', 2]]));
    const far = topic.loadedAtMs(0) + 10 * RETENTION_MS;
    expect(await expiry.expireNow(far)).toBe(0); // first sight of 'busy' empty
    // A commit on its way to the log: the expiry must not write a tombstone that overtakes it.
    const writing = topic.write('busy', [{ topic: 't', partition: 0, value: { offset: 9, metadata: null, commitTimestampMs: old } }]);
    expect(topic.isWriting('busy')).toBe(true);
    expect(await expiry.expireNow(far + 2 * RETENTION_MS)).toBe(0);
    await writing;
    expect(topic.isWriting('busy')).toBe(false);
    expect(topic.offsets.get('busy', 't', 0)?.offset).toBe(9);
    expect(await expiry.expireNow(far + 2 * RETENTION_MS)).toBe(1);
    expect(topic.offsets.hasGroup('busy')).toBe(false);
    expect(topic.offsets.get('live', 't', 0)?.offset).toBe(1);
  });
});
