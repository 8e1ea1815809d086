/**
 * Leader epochs in the SDK (KIP-320): the metadata cache never moves a partition's epoch
 * backwards (a lagging broker's answer is ignored for it), and a consumer keeps reading, in
 * order and without gaps or repeats, while leadership moves away and back; a consumer that
 * slept through both elections sends its old epoch to the returned leader, is fenced
 * (FENCED_LEADER_EPOCH), refreshes and reads on; a leaderless partition does not stall its
 * topic's others. Three in-process brokers on a real etcd.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerPool } from '../../client/broker-pool.js';
import { Metadata, mergePartitions } from '../../client/metadata.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ClusterEnv, type ClusterBroker } from '../cluster/broker-harness.js';
import { waitFor } from '../cluster/etcd.js';
import { testLogger } from '../integration/harness.js';

const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 300 };

describe('mergePartitions', () => {
  const known = [
    { partition: 0, leader: 2, leaderEpoch: 5, errorCode: 0 },
    { partition: 1, leader: 3, leaderEpoch: 1, errorCode: 0 },
  ];

  it('keeps the cached entry where the answer carries an older epoch, takes newer and equal ones', () => {
    const { partitions, ignored } = mergePartitions(known, [
      { partition: 0, leader: 1, leaderEpoch: 4, errorCode: 0 },
      { partition: 1, leader: 1, leaderEpoch: 2, errorCode: 0 },
    ]);
    expect(ignored).toEqual([0]);
    expect(partitions.map((p) => [p.leader, p.leaderEpoch])).toEqual([
      [2, 5],
      [1, 2],
    ]);
    expect(mergePartitions(known, [{ partition: 0, leader: -1, leaderEpoch: 5, errorCode: ErrorCode.LEADER_NOT_AVAILABLE }]).partitions[0]).toEqual({
      partition: 0,
      leader: -1,
      leaderEpoch: 5,
      errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
    });
  });

  it('never compares -1 epochs (a broker without epochs), and fills a skipped partition as leaderless', () => {
    const { partitions, ignored } = mergePartitions(known, [
      { partition: 0, leader: 1, leaderEpoch: -1, errorCode: 0 },
      { partition: 2, leader: 1, leaderEpoch: 0, errorCode: 0 },
    ]);
    expect(ignored).toEqual([]);
    expect(partitions[0]).toMatchObject({ leader: 1, leaderEpoch: -1 });
    expect(partitions[1]).toEqual({ partition: 1, leader: -1, leaderEpoch: -1, errorCode: ErrorCode.LEADER_NOT_AVAILABLE });
  });
});

describe('leader epochs in a cluster', () => {
  let env: ClusterEnv;
  afterEach(() => env.cleanup(), 60_000);

  it('a consumer reads every record once, in order, while the leader moves away and back', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    await brokers[0]!.runtime.createTopic({ name: 'ep', numPartitions: 1, replicationFactor: 3, replicaAssignment: [[1, 2, 3]] });
    const leaderIs = (id: number) => () => ([...env.brokers.values()].some((b) => b.nodeId === id && b.runtime.localRole('ep', 0).role === 'leader') ? true : undefined);
    await waitFor('broker 1 leads ep-0', leaderIs(1));
    const epoch0 = brokers[0]!.runtime.partition('ep', 0)!.leaderEpoch;
    const rill = env.client(brokers.map((b) => b.port));
    const producer = rill.producer({ acks: 'all', lingerMs: 0, retry: RETRY });
    const consumer = rill.consumer({ maxWaitMs: 100, retry: RETRY });
    consumer.assign([{ topic: 'ep', partition: 0, offset: 0 }]);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const m of consumer.iterate()) {
        seen.push(m.value!.toString());
        if (seen.length === 60) break;
      }
    })();
    const produce = async (from: number) => {
      for (let i = from; i < from + 20; i++) await producer.send({ topic: 'ep', messages: [{ value: `v${i}` }] });
    };
    await produce(0);
    await waitFor('the first 20 read', () => (seen.length >= 20 ? true : undefined));

    // A second consumer reads the first 20 and then sleeps (paused: no fetch in flight) through
    // both elections: it still believes broker 1 leads under the first epoch. Its client logs
    // are kept to see what broker 1 answers when it wakes up.
    const logLines: string[] = [];
    const sleeperClient = env.client(brokers.map((b) => b.port), { logger: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }) });
    const sleeper = sleeperClient.consumer({ maxWaitMs: 100, retry: RETRY });
    sleeper.assign([{ topic: 'ep', partition: 0, offset: 0 }]);
    const slept: string[] = [];
    const sleeperIt = sleeper.iterate();
    while (slept.length < 20) slept.push((await sleeperIt.next()).value!.value!.toString());
    sleeper.pause([{ topic: 'ep' }]);
    await new Promise((r) => setTimeout(r, 500));

    // Away: broker 1 closes, 2 or 3 takes over under a newer epoch.
    const dir1 = env.brokers.get(1)!.dataDir;
    const port1 = env.brokers.get(1)!.port;
    await env.stop(1);
    await produce(20);
    // Back: broker 1 returns, catches up, and a preferred election hands it leadership again;
    // the consumer's cached leader is now a live follower that fences the epoch it was sent.
    const back: ClusterBroker = await env.broker(1, { dataDir: dir1, port: port1 });
    await waitFor('broker 1 in the ISR', () => (back.runtime.partition('ep', 0)?.isr.includes(1) ? true : undefined), 20_000);
    await waitFor('broker 2 caught up', () => (seen.length >= 40 ? true : undefined), 20_000);
    const admin = rill.admin({ retry: RETRY });
    expect((await admin.electLeaders({ partitions: [{ topic: 'ep', partitions: [0] }] }))[0]!.outcome).toBe('elected');
    await waitFor('broker 1 leads ep-0 again', leaderIs(1));
    await produce(40);
    await reading;
    await consumer.close();
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => `v${i}`));

    // The sleeper wakes up: its Fetch carries the first epoch to broker 1 (same address, leader
    // again under a newer epoch), is fenced, refreshes and reads on without a gap or a repeat.
    sleeper.resume([{ topic: 'ep' }]);
    while (slept.length < 60) slept.push((await sleeperIt.next()).value!.value!.toString());
    await sleeper.close();
    expect(slept).toEqual(Array.from({ length: 60 }, (_, i) => `v${i}`));
    expect(logLines.some((l) => l.includes('"error":"FENCED_LEADER_EPOCH"'))).toBe(true);

    // The SDK's cache carries the cluster's epoch for the partition, two elections on.
    const epochNow = back.runtime.partition('ep', 0)!.leaderEpoch;
    expect(epochNow).toBeGreaterThanOrEqual(epoch0 + 2);
    const pool = new BrokerPool([`127.0.0.1:${back.port}`], { clientId: 'epochs', connectionTimeoutMs: 2000, requestTimeoutMs: 5000, retry: RETRY, logger: testLogger });
    try {
      const metadata = new Metadata(pool, { logger: testLogger, retry: RETRY, allowAutoTopicCreation: false });
      await metadata.topic('ep');
      expect(metadata.leaderEpochOf('ep', 0)).toBe(epochNow);
      expect(metadata.leaderOf('ep', 0)).toBe(1);
    } finally {
      await pool.close();
    }
  }, 90_000);

  it('a partition with no leader does not stall the topic\'s other partitions', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    // Partition 0 lives only on broker 3; partition 1 on brokers 1 and 2.
    await brokers[0]!.runtime.createTopic({ name: 'split', numPartitions: 2, replicationFactor: 1, replicaAssignment: [[3], [1, 2]] });
    await waitFor('leaders of split', () => ([0, 1].every((p) => [...env.brokers.values()].some((b) => b.runtime.localRole('split', p).role === 'leader')) ? true : undefined));
    const rill = env.client(brokers.map((b) => b.port));
    const producer = rill.producer({ acks: 'all', lingerMs: 0, retry: RETRY });
    for (const partition of [0, 1]) await producer.send({ topic: 'split', messages: [{ value: `p${partition}-first`, partition }] });
    const consumer = rill.consumer({ maxWaitMs: 100, retry: { retries: 3, initialBackoffMs: 50, maxBackoffMs: 200 } });
    consumer.assign([0, 1].map((partition) => ({ topic: 'split', partition, offset: 0 })));
    const seen: string[] = [];
    const reading = (async () => {
      for await (const m of consumer.iterate()) {
        seen.push(m.value!.toString());
        if (seen.length === 12) break;
      }
    })();
    await waitFor('both first records', () => (seen.length >= 2 ? true : undefined));

    await env.stop(3);
    // Partition 0 is offline now (unclean election off); partition 1 keeps being read.
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'split', messages: [{ value: `p1-${i}`, partition: 1 }] });
    await reading;
    await consumer.close();
    expect(seen.slice(2)).toEqual(Array.from({ length: 10 }, (_, i) => `p1-${i}`));
    expect([...seen.slice(0, 2)].sort()).toEqual(['p0-first', 'p1-first']);
  }, 90_000);
});
