/**
 * Admin group operations against a real broker: list/describe/delete/fetchOffsets, and every
 * offset-reset strategy in dry run and execute, with clamping into the retained log, the
 * refusal while the group has a live member, and --to-datetime landing on the first offset at
 * or after the time. Most live members here are a raw ConsumerGroupHeartbeat loop over the
 * SDK's Connection (LiveMember below), so those tests do not depend on the group consumer; the
 * replay test uses the SDK's group consumer, as a service would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Admin } from '../../client/admin/admin.js';
import { Connection } from '../../client/connection.js';
import { RillError, type ConsumedMessage, type Consumer, type Rill } from '../../client/index.js';
import type { ConsumerGroupHeartbeatResponse } from '../../protocol/apis/index.js';
import { TestEnv, testLogger, waitFor } from './harness.js';

const TOPIC = 'orders';
const PARTITIONS = 3;
const PER_PARTITION = 20;

/** A group member kept alive by heartbeats every 200 ms, owning whatever it is assigned. */
class LiveMember {
  memberId = '';
  epoch = 0;
  owned: Array<{ topic: string; partitions: number[] }> = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly conn: Connection,
    private readonly groupId: string,
    private readonly topics: string[],
  ) {}

  static async join(port: number, groupId: string, topics: string[], clientId = 'live-member'): Promise<LiveMember> {
    const conn = new Connection({
      host: '127.0.0.1',
      port,
      clientId,
      connectionTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      maxInFlightRequests: 8,
      maxFrameBytes: 1 << 20,
      reconnectBackoff: { retries: 3, initialBackoffMs: 50, maxBackoffMs: 200 },
      logger: testLogger,
    });
    const m = new LiveMember(conn, groupId, topics);
    await m.beat();
    m.timer = setInterval(() => {
      m.inFlight = m.beat().catch(() => undefined);
    }, 200);
    return m;
  }

  async beat(): Promise<ConsumerGroupHeartbeatResponse> {
    const joining = this.epoch === 0;
    const res = await this.conn.request('ConsumerGroupHeartbeat', {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      rebalanceTimeoutMs: -1,
      sessionTimeoutMs: -1,
      subscribedTopicNames: joining ? this.topics : null,
      subscribedTopicRegex: null,
      ownedPartitions: this.owned,
    });
    if (res.errorCode !== 0) throw new Error(`heartbeat failed: ${res.errorCode} ${res.errorMessage}`);
    this.memberId = res.memberId;
    this.epoch = res.memberEpoch;
    // One member alone never has to give anything back: its target is what it owns.
    if (res.assignment !== null) this.owned = res.assignment.topicPartitions;
    return res;
  }

  async leave(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    await this.conn.request('ConsumerGroupHeartbeat', {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: -1,
      rebalanceTimeoutMs: -1,
      sessionTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      ownedPartitions: null,
    });
    await this.conn.close();
  }
}

/** `[topic, partition, offset|null]` rows of fetchOffsets, for compact comparisons. */
async function committed(admin: Admin, groupId: string, topics?: string[]): Promise<Array<[string, number, number | null]>> {
  const list = await admin.fetchOffsets(groupId, topics);
  return list.flatMap((t) => t.partitions.map((p): [string, number, number | null] => [t.topic, p.partition, p.offset]));
}

function newOffsets(result: { plan: Array<{ topic: string; partition: number; newOffset: number }> }): Array<[string, number, number]> {
  return result.plan.map((p): [string, number, number] => [p.topic, p.partition, p.newOffset]);
}

