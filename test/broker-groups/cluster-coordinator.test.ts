/**
 * The group coordinator on a cluster broker: it owns only the `__consumer_offsets` partitions
 * this broker leads. Driven through ClusterDouble (cluster-double.ts): real PartitionLogs in a
 * temp dir, leadership and appendAsLeader controlled by the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCoordinator, type CoordinatorTopics } from '../../broker/groups/coordinator.js';
import { DEFAULT_GROUP_CONFIG } from '../../broker/groups/group.js';
import { registerGroupMetrics } from '../../broker/groups/metrics.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, encodeOffsetCommitKey, encodeOffsetCommitValue, partitionForGroup } from '../../broker/groups/offsets-topic.js';
import { OFFSETS_COMMIT_TIMEOUT_MS } from '../../broker/groups/placement.js';
import type { OffsetCommitRequest } from '../../protocol/apis/offset-commit.js';
import { ERRORS, RillError, rillError, type ErrorName } from '../../protocol/errors.js';
import { encodeBatch } from '../../protocol/record-batch.js';
import { ClusterDouble } from './cluster-double.js';
import { errorNameOf, heartbeatRequest, silentLogger } from './group-sim.js';

const SELF = 1;
const OFFSETS_PARTITIONS = 2;

let dir: string;
const doubles: ClusterDouble[] = [];
const coordinators: GroupCoordinator[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rill-cluster-groups-'));
});

afterEach(async () => {
  for (const c of coordinators.splice(0)) await c.close();
  for (const d of doubles.splice(0)) await d.close();
  await rm(dir, { recursive: true, force: true });
});

/** A cluster broker never asks its local topic registry: every call here fails the test. */
const noLocalTopics: CoordinatorTopics = {
  get: () => {
    throw new Error('the cluster coordinator asked the local topic registry');
  },
  list: () => {
    throw new Error('the cluster coordinator asked the local topic registry');
  },
  partitionLog: () => {
    throw new Error('the cluster coordinator asked the local topic registry');
  },
  ensureInternalTopic: () => Promise.reject(new Error('the cluster coordinator created a topic locally')),
};

function cluster(live = [1, 2, 3], sub = 'node'): ClusterDouble {
  const d = new ClusterDouble(SELF, join(dir, sub), live);
  doubles.push(d);
  return d;
}

function coordinator(c: ClusterDouble, replicationFactor = 3): GroupCoordinator {
  const g = new GroupCoordinator({
    nodeId: SELF,
    advertised: () => ({ host: 'self.test', port: 9001 }),
    topics: noLocalTopics,
    cluster: c,
    offsetsTopicPartitions: OFFSETS_PARTITIONS,
    offsetsTopicReplicationFactor: replicationFactor,
    group: { ...DEFAULT_GROUP_CONFIG },
    logger: silentLogger,
    debugChecks: true,
  });
  coordinators.push(g);
  return g;
}

/** A group id stored in `__consumer_offsets` partition `p`. */
function groupIn(p: number, prefix = 'group'): string {
  for (let i = 0; ; i++) if (partitionForGroup(`${prefix}-${i}`, OFFSETS_PARTITIONS) === p) return `${prefix}-${i}`;
}

/** The offsets topic and a data topic 't', led by `leader` (no role events). */
async function topics(c: ClusterDouble, leader: number): Promise<void> {
  await c.createTopic({ name: OFFSETS_TOPIC, numPartitions: OFFSETS_PARTITIONS, replicationFactor: 3, configs: { ...OFFSETS_TOPIC_CONFIGS } }, leader);
  await c.createTopic({ name: 't', numPartitions: 3, replicationFactor: 3 }, leader);
}

/** A commit already in the log, as an earlier coordinator wrote it. */
async function seedCommit(c: ClusterDouble, groupId: string, partition: number, offset: number): Promise<void> {
  const log = c.localLog(OFFSETS_TOPIC, partitionForGroup(groupId, OFFSETS_PARTITIONS))!;
  const key = encodeOffsetCommitKey({ groupId, topic: 't', partition });
  await log.append(encodeBatch([{ key, value: encodeOffsetCommitValue({ offset, metadata: null, commitTimestampMs: 1 }) }]));
}

function committed(g: GroupCoordinator, groupId: string, partition = 0): number {
  const res = g.fetchOffsets({ groupId, topics: [{ name: 't', partitions: [partition] }] });
  return res.topics[0]!.partitions[0]!.committedOffset;
}

