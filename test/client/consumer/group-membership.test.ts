/**
 * The membership state machine (client/consumer/group/membership.ts) against a real broker, in the
 * situations where a member loses its partitions: the coordinator no longer knows it
 * (UNKNOWN_MEMBER_ID) and a network partition longer than the session timeout (the session
 * guard). Both must drop everything without committing and rejoin with the same memberId.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupJoinEvent, RebalanceEvent, RevokedPartition } from '../../../client/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { BlackholeProxy, FAST_GROUPS, committedOffsets, owned, range } from '../../integration/fixtures/group-helpers.js';
import { TestEnv, waitFor } from '../../integration/harness.js';

describe('group membership', () => {
  const env = new TestEnv();
  const proxies: BlackholeProxy[] = [];
  afterEach(async () => {
    await env.cleanup();
    for (const p of proxies.splice(0)) await p.close();
  });

  it('when the coordinator forgets the member, drops its partitions without committing and rejoins with the same memberId', async () => {
    const broker = await env.broker(FAST_GROUPS);
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    await rill.producer().send({ topic: 't', messages: range(10).map((i) => ({ value: `m${i}` })) });
    const revoked: RevokedPartition[][] = [];
    // Auto-commit is on but its interval far away: only revocation and close() would commit.
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, autoCommitIntervalMs: 600_000, maxWaitMs: 100, onRevoke: (tps) => void revoked.push(tps) });
    const joins: GroupJoinEvent[] = [];
    const rebalances: RebalanceEvent[] = [];
    consumer.on('group.join', (e) => joins.push(e));
    consumer.on('rebalance', (e) => rebalances.push(e));
    await consumer.subscribe(['t']);
    const seen: number[] = [];
    const running = consumer.run({ eachMessage: async ({ message }) => void seen.push(message.offset) });
    await waitFor(() => seen.length === 10, 5_000, 'the first pass');

    // Someone else makes the member leave: its next heartbeat gets UNKNOWN_MEMBER_ID.
    const raw = await RawClient.connect(broker.port);
    const left = await raw.request('ConsumerGroupHeartbeat', {
      groupId: 'g',
      memberId: joins[0]!.memberId,
      memberEpoch: -1,
      rebalanceTimeoutMs: 0,
      sessionTimeoutMs: 0,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      ownedPartitions: null,
    });
    await raw.close();
    expect(left.errorCode).toBe(0);

    await waitFor(() => joins.length === 2 && seen.length === 20, 10_000, 'a rejoin and a second pass from the start');
    expect(joins[1]!.memberId).toBe(joins[0]!.memberId);
    expect(revoked[0]).toEqual([{ topic: 't', partition: 0, offset: 10, lost: true }]);
    expect(rebalances.filter((e) => e.lost).map((e) => e.revoked)).toEqual([[{ topic: 't', partition: 0 }]]);
    // Lost partitions are not committed: the second pass started at the beginning.
    expect(seen).toEqual([...range(10), ...range(10)]);
    expect(await committedOffsets(broker.port, 'g', 't', [0])).toEqual([-1]);
    await consumer.stop();
    await running;
    await consumer.close();
    expect(await committedOffsets(broker.port, 'g', 't', [0])).toEqual([10]);
  });

  it('cut off for longer than its session timeout, stops consuming before the coordinator expels it, then rejoins', async () => {
    const proxy = await BlackholeProxy.listen();
    proxies.push(proxy);
    const broker = await env.broker({ ...FAST_GROUPS, 'advertised.port': proxy.port });
    proxy.targetPort = broker.port;
    const direct = env.client(proxy.port, { clientId: 'steady' });
    await direct.admin().createTopics({ topics: [{ topic: 't', numPartitions: 4 }] });
    const viaProxy = env.client(proxy.port, { clientId: 'cut-off', requestTimeoutMs: 500, retry: { retries: 5, initialBackoffMs: 20, maxBackoffMs: 200 } });

    const lostAt: number[] = [];
    const a = viaProxy.consumer({
      groupId: 'g',
      sessionTimeoutMs: 1_500,
      maxWaitMs: 100,
      onRevoke: (tps) => {
        if (tps.every((tp) => tp.lost)) lostAt.push(Date.now());
      },
    });
    const joinsA: GroupJoinEvent[] = [];
    a.on('group.join', (e) => joinsA.push(e));
    const bAssignedAt: number[] = [];
    const b = direct.consumer({ groupId: 'g', sessionTimeoutMs: 10_000, maxWaitMs: 100, onAssign: () => void bAssignedAt.push(Date.now()) });
    await a.subscribe(['t']);
    await b.subscribe(['t']);
    await waitFor(() => owned(a).length === 2 && owned(b).length === 2, 10_000, 'two partitions each');

    const cutAt = Date.now();
    proxy.blackholeClientId = 'cut-off';
    await waitFor(() => owned(a).length === 0, 5_000, 'a to give up its partitions');
    await waitFor(() => owned(b).length === 4, 5_000, 'b to get all four');
    // a stopped on its own, about a session timeout after its last heartbeat got through.
    expect(lostAt.length).toBe(1);
    expect(lostAt[0]! - cutAt).toBeGreaterThan(1_000);
    // ... and before the coordinator expelled it and handed its partitions to b.
    expect(lostAt[0]!).toBeLessThanOrEqual(bAssignedAt[bAssignedAt.length - 1]!);

    proxy.blackholeClientId = null;
    await waitFor(() => joinsA.length === 2 && owned(a).length === 2 && owned(b).length === 2, 10_000, 'a to rejoin and take two back');
    expect(joinsA[1]!.memberId).toBe(joinsA[0]!.memberId);
  });
});
