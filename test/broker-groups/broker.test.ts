import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFSETS_TOPIC, decodeOffsetsRecord } from '../../broker/groups/offsets-topic.js';
import type { BrokerHandle } from '../../broker/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { decodeBatches } from '../../protocol/record-batch.js';
import type { RawClient } from '../helpers/raw-client.js';
import { OwnershipLedger, WireMember, connectClient, createTopic, heartbeatUntil, produce, startTestBroker } from './wire.js';

let dir: string;
const brokers: BrokerHandle[] = [];
const clients: RawClient[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rill-groups-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const b of brokers.splice(0)) await b.close();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function broker(overrides: Parameters<typeof startTestBroker>[1] = {}): Promise<BrokerHandle> {
  const b = await startTestBroker(dir, overrides);
  brokers.push(b);
  return b;
}

async function client(b: BrokerHandle | number, clientId: string): Promise<RawClient> {
  const c = await connectClient(typeof b === 'number' ? b : b.port, clientId);
  clients.push(c);
  return c;
}

async function closeBroker(b: BrokerHandle): Promise<void> {
  for (const c of clients.splice(0)) await c.close();
  brokers.splice(brokers.indexOf(b), 1);
  await b.close();
}

function commitRequest(memberId: string, memberEpoch: number, topic: string, offsets: Record<number, number>, metadata: string | null = null) {
  return {
    groupId: 'g',
    memberId,
    memberEpoch,
    topics: [{ name: topic, partitions: Object.entries(offsets).map(([p, o]) => ({ partition: Number(p), committedOffset: o, committedMetadata: metadata })) }],
  };
}

