/**
 * OffsetCommitter (client/consumer/group/offset-committer.ts) against a real coordinator, with raw
 * heartbeats standing in for the membership: commits carry the member's epoch, a stale epoch
 * is retried after the next heartbeat, a fenced one fails at once, and unchanged offsets are
 * not sent again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerPool } from '../../../client/broker-pool.js';
import { CoordinatorChannel } from '../../../client/consumer/group/coordinator-channel.js';
import { OffsetCommitter, type CommittedOffset, type MemberIdentity } from '../../../client/consumer/group/offset-committer.js';
import { RillError } from '../../../client/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { FAST_GROUPS, committedOffsets } from '../../integration/fixtures/group-helpers.js';
import { TestEnv, testLogger } from '../../integration/harness.js';

const RETRY = { retries: 3, initialBackoffMs: 10, maxBackoffMs: 50 };

describe('offset committer', () => {
  const env = new TestEnv();
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    await env.cleanup();
  });

  async function setup(): Promise<{ port: number; raw: RawClient; channel: CoordinatorChannel }> {
    const broker = await env.broker(FAST_GROUPS);
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 't', numPartitions: 2 }] });
    const raw = await RawClient.connect(broker.port);
    const pool = new BrokerPool([`127.0.0.1:${broker.port}`], { clientId: 'committer-test', connectionTimeoutMs: 5_000, requestTimeoutMs: 5_000, retry: RETRY, logger: testLogger });
    closers.push(() => raw.close(), () => pool.close());
    return { port: broker.port, raw, channel: new CoordinatorChannel(pool, 'g', testLogger) };
  }

  async function heartbeat(raw: RawClient, memberId: string, memberEpoch: number, owned: number[]): Promise<number> {
    const r = await raw.request('ConsumerGroupHeartbeat', {
      groupId: 'g',
      memberId,
      memberEpoch,
      rebalanceTimeoutMs: 0,
      sessionTimeoutMs: 10_000,
      subscribedTopicNames: memberEpoch === 0 ? ['t'] : null,
      subscribedTopicRegex: null,
      ownedPartitions: [{ topic: 't', partitions: owned }],
    });
    expect(r.errorCode).toBe(0);
    return r.memberEpoch;
  }

  it('retries a commit refused with STALE_MEMBER_EPOCH after the next heartbeat, with its epoch', async () => {
    const { port, raw, channel } = await setup();
    const e1 = await heartbeat(raw, 'm1', 0, []);
    await heartbeat(raw, 'm1', e1, [0, 1]);
    // A second member bumps the group epoch; m1's next heartbeat moves it on (after revoking one).
    await heartbeat(raw, 'm2', 0, []);
    let e = await heartbeat(raw, 'm1', e1, [0, 1]);
    for (let i = 0; i < 5 && e === e1; i++) e = await heartbeat(raw, 'm1', e, [0]);
    expect(e).toBeGreaterThan(e1);

    // The committer still believes in the old epoch (the response that moved it was not seen yet).
    let identity: MemberIdentity = { memberId: 'm1', memberEpoch: e1 };
    let heartbeats = 0;
    const commits: CommittedOffset[][] = [];
    const committer = new OffsetCommitter({
      channel,
      groupId: 'g',
      member: () => identity,
      nextHeartbeat: async () => {
        heartbeats++;
        identity = { memberId: 'm1', memberEpoch: await heartbeat(raw, 'm1', e, [0]) };
      },
      retry: RETRY,
      logger: testLogger,
      onCommit: (offsets) => commits.push(offsets),
    });
    expect(await committer.commit([{ topic: 't', partition: 0, offset: 7 }])).toEqual([{ topic: 't', partition: 0, offset: 7 }]);
    expect(heartbeats).toBe(1);
    expect(await committedOffsets(port, 'g', 't', [0])).toEqual([7]);

    // Unchanged: nothing is sent.
    expect(await committer.commit([{ topic: 't', partition: 0, offset: 7 }])).toEqual([]);
    expect(commits.length).toBe(1);

    // Fenced (an epoch ahead of the member's): fails at once, no heartbeat wait.
    identity = { memberId: 'm1', memberEpoch: identity.memberEpoch + 5 };
    const fenced = await committer.commit([{ topic: 't', partition: 0, offset: 9 }]).catch((err: unknown) => err);
    expect(fenced).toBeInstanceOf(RillError);
    expect((fenced as RillError).errorName).toBe('FENCED_MEMBER_EPOCH');
    expect(heartbeats).toBe(1);
    expect(await committedOffsets(port, 'g', 't', [0])).toEqual([7]);
  });

  it('refuses to commit for an unknown member, and reads committed offsets back', async () => {
    const { raw, channel } = await setup();
    let identity: MemberIdentity | null = null;
    const committer = new OffsetCommitter({
      channel,
      groupId: 'g',
      member: () => identity,
      nextHeartbeat: () => Promise.reject(new Error('not used')),
      retry: RETRY,
      logger: testLogger,
      onCommit: () => undefined,
    });
    await expect(committer.commit([{ topic: 't', partition: 0, offset: 1 }])).rejects.toThrow(/not a member/);
    identity = { memberId: 'ghost', memberEpoch: 3 };
    await expect(committer.commit([{ topic: 't', partition: 0, offset: 1 }])).rejects.toMatchObject({ errorName: 'UNKNOWN_MEMBER_ID' });

    identity = { memberId: 'm1', memberEpoch: await heartbeat(raw, 'm1', 0, []) };
    await committer.commit([
      { topic: 't', partition: 0, offset: 3 },
      { topic: 't', partition: 1, offset: 4, metadata: 'hello' },
    ]);
    const committed = await committer.fetchCommitted([
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]);
    expect([...committed.values()]).toEqual([3, 4]);
  });
});
