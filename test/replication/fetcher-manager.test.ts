/**
 * A follower moving from one leader to another (a failover), with two real single brokers on
 * loopback standing in for the old and the new leader.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplicaFetcherManager } from '../../broker/replication/fetcher-manager.js';
import { decodeBatches } from '../../protocol/record-batch.js';
import { DEFAULT_LOG_CONFIG } from '../../storage/log-config.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { TestEnv, testLogger, waitFor } from '../integration/harness.js';

const CATCH_UP_MS = 20_000;

async function allBytes(log: PartitionLog): Promise<Buffer> {
  const parts: Buffer[] = [];
  let next = log.logStartOffset;
  while (next < log.logEndOffset) {
    const { records } = await log.read(next, 1 << 20, { isolation: 'logEnd' });
    parts.push(records);
    const last = decodeBatches(records).at(-1)!.header;
    next = last.baseOffset + last.lastOffsetDelta + 1;
  }
  return Buffer.concat(parts);
}

describe('ReplicaFetcherManager', () => {
  const env = new TestEnv();
  let manager: ReplicaFetcherManager | null = null;
  const logs: PartitionLog[] = [];
  afterEach(async () => {
    await manager?.close();
    manager = null;
    for (const l of logs.splice(0)) if (!l.isClosed) await l.close();
    await env.cleanup();
  });

  it('moves a partition to its new leader: truncates what the new leader never had, converges, and closes the idle fetcher', async () => {
    const oldLeader = await env.broker();
    const newLeader = await env.broker();
    for (const b of [oldLeader, newLeader]) await env.client(b.port).admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    const oldLog = oldLeader.context.topics.partitionLog('t', 0)!;
    const newLog = newLeader.context.topics.partitionLog('t', 0)!;
    // Epoch 0 on the old leader: 5 records both leaders have, then 5 only the old one got.
    const oldProducer = env.client(oldLeader.port).producer();
    await oldProducer.send({ topic: 't', messages: Array.from({ length: 5 }, (_, i) => ({ value: `shared-${i}` })) });
    await newLog.appendAsFollower(await allBytes(oldLog));
    await oldProducer.send({ topic: 't', messages: Array.from({ length: 5 }, (_, i) => ({ value: `unreplicated-${i}` })) });
    // The new leader takes over at epoch 1 and writes on.
    newLog.setLeaderEpoch(1);
    await env.client(newLeader.port).producer().send({ topic: 't', messages: Array.from({ length: 3 }, (_, i) => ({ value: `epoch1-${i}` })) });

    const dir = await env.tempDir('rill-follower-');
    const follower = await PartitionLog.open({ topic: 't', partition: 0, dir: join(dir, 't-0'), config: { ...DEFAULT_LOG_CONFIG }, recoveryPoint: 0, highWatermark: 0 });
    logs.push(follower);
    manager = new ReplicaFetcherManager({ localBrokerId: 3, fetchWaitMaxMs: 50, fetchBackoffMs: 20, fetchBackoffMaxMs: 200, requestTimeoutMs: 5_000, logger: testLogger });

    const oldSource = { nodeId: 1, host: '127.0.0.1', port: oldLeader.port };
    const newSource = { nodeId: 2, host: '127.0.0.1', port: newLeader.port };
    await manager.follow(follower, oldSource, 0);
    await waitFor(() => follower.logEndOffset === 10, CATCH_UP_MS, 'the follower to copy the old leader');
    expect(manager.sources).toEqual([oldSource]);

    await manager.follow(follower, newSource, 1);
    expect(manager.sources).toEqual([newSource]);
    await waitFor(() => follower.logEndOffset === newLog.logEndOffset && follower.latestEpoch === 1, CATCH_UP_MS, 'the follower to converge on the new leader');
    expect((await allBytes(follower)).equals(await allBytes(newLog))).toBe(true);
    expect(follower.epochEntries).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 5 }]);
    expect(manager.fetcherFor(newSource)!.stats.truncations).toBe(1);

    await manager.unfollow('t', 0);
    expect(manager.sources).toEqual([]);
  });
});