describe('admin: consumer groups', () => {
  const env = new TestEnv();
  let port: number;
  let rill: Rill;
  let admin: Admin;
  const members: LiveMember[] = [];

  beforeEach(async () => {
    const broker = await env.broker({
      'offsets.topic.num.partitions': 2,
      'group.consumer.session.timeout.ms': 10_000,
      'group.consumer.heartbeat.interval.ms': 200,
      'log.retention.check.interval.ms': 50,
    });
    port = broker.port;
    rill = env.client(port);
    admin = rill.admin();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    const producer = rill.producer({ lingerMs: 0 });
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({ topic: TOPIC, messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ key: `k${i}`, value: `v${p}-${i}`, partition: p })) });
    }
  });

  afterEach(async () => {
    for (const m of members.splice(0)) await m.leave().catch(() => undefined);
    await env.cleanup();
  });

  it('lists, describes, fetches offsets of and deletes a group', async () => {
    expect(await admin.listGroups()).toEqual([]);
    await expect(admin.describeGroup('g')).rejects.toMatchObject({ errorName: 'GROUP_ID_NOT_FOUND' });
    await admin.resetOffsets({ groupId: 'g', topics: [{ topic: TOPIC, partitions: [0, 2] }], strategy: { toOffset: 5 }, execute: true });
    await admin.resetOffsets({ groupId: 'other', topics: [{ topic: TOPIC }], strategy: { toLatest: true }, execute: true });

    expect(await admin.listGroups()).toEqual([
      { groupId: 'g', state: 'empty' },
      { groupId: 'other', state: 'empty' },
    ]);
    expect(await admin.listGroups({ states: ['stable'] })).toEqual([]);

    const d = await admin.describeGroup('g');
    expect(d).toMatchObject({ groupId: 'g', state: 'empty', members: [] });
    expect(d.partitions).toEqual([
      { topic: TOPIC, partition: 0, committedOffset: 5, metadata: null, logEndOffset: PER_PARTITION, lag: PER_PARTITION - 5, memberId: null },
      { topic: TOPIC, partition: 2, committedOffset: 5, metadata: null, logEndOffset: PER_PARTITION, lag: PER_PARTITION - 5, memberId: null },
    ]);

    expect(await committed(admin, 'g')).toEqual([
      [TOPIC, 0, 5],
      [TOPIC, 2, 5],
    ]);
    // Asking for a topic lists every partition, null where nothing is committed.
    expect(await committed(admin, 'g', [TOPIC])).toEqual([
      [TOPIC, 0, 5],
      [TOPIC, 1, null],
      [TOPIC, 2, 5],
    ]);
    expect(await admin.fetchOffsets('g', [{ topic: TOPIC, partitions: [1] }])).toEqual([{ topic: TOPIC, partitions: [{ partition: 1, offset: null, metadata: null }] }]);
    expect(await admin.fetchOffsets('nobody')).toEqual([]);
    await expect(admin.fetchOffsets('g', ['missing'])).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' });

    await admin.deleteGroup('g');
    expect(await admin.listGroups()).toEqual([{ groupId: 'other', state: 'empty' }]);
    await expect(admin.describeGroup('g')).rejects.toMatchObject({ errorName: 'GROUP_ID_NOT_FOUND' });
    await expect(admin.deleteGroup('g')).rejects.toMatchObject({ errorName: 'GROUP_ID_NOT_FOUND' });
    expect(await committed(admin, 'g')).toEqual([]);
    expect(await committed(admin, 'other')).toEqual([
      [TOPIC, 0, PER_PARTITION],
      [TOPIC, 1, PER_PARTITION],
      [TOPIC, 2, PER_PARTITION],
    ]);
  });

  it('plans every strategy in a dry run without changing anything, and executes each', async () => {
    const g = 'modes';
    await admin.resetOffsets({ groupId: g, topics: [{ topic: TOPIC, partitions: [0, 1] }], strategy: { toOffset: 10 }, execute: true });
    const start: Array<[string, number, number | null]> = [
      [TOPIC, 0, 10],
      [TOPIC, 1, 10],
    ];
    const all = (o: number): Array<[string, number, number]> => [0, 1, 2].map((p): [string, number, number] => [TOPIC, p, o]);
    const cases: Array<{ name: string; opts: Parameters<Admin['resetOffsets']>[0]; expected: Array<[string, number, number]> }> = [
      { name: 'to earliest', opts: { groupId: g, topics: [{ topic: TOPIC }], strategy: { toEarliest: true } }, expected: all(0) },
      { name: 'to latest', opts: { groupId: g, topics: [{ topic: TOPIC }], strategy: { toLatest: true } }, expected: all(PER_PARTITION) },
      {
        name: 'to current (log end where nothing is committed)',
        opts: { groupId: g, topics: [{ topic: TOPIC }], strategy: { toCurrent: true } },
        expected: [
          [TOPIC, 0, 10],
          [TOPIC, 1, 10],
          [TOPIC, 2, PER_PARTITION],
        ],
      },
      { name: 'to offset, clamped to the log end', opts: { groupId: g, topics: [{ topic: TOPIC }], strategy: { toOffset: 1_000 } }, expected: all(PER_PARTITION) },
      {
        name: 'shift back, clamped to the log start',
        opts: { groupId: g, allTopics: true, strategy: { shiftBy: -15 } },
        expected: [
          [TOPIC, 0, 0],
          [TOPIC, 1, 0],
        ],
      },
      {
        name: 'shift forward, on some partitions',
        opts: { groupId: g, topics: [{ topic: TOPIC, partitions: [1] }], strategy: { shiftBy: 3 } },
        expected: [[TOPIC, 1, 13]],
      },
      { name: 'to a time before every record', opts: { groupId: g, topics: [{ topic: TOPIC }], strategy: { toDatetime: new Date(Date.now() - 3_600_000) } }, expected: all(0) },
      { name: 'by a duration reaching past the newest record', opts: { groupId: g, topics: [{ topic: TOPIC }], strategy: { byDuration: 'PT0S' } }, expected: all(PER_PARTITION) },
      {
        name: 'from a plan, clamped',
        opts: {
          groupId: g,
          strategy: {
            fromPlan: [
              { topic: TOPIC, partition: 2, offset: 7 },
              { topic: TOPIC, partition: 0, offset: 99 },
            ],
          },
        },
        expected: [
          [TOPIC, 0, PER_PARTITION],
          [TOPIC, 2, 7],
        ],
      },
    ];
    for (const c of cases) {
      // Back to the start: 10 committed on partitions 0 and 1, nothing on 2.
      await admin.deleteGroup(g);
      await admin.resetOffsets({ groupId: g, topics: [{ topic: TOPIC, partitions: [0, 1] }], strategy: { toOffset: 10 }, execute: true });
      // Dry run: the plan, nothing written.
      const dry = await admin.resetOffsets(c.opts);
      expect(dry.executed, c.name).toBe(false);
      expect(newOffsets(dry), c.name).toEqual(c.expected);
      for (const row of dry.plan) expect(row.oldOffset, c.name).toBe(row.partition === 2 ? null : 10);
      expect(await committed(admin, g), c.name).toEqual(start);
      // Execute: the plan, written.
      const done = await admin.resetOffsets({ ...c.opts, execute: true });
      expect(done.executed, c.name).toBe(true);
      expect(newOffsets(done), c.name).toEqual(c.expected);
      const after = new Map((await committed(admin, g)).map(([t, p, o]) => [`${t}-${p}`, o]));
      for (const [t, p, o] of c.expected) expect(after.get(`${t}-${p}`), c.name).toBe(o);
    }
  });

  it('refuses to shift partitions without a committed offset, and to plan without a scope', async () => {
    await expect(admin.resetOffsets({ groupId: 'fresh', topics: [{ topic: TOPIC }], strategy: { shiftBy: 1 } })).rejects.toThrow(/cannot shift orders\[0\], orders\[1\], orders\[2\]/);
    await expect(admin.resetOffsets({ groupId: 'fresh', strategy: { toEarliest: true } })).rejects.toThrow(/give topics or allTopics/);
    await expect(admin.resetOffsets({ groupId: 'fresh', allTopics: true, topics: [{ topic: TOPIC }], strategy: { toEarliest: true } })).rejects.toThrow(/not both/);
    await expect(admin.resetOffsets({ groupId: 'fresh', topics: [{ topic: TOPIC, partitions: [9] }], strategy: { toEarliest: true } })).rejects.toThrow(
      /partition 9 does not exist/,
    );
    await expect(admin.resetOffsets({ groupId: 'fresh', topics: [{ topic: 'missing' }], strategy: { toEarliest: true } })).rejects.toMatchObject({
      errorName: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    // --all-topics of a group without commits: nothing to do.
    expect(await admin.resetOffsets({ groupId: 'fresh', allTopics: true, strategy: { toEarliest: true }, execute: true })).toEqual({ plan: [], executed: true, liveMembers: 0 });
  });

  it('clamps to the log start once retention deleted the oldest segments', async () => {
    await admin.createTopics({ topics: [{ topic: 'short', numPartitions: 1, configs: { 'segment.bytes': '1024', 'retention.bytes': '1024' } }] });
    const producer = rill.producer({ lingerMs: 0 });
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'short', messages: [{ value: 'x'.repeat(200) }] });
    // Retention runs every 50 ms and may take a few passes: wait until the log start moved and
    // then stayed put for a few checks.
    let logStart = 0;
    let steady = 0;
    await waitFor(
      async () => {
        const now = (await admin.describeTopics({ topics: ['short'] }))[0]!.partitions[0]!.logStartOffset;
        steady = now > 0 && now === logStart ? steady + 1 : 0;
        logStart = now;
        if (steady < 5) await new Promise((r) => setTimeout(r, 60));
        return steady >= 5;
      },
      10_000,
      'retention to advance the log start and settle',
    );
    const earliest = await admin.resetOffsets({ groupId: 'r', topics: [{ topic: 'short' }], strategy: { toEarliest: true } });
    expect(earliest.plan).toEqual([{ topic: 'short', partition: 0, oldOffset: null, newOffset: logStart }]);
    const zero = await admin.resetOffsets({ groupId: 'r', topics: [{ topic: 'short' }], strategy: { toOffset: 0 }, execute: true });
    expect(zero.plan[0]!.newOffset).toBe(logStart);
    expect(await committed(admin, 'r')).toEqual([['short', 0, logStart]]);
  });

  it('lands --to-datetime and --by-duration on the first offset at or after the time', async () => {
    const producer = rill.producer({ lingerMs: 0 });
    await admin.createTopics({ topics: [{ topic: 'timed', numPartitions: 2 }] });
    const burst = async (n: number): Promise<void> => {
      for (let p = 0; p < 2; p++) await producer.send({ topic: 'timed', messages: Array.from({ length: n }, (_, i) => ({ value: `m${i}`, partition: p })) });
    };
    await burst(7);
    await new Promise((r) => setTimeout(r, 250));
    const cut = Date.now();
    await new Promise((r) => setTimeout(r, 250));
    await burst(5);

    const byTime = await admin.resetOffsets({ groupId: 't', topics: [{ topic: 'timed' }], strategy: { toDatetime: new Date(cut) }, execute: true });
    expect(newOffsets(byTime)).toEqual([
      ['timed', 0, 7],
      ['timed', 1, 7],
    ]);
    // now - duration lands between the bursts too (the duration is measured from the cut).
    const back = ((Date.now() - cut) / 1000).toFixed(3);
    const byDuration = await admin.resetOffsets({ groupId: 't', topics: [{ topic: 'timed', partitions: [1] }], strategy: { byDuration: `PT${back}S` } });
    expect(newOffsets(byDuration)).toEqual([['timed', 1, 7]]);
    // After the newest record: the log end.
    const future = await admin.resetOffsets({ groupId: 't', topics: [{ topic: 'timed' }], strategy: { toDatetime: Date.now() + 60_000 } });
    expect(newOffsets(future)).toEqual([
      ['timed', 0, 12],
      ['timed', 1, 12],
    ]);
  });

  it('refuses to execute (and to delete) while the group has a live member; describes the member', async () => {
    await admin.resetOffsets({ groupId: 'live', topics: [{ topic: TOPIC }], strategy: { toOffset: 4 }, execute: true });
    const member = await LiveMember.join(port, 'live', [TOPIC], 'billing-1');
    members.push(member);
    await waitFor(async () => (await admin.describeGroup('live')).state === 'stable', 5_000, 'the group to be stable');

    const d = await admin.describeGroup('live');
    expect(d.members).toHaveLength(1);
    expect(d.members[0]).toMatchObject({
      memberId: member.memberId,
      clientId: 'billing-1',
      clientHost: expect.stringContaining('127.0.0.1'),
      subscribedTopicNames: [TOPIC],
      assignment: [{ topic: TOPIC, partitions: [0, 1, 2] }],
    });
    expect(d.partitions.map((p) => [p.partition, p.committedOffset, p.lag, p.memberId])).toEqual([0, 1, 2].map((p) => [p, 4, PER_PARTITION - 4, member.memberId]));

    const dry = await admin.resetOffsets({ groupId: 'live', topics: [{ topic: TOPIC }], strategy: { toEarliest: true } });
    expect(dry).toMatchObject({ executed: false, liveMembers: 1 });
    let err: unknown;
    try {
      await admin.resetOffsets({ groupId: 'live', topics: [{ topic: TOPIC }], strategy: { toEarliest: true }, execute: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('NON_EMPTY_GROUP');
    expect((err as RillError).message).toBe("group 'live' has 1 live member; stop them before resetting offsets");
    await expect(admin.deleteGroup('live')).rejects.toMatchObject({ errorName: 'NON_EMPTY_GROUP' });
    expect(await committed(admin, 'live')).toEqual([0, 1, 2].map((p) => [TOPIC, p, 4]));

    // Once it left, the same reset goes through.
    members.splice(0);
    await member.leave();
    const done = await admin.resetOffsets({ groupId: 'live', topics: [{ topic: TOPIC }], strategy: { toEarliest: true }, execute: true });
    expect(done).toMatchObject({ executed: true, liveMembers: 0 });
    expect(await committed(admin, 'live')).toEqual([0, 1, 2].map((p) => [TOPIC, p, 0]));
  });

  it('describes a held partition without a commit with its log end and no lag', async () => {
    const member = await LiveMember.join(port, 'nocommit', [TOPIC]);
    members.push(member);
    await waitFor(async () => (await admin.describeGroup('nocommit')).partitions.length === PARTITIONS, 5_000, 'the assignment');
    const d = await admin.describeGroup('nocommit');
    expect(d.partitions).toEqual(
      [0, 1, 2].map((partition) => ({ topic: TOPIC, partition, committedOffset: null, metadata: null, logEndOffset: PER_PARTITION, lag: null, memberId: member.memberId })),
    );
    expect(await admin.listGroups()).toEqual([{ groupId: 'nocommit', state: 'stable' }]);
  });

  it('replays: after a reset to earliest, a restarted group re-reads the whole retained history', async () => {
    const total = PARTITIONS * PER_PARTITION;
    /** Runs one group consumer until it has `count` messages (or 15 s), then closes it (committing). */
    const readAll = async (count: number, onStarted?: (c: Consumer) => Promise<void>): Promise<ConsumedMessage[]> => {
      const consumer = rill.consumer({ groupId: 'replay', fromBeginning: true, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 200, autoCommitIntervalMs: 200 });
      const got: ConsumedMessage[] = [];
      await consumer.subscribe([TOPIC]);
      let stopping = false;
      const running = consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ ...message, value: message.value === null ? null : Buffer.from(message.value) });
          if (got.length >= count && !stopping) {
            stopping = true;
            void consumer.stop();
          }
        },
      });
      try {
        if (onStarted !== undefined) await onStarted(consumer);
        await waitFor(() => got.length >= count, 15_000, `${count} messages`);
        await running;
      } finally {
        await consumer.close();
      }
      return got;
    };
    const first = await readAll(total, async () => {
      // While it is a live member, an execute is refused and the commits stay.
      await waitFor(async () => (await admin.describeGroup('replay')).members.length === 1, 5_000, 'the consumer to join');
      await expect(admin.resetOffsets({ groupId: 'replay', topics: [{ topic: TOPIC }], strategy: { toEarliest: true }, execute: true })).rejects.toMatchObject({
        errorName: 'NON_EMPTY_GROUP',
      });
    });
    expect(first).toHaveLength(total);
    expect(await committed(admin, 'replay')).toEqual([0, 1, 2].map((p) => [TOPIC, p, PER_PARTITION]));

    // Closed (left the group): the reset goes through, and a new member starts from offset 0.
    expect((await admin.describeGroup('replay')).state).toBe('empty');
    const reset = await admin.resetOffsets({ groupId: 'replay', topics: [{ topic: TOPIC }], strategy: { toEarliest: true }, execute: true });
    expect(newOffsets(reset)).toEqual([0, 1, 2].map((p) => [TOPIC, p, 0]));
    const again = await readAll(total);
    const seen = new Set(again.map((m) => `${m.partition}:${m.offset}`));
    expect(seen.size).toBe(total);
    for (let p = 0; p < PARTITIONS; p++) for (let o = 0; o < PER_PARTITION; o++) expect(seen.has(`${p}:${o}`)).toBe(true);
    expect(again.find((m) => m.partition === 1 && m.offset === 7)?.value?.toString()).toBe('v1-7');
    expect(await committed(admin, 'replay')).toEqual([0, 1, 2].map((p) => [TOPIC, p, PER_PARTITION]));
  });
});
