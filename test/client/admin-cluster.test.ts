/**
 * The cluster admin APIs (DescribeCluster, ElectLeaders, CreateTopics' replica assignment) and
 * the SDK calls on them, against a real standalone broker on loopback: one broker that is the
 * whole cluster, its own controller and the leader of every partition.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RillError } from '../../client/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { TestEnv } from '../integration/harness.js';

describe('cluster admin on a standalone broker', () => {
  const env = new TestEnv();
  const raws: RawClient[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) await r.close();
    await env.cleanup();
  });

  it('describeCluster: the broker itself, as the only broker and the controller', async () => {
    const broker = await env.broker({ 'node.id': 4 });
    const admin = env.client(broker.port).admin();
    const described = await admin.describeCluster();
    expect(described).toEqual({
      clusterId: broker.context.clusterId,
      controllerId: 4,
      brokers: [{ nodeId: 4, host: '127.0.0.1', port: broker.port, rack: null }],
    });
    expect(described.clusterId.length).toBeGreaterThan(0);
  });

  it('electLeaders: every existing partition is ELECTION_NOT_NEEDED, a missing one UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const broker = await env.broker();
    const admin = env.client(broker.port).admin();
    await admin.createTopics({ topics: [{ topic: 'a', numPartitions: 2 }, { topic: 'b', numPartitions: 1 }] });

    // Every partition of the cluster, internal topics too; the user topics are checked here.
    const all = (await admin.electLeaders()).filter((r) => !r.topic.startsWith('__'));
    expect(all.map((r) => [r.topic, r.partition, r.outcome])).toEqual([
      ['a', 0, 'not-needed'],
      ['a', 1, 'not-needed'],
      ['b', 0, 'not-needed'],
    ]);
    expect(all.every((r) => r.error === null)).toBe(true);

    const unclean = await admin.electLeaders({ electionType: 'unclean', partitions: [{ topic: 'a' }] });
    expect(unclean.map((r) => [r.topic, r.partition, r.outcome])).toEqual([
      ['a', 0, 'not-needed'],
      ['a', 1, 'not-needed'],
    ]);

    const some = await admin.electLeaders({ partitions: [{ topic: 'a', partitions: [1, 7] }, { topic: 'gone', partitions: [0] }] });
    expect(some.map((r) => [r.topic, r.partition, r.outcome, r.error?.errorName ?? null])).toEqual([
      ['a', 1, 'not-needed', null],
      ['a', 7, 'failed', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['gone', 0, 'failed', 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]);
    expect(some[1]!.error).toBeInstanceOf(RillError);

    // A whole topic that does not exist cannot be expanded to partitions: the call fails.
    await expect(admin.electLeaders({ partitions: [{ topic: 'gone' }] })).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });

  it('ElectLeaders and DescribeCluster on the wire: Kafka keys, shapes and a bad election type refused', async () => {
    const broker = await env.broker();
    const raw = await RawClient.connect(broker.port);
    raws.push(raw);
    const dc = await raw.request('DescribeCluster', {});
    expect(dc).toMatchObject({ errorCode: 0, errorMessage: null, controllerId: 0, brokers: [{ nodeId: 0, port: broker.port }] });
    const el = await raw.request('ElectLeaders', { topicPartitions: [{ topic: 'nope', partitions: [0, 0] }] });
    // A partition named twice is answered once.
    expect(el).toEqual({ throttleTimeMs: 0, errorCode: 0, replicaElectionResults: [{ topic: 'nope', partitionResult: [{ partitionId: 0, errorCode: 3, errorMessage: 'nope-0 does not exist' }] }] });
    const bad = (await raw.request('ElectLeaders', { electionType: 2, topicPartitions: null } as never)) as unknown as { errorCode: number; errorMessage: string };
    expect(bad.errorCode).toBe(42);
    expect(bad.errorMessage).toMatch(/electionType/);
  });

  it('createTopics with a replica assignment: placed as given, and every bad assignment refused', async () => {
    const broker = await env.broker({ 'node.id': 2 });
    const admin = env.client(broker.port).admin();
    await admin.createTopics({ topics: [{ topic: 'placed', replicaAssignment: [{ partition: 1, replicas: [2] }, { partition: 0, replicas: [2] }] }] });
    const [placed] = await admin.describeTopics({ topics: ['placed'] });
    expect(placed!.partitions.map((p) => [p.partition, p.replicas])).toEqual([
      [0, [2]],
      [1, [2]],
    ]);

    const refused = async (replicaAssignment: Array<{ partition: number; replicas: number[] }>, extra: { numPartitions?: number; replicationFactor?: number } = {}) => {
      const err = await admin.createTopics({ topics: [{ topic: 'bad', replicaAssignment, ...extra }] }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RillError);
      return (err as RillError).errorName + ': ' + (err as RillError).message;
    };
    expect(await refused([{ partition: 0, replicas: [2, 3] }])).toMatch(/^INVALID_REPLICA_ASSIGNMENT: .*broker\(s\) 3, which are not registered/);
    expect(await refused([{ partition: 0, replicas: [2] }, { partition: 2, replicas: [2] }])).toMatch(/^INVALID_REPLICA_ASSIGNMENT: .*partitions 0\.\.1 once each/);
    expect(await refused([{ partition: 0, replicas: [2, 2] }])).toMatch(/^INVALID_REPLICA_ASSIGNMENT: .*lists a broker twice/);
    expect(await refused([{ partition: 0, replicas: [] }])).toMatch(/^INVALID_REPLICA_ASSIGNMENT: .*no replicas/);
    // Counts that contradict the assignment are refused before anything is sent.
    expect(await refused([{ partition: 0, replicas: [2] }], { numPartitions: 3 })).toMatch(/^INVALID_REPLICA_ASSIGNMENT: .*numPartitions 3 contradicts/);
    expect(await refused([{ partition: 0, replicas: [2] }], { replicationFactor: 2 })).toMatch(/^INVALID_REPLICA_ASSIGNMENT: .*replicationFactor 2 contradicts/);
    expect((await admin.listTopics()).filter((t) => !t.startsWith('__'))).toEqual(['placed']);

    // On the wire, an assignment next to explicit counts is a malformed request, as in Kafka.
    const raw = await RawClient.connect(broker.port);
    raws.push(raw);
    const r = await raw.request('CreateTopics', { topics: [{ name: 'bad', numPartitions: 1, assignments: [{ partitionIndex: 0, brokerIds: [2] }] }] });
    expect(r.topics[0]).toMatchObject({ errorCode: 42, numPartitions: -1 });
  });

  it('describeTopics: leader, leader epoch, replicas, ISR, offline replicas and offsets per partition', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    const admin = rill.admin();
    await admin.createTopics({ topics: [{ topic: 't', numPartitions: 2, replicationFactor: 1 }] });
    await rill.producer().send({ topic: 't', messages: [{ key: 'k', value: 'v', partition: 1 }] });
    const [t] = await admin.describeTopics({ topics: ['t'] });
    expect(t!.partitions).toEqual([
      { partition: 0, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0], offlineReplicas: [], logStartOffset: 0, logEndOffset: 0 },
      { partition: 1, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0], offlineReplicas: [], logStartOffset: 0, logEndOffset: 1 },
    ]);
    const [metadataOnly] = await admin.describeTopics({ topics: ['t'], includeOffsets: false });
    expect(metadataOnly!.partitions.map((p) => [p.logStartOffset, p.logEndOffset])).toEqual([
      [-1, -1],
      [-1, -1],
    ]);
    await expect(admin.createTopics({ topics: [{ topic: 'rf3', replicationFactor: 3 }] })).rejects.toMatchObject({ errorName: 'INVALID_REPLICATION_FACTOR' });
  });
});