function codes(res: { topics: Array<{ partitions: Array<{ errorCode: number }> }> }): number[] {
  return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('consumer groups on a real broker', () => {
  it('creates __consumer_offsets at start, internal and compacted, with a partition count fixed from then on', async () => {
    let b = await broker();
    let admin = await client(b, 'admin');
    const meta = await admin.request('Metadata', { topics: [OFFSETS_TOPIC], allowAutoTopicCreation: false });
    expect(meta.topics[0]).toMatchObject({ name: OFFSETS_TOPIC, errorCode: 0, isInternal: true });
    expect(meta.topics[0]!.partitions).toHaveLength(4); // offsets.topic.num.partitions of startTestBroker
    expect(b.context.topics.effectiveConfig(OFFSETS_TOPIC)).toMatchObject({ cleanupPolicy: 'compact', flushMessages: 1, segmentBytes: 100 * 1024 * 1024 });
    expect((await admin.request('ListGroups', { statesFilter: null })).groups).toEqual([]);
    expect((await admin.request('DescribeGroups', { groupIds: ['g'] })).groups[0]!.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    const found = await admin.request('FindCoordinator', { keyType: 0, keys: ['g', 'h'] });
    expect(found.coordinators.map((c) => [c.key, c.nodeId, c.host, c.port, c.errorCode])).toEqual([
      ['g', 0, '127.0.0.1', b.port, 0],
      ['h', 0, '127.0.0.1', b.port, 0],
    ]);
    await createTopic(admin, 't', 1);
    expect(codes(await admin.request('OffsetCommit', commitRequest('', -1, 't', { 0: 4 })))).toEqual([0]);

    await closeBroker(b);
    b = await broker({ 'offsets.topic.num.partitions': 7 });
    admin = await client(b, 'admin');
    expect(b.context.topics.get(OFFSETS_TOPIC)!.partitions).toBe(4);
    expect((await admin.request('ListGroups', { statesFilter: null })).groups).toEqual([{ groupId: 'g', groupState: 'empty' }]);
  });

  it('gives 3 members 4 of 12 partitions each; a 4th gets partitions only after their owners revoked them', async () => {
    const b = await broker();
    const admin = await client(b, 'admin');
    await createTopic(admin, 't', 12);
    const ledger = new OwnershipLedger();
    const [m1, m2, m3] = await Promise.all(['a', 'b', 'c'].map(async (n) => new WireMember(n, await client(b, `svc-${n}`), ledger, ['t'])));
    const first = [m1!, m2!, m3!];
    await heartbeatUntil(first, () => first.every((m) => m.count() === 4));
    const before = new Map(first.map((m) => [m, new Set([...m.owned.get('t')!])]));

    for (const m of first) m.autoRelease = false;
    const d = new WireMember('d', await client(b, 'svc-d'), ledger, ['t']);
    await d.heartbeat();
    expect(d.count()).toBe(0); // everything is still owned by a, b and c
    for (const m of first) await m.heartbeat();
    for (const m of first) {
      expect(m.toRevoke.get('t')?.size).toBe(1);
      expect(m.count()).toBe(4); // still owned until reported revoked
    }
    await d.heartbeat();
    expect(d.count()).toBe(0);
    const described = await admin.request('DescribeGroups', { groupIds: ['g'] });
    expect(described.groups[0]!.state).toBe('reconciling');

    // Each owner in turn reports its revocation; d gets exactly what was released.
    for (const [i, m] of first.entries()) {
      m.releaseRevoked();
      await m.heartbeat();
      await d.heartbeat();
      expect(d.count()).toBe(i + 1);
    }
    await heartbeatUntil([...first, d], () => [...first, d].every((m) => m.count() === 3));
    // Members kept their remaining partitions throughout: they only ever lost one.
    for (const [m, had] of before) for (const p of m.owned.get('t')!) expect(had.has(p)).toBe(true);

    await heartbeatUntil([...first, d], () => true, 2);
    const [group] = (await admin.request('DescribeGroups', { groupIds: ['g'] })).groups;
    expect(group!.state).toBe('stable');
    expect(group!.members.map((m) => m.clientId).sort()).toEqual(['svc-a', 'svc-b', 'svc-c', 'svc-d']);
    for (const m of group!.members) {
      expect(m.clientHost).toBe('127.0.0.1');
      expect(m.memberEpoch).toBe(group!.assignmentEpoch);
      expect(m.assignment).toEqual(m.targetAssignment);
    }
  });

  it('expels a member silent past the session timeout, refuses its commits, and moves its partitions', async () => {
    const b = await broker();
    const admin = await client(b, 'admin');
    await createTopic(admin, 't', 4);
    const ledger = new OwnershipLedger();
    const a = new WireMember('a', await client(b, 'a'), ledger, ['t']);
    const z = new WireMember('z', await client(b, 'z'), ledger, ['t']);
    await heartbeatUntil([a, z], () => a.count() === 2 && z.count() === 2);
    const zOwned = [...z.owned.get('t')!];
    const ok = await z.client.request('OffsetCommit', commitRequest(z.memberId, z.epoch, 't', { [zOwned[0]!]: 5 }));
    expect(codes(ok)).toEqual([0]);
    // A commit with an older epoch is stale, a newer one fenced.
    const stale = await a.client.request('OffsetCommit', commitRequest(a.memberId, a.epoch - 1, 't', { 0: 1 }));
    expect(codes(stale)).toEqual([ErrorCode.STALE_MEMBER_EPOCH]);
    const fenced = await a.client.request('OffsetCommit', commitRequest(a.memberId, a.epoch + 1, 't', { 0: 1 }));
    expect(codes(fenced)).toEqual([ErrorCode.FENCED_MEMBER_EPOCH]);

    // z goes silent; a keeps heartbeating every 300 ms (its interval) until it owns everything.
    z.die();
    const started = Date.now();
    while (a.count() < 4) {
      if (Date.now() - started > 10_000) throw new Error('z was not expelled within 10 s');
      await sleep(300);
      await a.heartbeat();
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // not before its session ran out
    const refused = await z.client.request('OffsetCommit', commitRequest(z.memberId, z.epoch, 't', { [zOwned[0]!]: 9 }));
    expect(codes(refused)).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    await expect(z.heartbeat()).rejects.toThrow(`error ${ErrorCode.UNKNOWN_MEMBER_ID}`);
    const fetched = await admin.request('OffsetFetch', { groupId: 'g', topics: [{ name: 't', partitions: [zOwned[0]!] }] });
    expect(fetched.topics[0]!.partitions[0]!.committedOffset).toBe(5);
    const [group] = (await admin.request('DescribeGroups', { groupIds: ['g'] })).groups;
    expect(group!.members.map((m) => m.memberId)).toEqual([a.memberId]);
  });

  it('keeps commits across a restart; the group comes back empty with its offsets, lag and metrics', async () => {
    let b = await broker();
    let admin = await client(b, 'admin');
    await createTopic(admin, 't', 3);
    await produce(admin, 't', 0, 10);
    const m = new WireMember('a', await client(b, 'a'), new OwnershipLedger(), ['t']);
    await heartbeatUntil([m], () => m.count() === 3);
    const res = await m.client.request('OffsetCommit', commitRequest(m.memberId, m.epoch, 't', { 0: 7, 1: 0 }, 'meta'));
    expect(codes(res)).toEqual([0, 0]);
    await m.leave();
    await closeBroker(b);

    b = await broker();
    admin = await client(b, 'admin');
    const fetched = await admin.request('OffsetFetch', { groupId: 'g', topics: null });
    expect(fetched).toEqual({
      errorCode: 0,
      topics: [
        {
          name: 't',
          partitions: [
            { partition: 0, committedOffset: 7, metadata: 'meta', errorCode: 0 },
            { partition: 1, committedOffset: 0, metadata: 'meta', errorCode: 0 },
          ],
        },
      ],
    });
    const [group] = (await admin.request('DescribeGroups', { groupIds: ['g'] })).groups;
    expect(group!.state).toBe('empty');
    expect(group!.members).toEqual([]);
    expect(group!.offsets).toEqual([
      { topic: 't', partition: 0, committedOffset: 7, metadata: 'meta', logEndOffset: 10, lag: 3 },
      { topic: 't', partition: 1, committedOffset: 0, metadata: 'meta', logEndOffset: 0, lag: 0 },
    ]);
    expect((await admin.request('ListGroups', { statesFilter: null })).groups).toEqual([{ groupId: 'g', groupState: 'empty' }]);
    expect((await admin.request('ListGroups', { statesFilter: ['stable'] })).groups).toEqual([]);
    const metrics = await b.context.metrics.registry.metrics();
    expect(metrics).toMatch(/rill_consumer_group_lag\{[^}]*group="g"[^}]*topic="t"[^}]*partition="0"[^}]*\} 3\n/);
    expect(metrics).toMatch(/rill_consumer_group_committed_offset\{[^}]*group="g"[^}]*partition="0"[^}]*\} 7\n/);
    // Members of the old incarnation are unknown to the restarted coordinator: they rejoin.
    await expect(m.heartbeat()).rejects.toThrow();
  });

  it('keeps every acked commit across a kill -9 of a broker process', async () => {
    const main = join(process.cwd(), 'dist/broker/main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npx tsc -p tsconfig.json\` (npm test does) before this suite`);
    const child = spawn(process.execPath, [main, '--data-dir', dir, '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`broker process exited with ${code} before listening: ${stderr}`)));
    });
    const { port } = JSON.parse(line) as { port: number };
    const c = await client(port, 'committer');
    await createTopic(c, 't', 4);
    const acked = new Map<number, number>();
    // Rounds of pipelined simple commits; each acked offset must survive the kill.
    for (let round = 1; round <= 15; round++) {
      await Promise.all(
        [0, 1, 2, 3].map(async (p) => {
          const r = await c.request('OffsetCommit', commitRequest('', -1, 't', { [p]: round * 10 + p }));
          expect(codes(r)).toEqual([0]);
          acked.set(p, Math.max(acked.get(p) ?? 0, round * 10 + p));
        }),
      );
    }
    // More commits in flight while the process is killed: they may or may not survive.
    for (let p = 0; p < 4; p++) void c.request('OffsetCommit', commitRequest('', -1, 't', { [p]: 1000 + p })).catch(() => undefined);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    clients.splice(0);

    const b = await broker();
    const admin = await client(b, 'admin');
    const fetched = await admin.request('OffsetFetch', { groupId: 'g', topics: [{ name: 't', partitions: [0, 1, 2, 3] }] });
    for (const p of fetched.topics[0]!.partitions) {
      expect([acked.get(p.partition), 1000 + p.partition]).toContain(p.committedOffset);
    }
  });

  it('compaction of __consumer_offsets keeps only the latest commit per key, and a restart loads the right offsets', async () => {
    let b = await broker({ 'offsets.topic.num.partitions': 1 });
    let admin = await client(b, 'admin');
    await createTopic(admin, 't', 3);
    // Small segments so commits spread over many closed segments the cleaner can rewrite.
    await b.context.topics.alterConfigs(OFFSETS_TOPIC, [{ name: 'segment.bytes', value: '2048' }]);
    for (let i = 0; i < 300; i++) {
      const res = await admin.request('OffsetCommit', commitRequest('', -1, 't', { [i % 3]: i }));
      expect(codes(res)).toEqual([0]);
    }
    const h = await admin.request('OffsetCommit', { ...commitRequest('', -1, 't', { 0: 1 }), groupId: 'h' });
    expect(codes(h)).toEqual([0]);
    expect((await admin.request('DeleteGroups', { groupIds: ['h'] })).results[0]!.errorCode).toBe(0);

    const log = b.context.logs.get(OFFSETS_TOPIC, 0)!;
    expect(log.segmentCount).toBeGreaterThan(5);
    const sizeBefore = log.sizeBytes;
    await b.context.logs.runCompaction();
    const activeBase = log.segmentBaseOffsets.at(-1)!;
    const { records } = await log.read(log.logStartOffset, 64 * 1024 * 1024);
    const perKey = new Map<string, number>();
    let total = 0;
    for (const batch of decodeBatches(records)) {
      for (const r of batch.records) {
        if (r.offset >= activeBase) continue; // the active segment is never compacted
        total++;
        const rec = decodeOffsetsRecord(r.key, r.value);
        if (rec.kind !== 'offset-commit') throw new Error('unexpected record kind');
        const key = `${rec.key.groupId}/${rec.key.topic}/${rec.key.partition}`;
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
      }
    }
    for (const [key, n] of perKey) expect(n, key).toBe(1);
    expect(total).toBeLessThanOrEqual(4); // g/t/0..2 and h's tombstone at most
    expect(log.sizeBytes).toBeLessThan(sizeBefore / 2);

    await closeBroker(b);
    b = await broker({ 'offsets.topic.num.partitions': 1 });
    admin = await client(b, 'admin');
    const fetched = await admin.request('OffsetFetch', { groupId: 'g', topics: null });
    expect(fetched.topics[0]!.partitions.map((p) => [p.partition, p.committedOffset])).toEqual([
      [0, 297],
      [1, 298],
      [2, 299],
    ]);
    expect((await admin.request('OffsetFetch', { groupId: 'h', topics: null })).topics).toEqual([]);
  });

  it('refuses DeleteGroups, AlterGroupOffsets and simple commits while the group has live members', async () => {
    const b = await broker();
    const admin = await client(b, 'admin');
    await createTopic(admin, 't', 2);
    const m = new WireMember('a', await client(b, 'a'), new OwnershipLedger(), ['t']);
    await heartbeatUntil([m], () => m.count() === 2);

    const alter = { groupId: 'g', topics: [{ name: 't', partitions: [{ partition: 0, offset: 3, metadata: null }] }] };
    const refused = await admin.request('AlterGroupOffsets', alter);
    expect(refused.errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);
    expect(refused.errorMessage).toContain("group 'g' has 1 live member; stop them before resetting offsets");
    const del = await admin.request('DeleteGroups', { groupIds: ['g'] });
    expect(del.results[0]!.errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);
    expect(codes(await admin.request('OffsetCommit', commitRequest('', -1, 't', { 0: 1 })))).toEqual([ErrorCode.NON_EMPTY_GROUP]);
    // Commits for partitions that do not exist are refused per partition.
    const unknown = await m.client.request('OffsetCommit', { ...commitRequest(m.memberId, m.epoch, 't', { 0: 1, 5: 1 }) });
    expect(codes(unknown)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);

    await m.leave();
    const altered = await admin.request('AlterGroupOffsets', alter);
    expect(altered).toEqual({ errorCode: 0, errorMessage: null, topics: [{ name: 't', partitions: [{ partition: 0, errorCode: 0, errorMessage: null }] }] });
    expect((await admin.request('OffsetFetch', { groupId: 'g', topics: [{ name: 't', partitions: [0] }] })).topics[0]!.partitions[0]!.committedOffset).toBe(3);
    expect((await admin.request('DeleteGroups', { groupIds: ['g'] })).results).toEqual([{ groupId: 'g', errorCode: 0, errorMessage: null }]);
    const gone = (await admin.request('DescribeGroups', { groupIds: ['g'] })).groups[0]!;
    expect(gone.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect(gone.state).toBe('dead');
    expect((await admin.request('DeleteGroups', { groupIds: ['g'] })).results[0]!.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect((await admin.request('OffsetFetch', { groupId: 'g', topics: null })).topics).toEqual([]);
  });
});
