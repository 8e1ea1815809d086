/**
 * The replica fetcher against real brokers on loopback: a normal single broker is the leader
 * (its high watermark is its log end and its Fetch handler serves as today), the follower is a
 * PartitionLog in another temp dir.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReplicaFetcher } from '../../broker/replication/replica-fetcher.js';
import { decodeBatches, encodeBatch } from '../../protocol/record-batch.js';
import { DEFAULT_LOG_CONFIG } from '../../storage/log-config.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { TestEnv, testLogger, waitFor } from '../integration/harness.js';

const CATCH_UP_MS = 20_000;

describe('ReplicaFetcher against a real broker', () => {
  const env = new TestEnv();
  const fetchers: ReplicaFetcher[] = [];
  const followers: PartitionLog[] = [];
  let followerDir: string;

  beforeEach(async () => {
    followerDir = await env.tempDir('rill-follower-');
  });
  afterEach(async () => {
    for (const f of fetchers.splice(0)) await f.close();
    for (const l of followers.splice(0)) if (!l.isClosed) await l.close();
    await env.cleanup();
  });

  async function followerLog(partition: number): Promise<PartitionLog> {
    const log = await PartitionLog.open({
      topic: 't', partition, dir: join(followerDir, `t-${partition}`), config: { ...DEFAULT_LOG_CONFIG }, recoveryPoint: 0, highWatermark: 0,
    });
    followers.push(log);
    return log;
  }

  function fetcher(port: number): ReplicaFetcher {
    const f = new ReplicaFetcher({
      source: { nodeId: 1, host: '127.0.0.1', port },
      localBrokerId: 2,
      fetchWaitMaxMs: 50,
      fetchBackoffMs: 20,
      fetchBackoffMaxMs: 200,
      requestTimeoutMs: 5_000,
      logger: testLogger,
    });
    fetchers.push(f);
    return f;
  }

  async function allBytes(log: PartitionLog): Promise<Buffer> {
    const parts: Buffer[] = [];
    let next = log.logStartOffset;
    while (next < log.logEndOffset) {
      const { records } = await log.read(next, 1 << 20, { isolation: 'logEnd' });
      parts.push(records);
      const batches = decodeBatches(records);
      next = batches[batches.length - 1]!.header.baseOffset + batches[batches.length - 1]!.header.lastOffsetDelta + 1;
    }
    return Buffer.concat(parts);
  }

  async function caughtUp(leader: PartitionLog, follower: PartitionLog): Promise<void> {
    await waitFor(() => follower.logEndOffset === leader.logEndOffset && follower.highWatermark === leader.highWatermark, CATCH_UP_MS, `${follower.topic}-${follower.partition} to catch up`);
  }

  it('copies every partition of the leader byte for byte, offsets and epochs included, in one fetcher', async () => {
    const a = await env.broker();
    const rill = env.client(a.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 2 }] });
    const producer = rill.producer();
    for (let i = 0; i < 5; i++) await producer.send({ topic: 't', messages: Array.from({ length: 20 }, (_, j) => ({ value: `m${i}-${j}`, partition: j % 2 })) });
    const leaders = [a.context.topics.partitionLog('t', 0)!, a.context.topics.partitionLog('t', 1)!];
    // A later leadership of partition 0, as a failover would give it.
    leaders[0]!.setLeaderEpoch(3);
    await producer.send({ topic: 't', messages: [{ value: 'after', partition: 0 }] });

    const f = fetcher(a.port);
    const logs = [await followerLog(0), await followerLog(1)];
    f.addPartition(logs[0]!, leaders[0]!.leaderEpoch);
    f.addPartition(logs[1]!, leaders[1]!.leaderEpoch);
    f.start();
    for (let p = 0; p < 2; p++) await caughtUp(leaders[p]!, logs[p]!);
    // And it keeps following.
    await producer.send({ topic: 't', messages: Array.from({ length: 6 }, (_, j) => ({ value: `late-${j}`, partition: j % 2 })) });
    for (let p = 0; p < 2; p++) {
      await caughtUp(leaders[p]!, logs[p]!);
      expect((await allBytes(logs[p]!)).equals(await allBytes(leaders[p]!))).toBe(true);
      expect(logs[p]!.epochEntries).toEqual(leaders[p]!.epochEntries);
    }
    expect(logs[0]!.epochEntries.map((e) => e.epoch)).toEqual([0, 3]);
    expect(f.stats.truncations).toBe(0);
  });

  it('truncates a divergent tail written at an older epoch (OffsetsForLeaderEpoch) and converges', async () => {
    const a = await env.broker();
    const rill = env.client(a.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    const producer = rill.producer();
    await producer.send({ topic: 't', messages: Array.from({ length: 10 }, (_, j) => ({ value: `e0-${j}` })) });
    const leader = a.context.topics.partitionLog('t', 0)!;
    const common = await allBytes(leader);
    leader.setLeaderEpoch(2);
    await producer.send({ topic: 't', messages: Array.from({ length: 10 }, (_, j) => ({ value: `e2-${j}` })) });

    // The follower has the common prefix, then batches an epoch-1 leader wrote that never reached epoch 2's leader.
    const log = await followerLog(0);
    await log.appendAsFollower(Buffer.from(common));
    const end = log.logEndOffset;
    await log.appendAsFollower(encodeBatch([{ value: 'lost-a' }, { value: 'lost-b' }], { baseOffset: end, partitionLeaderEpoch: 1 }));
    await log.appendAsFollower(encodeBatch([{ value: 'lost-c' }], { baseOffset: end + 2, partitionLeaderEpoch: 1 }));
    expect(log.latestEpoch).toBe(1);

    const f = fetcher(a.port);
    f.addPartition(log, leader.leaderEpoch);
    f.start();
    await caughtUp(leader, log);
    expect(f.stats.truncations).toBe(1);
    expect((await allBytes(log)).equals(await allBytes(leader))).toBe(true);
    expect(log.epochEntries).toEqual(leader.epochEntries);
  });

  it('truncates a same-epoch tail past where the leader\'s epoch ended', async () => {
    const a = await env.broker();
    const rill = env.client(a.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    const producer = rill.producer();
    await producer.send({ topic: 't', messages: Array.from({ length: 4 }, (_, j) => ({ value: `e0-${j}` })) });
    const leader = a.context.topics.partitionLog('t', 0)!;
    const common = await allBytes(leader);
    leader.setLeaderEpoch(1);
    await producer.send({ topic: 't', messages: [{ value: 'e1' }] });
    // The follower wrote more at epoch 0 than the leader kept of epoch 0.
    const log = await followerLog(0);
    await log.appendAsFollower(Buffer.from(common));
    await log.appendAsFollower(encodeBatch([{ value: 'stale' }], { baseOffset: log.logEndOffset, partitionLeaderEpoch: 0 }));
    const f = fetcher(a.port);
    f.addPartition(log, leader.leaderEpoch);
    f.start();
    await caughtUp(leader, log);
    expect((await allBytes(log)).equals(await allBytes(leader))).toBe(true);
  });

  it('reconnects with backoff when the leader restarts, and resumes from its log end', async () => {
    const first = await env.broker();
    const dataDir = first.dataDir;
    const port = first.port;
    const rill = env.client(port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    await rill.producer().send({ topic: 't', messages: Array.from({ length: 10 }, (_, j) => ({ value: `before-${j}` })) });
    const log = await followerLog(0);
    const f = fetcher(port);
    f.addPartition(log, 0);
    f.start();
    await caughtUp(first.context.topics.partitionLog('t', 0)!, log);
    await rill.close();
    await env.stop(first);
    // The fetcher fails to reconnect while the leader is down...
    await waitFor(() => f.stats.connectFailures > 0, CATCH_UP_MS, 'a failed reconnect');
    const again = await env.broker({ dataDir, port });
    const leader = again.context.topics.partitionLog('t', 0)!;
    await env.client(again.port).producer().send({ topic: 't', messages: Array.from({ length: 5 }, (_, j) => ({ value: `after-${j}` })) });
    // ...and resumes once it is back.
    await caughtUp(leader, log);
    expect(f.stats.connects).toBeGreaterThanOrEqual(2);
    expect((await allBytes(log)).equals(await allBytes(leader))).toBe(true);
  });

  it('an unknown partition on the leader is a partition error, retried without stopping the others', async () => {
    const a = await env.broker();
    const rill = env.client(a.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    await rill.producer().send({ topic: 't', messages: [{ value: 'x' }] });
    const good = await followerLog(0);
    const missing = await followerLog(7);
    const f = fetcher(a.port);
    const errors: string[] = [];
    f.on('partition-error', (log, err) => errors.push(`${log.partition}:${(err as { errorName?: string }).errorName ?? err.message}`));
    f.addPartition(good, 0);
    f.addPartition(missing, 0);
    f.start();
    await caughtUp(a.context.topics.partitionLog('t', 0)!, good);
    await waitFor(() => errors.length > 0, CATCH_UP_MS, 'the partition error');
    expect(errors[0]).toBe('7:UNKNOWN_TOPIC_OR_PARTITION');
    expect(missing.logEndOffset).toBe(0);
  });
});
