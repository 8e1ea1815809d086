/** OffsetsForLeaderEpoch served by a real broker, asked over the replication PeerConnection. */
import { afterEach, describe, expect, it } from 'vitest';
import { PeerConnection } from '../../broker/replication/peer-connection.js';
import { ErrorCode } from '../../protocol/errors.js';
import { TestEnv } from '../integration/harness.js';

describe('OffsetsForLeaderEpoch', () => {
  const env = new TestEnv();
  const conns: PeerConnection[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) c.close();
    await env.cleanup();
  });

  it('answers where each epoch ended, checks currentLeaderEpoch, and reports unknown partitions', async () => {
    const a = await env.broker();
    const rill = env.client(a.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    const producer = rill.producer();
    await producer.send({ topic: 't', messages: Array.from({ length: 3 }, (_, i) => ({ value: `a${i}` })) });
    const log = a.context.topics.partitionLog('t', 0)!;
    log.setLeaderEpoch(4);
    await producer.send({ topic: 't', messages: Array.from({ length: 2 }, (_, i) => ({ value: `b${i}` })) });

    const conn = await PeerConnection.connect({ host: '127.0.0.1', port: a.port, connectionTimeoutMs: 5000, maxInFlightRequests: 4, maxFrameBytes: 1 << 20 });
    conns.push(conn);
    const ask = (partitions: Array<{ partition: number; currentLeaderEpoch: number; leaderEpoch: number }>) =>
      conn.request('OffsetsForLeaderEpoch', { replicaId: 2, topics: [{ name: 't', partitions }] }, 5000);

    const r = await ask([
      { partition: 0, currentLeaderEpoch: 4, leaderEpoch: 0 },
      { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 2 },
      { partition: 0, currentLeaderEpoch: 4, leaderEpoch: 4 },
      { partition: 0, currentLeaderEpoch: 3, leaderEpoch: 0 },
      { partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0 },
      { partition: 9, currentLeaderEpoch: -1, leaderEpoch: 0 },
    ]);
    const parts = r.topics[0]!.partitions;
    expect(parts.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset])).toEqual([
      [0, 0, 3],
      [0, 0, 3],
      [0, 4, 5],
      [ErrorCode.FENCED_LEADER_EPOCH, -1, -1],
      [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
    ]);
    // replicaId and currentLeaderEpoch default to -1.
    const defaults = await conn.request('OffsetsForLeaderEpoch', { topics: [{ name: 't', partitions: [{ partition: 0, leaderEpoch: 9 } as never] }] } as never, 5000);
    expect(defaults.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, leaderEpoch: 4, endOffset: 5 });
  });

  it('a malformed request is answered with INVALID_REQUEST, naming the field', async () => {
    const a = await env.broker();
    const conn = await PeerConnection.connect({ host: '127.0.0.1', port: a.port, connectionTimeoutMs: 5000, maxInFlightRequests: 4, maxFrameBytes: 1 << 20 });
    conns.push(conn);
    await expect(conn.request('OffsetsForLeaderEpoch', { replicaId: 1, topics: [{ name: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: -5 }] }] }, 5000))
      .rejects.toMatchObject({ errorName: 'INVALID_REQUEST', message: expect.stringMatching(/leaderEpoch/) });
  });
});