/** Retries `fn` while it throws COORDINATOR_LOAD_IN_PROGRESS (bounded), then returns its result or error name. */
async function afterLoad<T>(fn: () => T): Promise<T | ErrorName> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof RillError)) throw err;
      if (!err.is('COORDINATOR_LOAD_IN_PROGRESS') || Date.now() > deadline) return err.errorName;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** This broker leads every partition; the coordinator has loaded the partition of `groupId`. */
async function leadingAll(groupId: string): Promise<{ c: ClusterDouble; g: GroupCoordinator }> {
  const c = cluster();
  await topics(c, SELF);
  const g = coordinator(c);
  await g.start();
  expect(await afterLoad(() => committed(g, groupId))).toBe(-1);
  return { c, g };
}

function simpleCommit(groupId: string, offset: number, partition = 0): OffsetCommitRequest {
  return { groupId, memberId: '', memberEpoch: -1, topics: [{ name: 't', partitions: [{ partition, committedOffset: offset, committedMetadata: null }] }] };
}

function commitCodes(res: { topics: Array<{ partitions: Array<{ errorCode: number }> }> }): number[] {
  return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('group coordinator in a cluster', () => {
  it('serves only the groups of partitions it leads: loads on becoming leader, COORDINATOR_LOAD_IN_PROGRESS meanwhile', async () => {
    const c = cluster();
    await topics(c, 2);
    const a = groupIn(0);
    const b = groupIn(1);
    await seedCommit(c, a, 0, 42);
    await seedCommit(c, b, 0, 7);
    const g = coordinator(c);
    await g.start();

    // Broker 2 leads both partitions: nothing is served here, FindCoordinator points there.
    expect(errorNameOf(() => g.fetchOffsets({ groupId: a, topics: null }))).toBe('NOT_COORDINATOR');
    expect(errorNameOf(() => g.heartbeat(heartbeatRequest({ groupId: a, subscribedTopicNames: ['t'], sessionTimeoutMs: 10_000 }), { clientId: 'c', clientHost: 'h' }))).toBe('NOT_COORDINATOR');
    await expect(g.commitOffsets(simpleCommit(a, 1))).rejects.toMatchObject({ errorName: 'NOT_COORDINATOR' });
    expect(g.describeGroups({ groupIds: [a] }).groups[0]!.errorCode).toBe(ERRORS.NOT_COORDINATOR.code);
    await g.ready();
    expect(g.findCoordinator({ keyType: 0, keys: [a] }).coordinators[0]).toMatchObject({ nodeId: 2, host: 'broker-2.test', port: 9002, errorCode: 0 });

    // This broker becomes leader of partition 0 at epoch 5: loading, then served.
    c.setRole(OFFSETS_TOPIC, 0, SELF, 5);
    expect(errorNameOf(() => g.fetchOffsets({ groupId: a, topics: null }))).toBe('COORDINATOR_LOAD_IN_PROGRESS');
    expect(errorNameOf(() => g.heartbeat(heartbeatRequest({ groupId: a, subscribedTopicNames: ['t'], sessionTimeoutMs: 10_000 }), { clientId: 'c', clientHost: 'h' }))).toBe('COORDINATOR_LOAD_IN_PROGRESS');
    expect(g.listGroups({ statesFilter: null }).errorCode).toBe(ERRORS.COORDINATOR_LOAD_IN_PROGRESS.code);
    expect(g.findCoordinator({ keyType: 0, keys: [a] }).coordinators[0]).toMatchObject({ nodeId: SELF, host: 'broker-1.test', port: 9001, errorCode: 0 });
    expect(await afterLoad(() => committed(g, a))).toBe(42);
    expect(g.listGroups({ statesFilter: null })).toEqual({ errorCode: 0, groups: [{ groupId: a, groupState: 'empty' }] });
    // Partition 1 is still broker 2's.
    expect(errorNameOf(() => committed(g, b))).toBe('NOT_COORDINATOR');
  });

  it('at start, loads the partitions it already leads (their role events came before it existed)', async () => {
    const c = cluster();
    await topics(c, SELF);
    const a = groupIn(1);
    await seedCommit(c, a, 2, 99);
    const g = coordinator(c);
    await g.start();
    expect(await afterLoad(() => committed(g, a, 2))).toBe(99);
    expect(c.created.map((t) => t.name)).toEqual([OFFSETS_TOPIC, 't']); // only the test's own
  });

  it('unloads a partition it stops leading: its members get NOT_COORDINATOR, its offsets leave memory; leading again reloads from the log', async () => {
    const c = cluster();
    await topics(c, SELF);
    const a = groupIn(0);
    const b = groupIn(1);
    const g = coordinator(c);
    await g.start();
    const client = { clientId: 'c', clientHost: 'h' };
    const join = async (groupId: string) => {
      const res = await afterLoad(() => g.heartbeat(heartbeatRequest({ groupId, subscribedTopicNames: ['t'], sessionTimeoutMs: 10_000 }), client));
      if (typeof res === 'string') throw new Error(res);
      return res;
    };
    const ma = await join(a);
    const mb = await join(b);
    expect(commitCodes(await g.commitOffsets({ groupId: a, memberId: ma.memberId, memberEpoch: ma.memberEpoch, topics: [{ name: 't', partitions: [{ partition: 0, committedOffset: 10, committedMetadata: 'm' }] }] }))).toEqual([0]);
    const registry = new Registry();
    registerGroupMetrics(registry, g);
    expect(g.groupIds()).toEqual([a, b].sort());

    // Broker 3 takes partition 0 over.
    c.setRole(OFFSETS_TOPIC, 0, 3, 1);
    const again = (groupId: string, m: { memberId: string; memberEpoch: number }) =>
      errorNameOf(() => g.heartbeat(heartbeatRequest({ groupId, memberId: m.memberId, memberEpoch: m.memberEpoch, subscribedTopicNames: ['t'], sessionTimeoutMs: 10_000 }), client));
    expect(again(a, ma)).toBe('NOT_COORDINATOR');
    await expect(g.commitOffsets({ groupId: a, memberId: ma.memberId, memberEpoch: ma.memberEpoch, topics: [] })).rejects.toMatchObject({ errorName: 'NOT_COORDINATOR' });
    expect(errorNameOf(() => committed(g, a))).toBe('NOT_COORDINATOR');
    expect(g.group(a)).toBeUndefined();
    expect(g.findCoordinator({ keyType: 0, keys: [a] }).coordinators[0]).toMatchObject({ nodeId: 3, port: 9003 });
    // The other partition's group is untouched; metrics and ListGroups show only owned groups.
    expect(again(b, mb)).toBeNull();
    expect(g.groupIds()).toEqual([b]);
    expect(g.listGroups({ statesFilter: null }).groups.map((x) => x.groupId)).toEqual([b]);
    const metrics = await registry.getMetricsAsJSON();
    const members = metrics.find((m) => m.name === 'rill_consumer_group_members')!.values.map((v) => v.labels.group);
    expect(members).toEqual([b]);

    // Leading it again (a later epoch): the commit comes back from the log, the membership does not.
    c.setRole(OFFSETS_TOPIC, 0, SELF, 2);
    expect(await afterLoad(() => committed(g, a))).toBe(10);
    expect(g.stateOf(a)).toBe('empty');
    expect(again(a, ma)).toBe('UNKNOWN_MEMBER_ID');
  });

  it('abandons a load started for an epoch that is no longer current', async () => {
    const c = cluster();
    await topics(c, 2);
    const a = groupIn(0);
    await seedCommit(c, a, 0, 5);
    const g = coordinator(c);
    await g.start();
    // Leader at epoch 1, but before the load finishes the cluster moved on to epoch 2 on
    // broker 2 (its event not delivered yet): the epoch-1 load must not install its state.
    c.setRole(OFFSETS_TOPIC, 0, SELF, 1);
    c.setRole(OFFSETS_TOPIC, 0, 2, 2, { emit: false });
    expect(await afterLoad(() => committed(g, a))).toBe('NOT_COORDINATOR');
    // A stale leader event followed by a newer one: the newer load wins.
    c.setRole(OFFSETS_TOPIC, 0, SELF, 3);
    c.setRole(OFFSETS_TOPIC, 0, SELF, 4);
    expect(await afterLoad(() => committed(g, a))).toBe(5);
  });

  it('acknowledges a commit only once appendAsLeader (acks=-1) resolved', async () => {
    const a = groupIn(0);
    const { c, g } = await leadingAll(a);
    c.holdAppends = true;
    let answered = false;
    const pending = g.commitOffsets(simpleCommit(a, 33)).finally(() => {
      answered = true;
    });
    await until(() => c.held.length === 1, 'the commit to reach appendAsLeader');
    expect(c.held[0]).toMatchObject({ topic: OFFSETS_TOPIC, partition: 0, acks: -1, timeoutMs: OFFSETS_COMMIT_TIMEOUT_MS });
    // In the leader's log, not yet acknowledged by the ISR: neither answered nor visible.
    expect(c.localLog(OFFSETS_TOPIC, 0)!.logEndOffset).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    expect(committed(g, a)).toBe(-1);
    c.held.shift()!.release();
    expect(commitCodes(await pending)).toEqual([0]);
    expect(committed(g, a)).toBe(33);
  });

  it('answers a failed appendAsLeader with the error Kafka gives an OffsetCommit, changing nothing in memory', async () => {
    const a = groupIn(1);
    const { c, g } = await leadingAll(a);
    expect(commitCodes(await g.commitOffsets(simpleCommit(a, 1)))).toEqual([0]);

    const cases: Array<[ErrorName, ErrorName]> = [
      ['NOT_ENOUGH_REPLICAS', 'COORDINATOR_NOT_AVAILABLE'],
      ['REQUEST_TIMED_OUT', 'REQUEST_TIMED_OUT'],
      ['KAFKA_STORAGE_ERROR', 'NOT_COORDINATOR'],
      ['MESSAGE_TOO_LARGE', 'INVALID_COMMIT_OFFSET_SIZE'],
    ];
    for (const [thrown, answered] of cases) {
      c.failAppends = rillError(thrown, 'from the test');
      expect(commitCodes(await g.commitOffsets(simpleCommit(a, 100))), thrown).toEqual([ERRORS[answered].code]);
      expect(committed(g, a)).toBe(1);
    }
    c.failAppends = null;

    // After the local append, while waiting for the ISR: NOT_ENOUGH_REPLICAS_AFTER_APPEND.
    c.holdAppends = true;
    const pending = g.commitOffsets(simpleCommit(a, 200));
    await until(() => c.held.length === 1, 'the commit to reach appendAsLeader');
    c.held.shift()!.fail(rillError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'the ISR shrank'));
    expect(commitCodes(await pending)).toEqual([ERRORS.COORDINATOR_NOT_AVAILABLE.code]);
    expect(committed(g, a)).toBe(1);
    c.holdAppends = false;

    // The leadership is gone but its event has not arrived: the append refuses, NOT_COORDINATOR.
    c.setRole(OFFSETS_TOPIC, 1, 2, 1, { emit: false });
    expect(commitCodes(await g.commitOffsets(simpleCommit(a, 300)))).toEqual([ERRORS.NOT_COORDINATOR.code]);
    expect(committed(g, a)).toBe(1);
    // DeleteGroups' tombstones go the same way: refused, and the offsets stay.
    expect((await g.deleteGroups({ groupIds: [a] })).results[0]).toMatchObject({ groupId: a, errorCode: ERRORS.NOT_COORDINATOR.code });
    expect(committed(g, a)).toBe(1);
  });

  it('a commit whose append completes after the partition moved away is answered, and found by the next load', async () => {
    const a = groupIn(0);
    const { c, g } = await leadingAll(a);
    c.holdAppends = true;
    const pending = g.commitOffsets(simpleCommit(a, 8));
    await until(() => c.held.length === 1, 'the commit to reach appendAsLeader');
    c.setRole(OFFSETS_TOPIC, 0, 2, 1);
    c.held.shift()!.release(); // the ISR has it: it is committed, whoever leads now
    expect(commitCodes(await pending)).toEqual([0]);
    expect(errorNameOf(() => committed(g, a))).toBe('NOT_COORDINATOR');
    c.holdAppends = false;
    c.setRole(OFFSETS_TOPIC, 0, SELF, 2);
    expect(await afterLoad(() => committed(g, a))).toBe(8);
  });

  it('a partition whose log cannot be loaded answers COORDINATOR_NOT_AVAILABLE; the others are served', async () => {
    const c = cluster();
    await topics(c, 2);
    const bad = groupIn(0);
    const good = groupIn(1);
    await c.localLog(OFFSETS_TOPIC, 0)!.append(encodeBatch([{ key: Buffer.from([0xc1]), value: null }]));
    await seedCommit(c, good, 0, 4);
    const g = coordinator(c);
    await g.start();
    c.setRole(OFFSETS_TOPIC, 0, SELF, 1);
    c.setRole(OFFSETS_TOPIC, 1, SELF, 1);
    expect(await afterLoad(() => committed(g, bad))).toBe('COORDINATOR_NOT_AVAILABLE');
    expect(await afterLoad(() => committed(g, good))).toBe(4);
  });

  it('creates __consumer_offsets through the cluster on first need, its replication factor capped at the live brokers', async () => {
    const two = cluster([1, 2], 'two');
    const g = coordinator(two);
    await g.start();
    expect(two.created).toEqual([]); // not at start
    expect(g.fetchOffsets({ groupId: 'x', topics: null })).toEqual({ errorCode: 0, topics: [] }); // no topic: no groups
    await g.ready(); // what FindCoordinator does first
    expect(two.created).toEqual([{ name: OFFSETS_TOPIC, numPartitions: OFFSETS_PARTITIONS, replicationFactor: 2, configs: { ...OFFSETS_TOPIC_CONFIGS } }]);
    expect(g.findCoordinator({ keyType: 0, keys: ['x'] }).coordinators[0]).toMatchObject({ nodeId: SELF, errorCode: 0 });

    // No controller to create it: COORDINATOR_NOT_AVAILABLE, and the next call tries again.
    const down = cluster([1, 2, 3], 'down');
    const create = down.createTopic.bind(down);
    down.createTopic = () => Promise.reject(rillError('REQUEST_TIMED_OUT', 'no controller'));
    const d = coordinator(down);
    await d.start();
    await expect(d.ready()).rejects.toMatchObject({ errorName: 'COORDINATOR_NOT_AVAILABLE' });
    down.createTopic = create;
    await d.ready();
    expect(down.created[0]!.replicationFactor).toBe(3);

    const five = cluster([1, 2, 3, 4, 5], 'five');
    await coordinator(five).ready();
    expect(five.created[0]!.replicationFactor).toBe(3);

    // Another broker created it meanwhile: TOPIC_ALREADY_EXISTS means "use it".
    const racing = cluster([1, 2, 3], 'racing');
    racing.createTopic = async (request) => {
      await ClusterDouble.prototype.createTopic.call(racing, request, 2);
      throw rillError('TOPIC_ALREADY_EXISTS', 'created by broker 2');
    };
    const r = coordinator(racing);
    await r.ready();
    expect(r.findCoordinator({ keyType: 0, keys: ['x'] }).coordinators[0]).toMatchObject({ nodeId: 2, host: 'broker-2.test', errorCode: 0 });
  });

  it('FindCoordinator answers COORDINATOR_NOT_AVAILABLE while the partition has no leader or its leader is not live', async () => {
    const c = cluster([1, 2]);
    await topics(c, 2);
    const a = groupIn(0);
    const g = coordinator(c);
    await g.start();
    c.setRole(OFFSETS_TOPIC, 0, -1, 3);
    expect(g.findCoordinator({ keyType: 0, keys: [a] }).coordinators[0]).toMatchObject({ nodeId: -1, errorCode: ERRORS.COORDINATOR_NOT_AVAILABLE.code });
    c.setRole(OFFSETS_TOPIC, 0, 7, 4);
    expect(g.findCoordinator({ keyType: 0, keys: [a] }).coordinators[0]).toMatchObject({ nodeId: -1, errorCode: ERRORS.COORDINATOR_NOT_AVAILABLE.code });
    expect(errorNameOf(() => committed(g, a))).toBe('NOT_COORDINATOR');
  });

  it('reports lag from the high watermark of the local replica, for owned groups', async () => {
    const c = cluster();
    await topics(c, SELF);
    const a = groupIn(0);
    await c.localLog('t', 0)!.append(encodeBatch([{ key: null, value: Buffer.from('x') }, { key: null, value: Buffer.from('y') }, { key: null, value: Buffer.from('z') }]));
    const g = coordinator(c);
    await g.start();
    await afterLoad(() => committed(g, a));
    await g.commitOffsets(simpleCommit(a, 1));
    expect(g.lagOf(a)).toEqual([{ groupId: a, topic: 't', partition: 0, committedOffset: 1, logEndOffset: 3, lag: 2 }]);
    // Only what the ISR has counts: the high watermark, not the leader's log end.
    c.localLog('t', 0)!.manageHighWatermark(2);
    expect(g.lagOf(a)[0]).toMatchObject({ logEndOffset: 2, lag: 1 });
  });

  it('stops following leadership when closed', async () => {
    const c = cluster();
    await topics(c, SELF);
    const g = coordinator(c);
    await g.start();
    expect(c.listenerCount()).toBe(1);
    await g.close();
    expect(c.listenerCount()).toBe(0);
  });
});
