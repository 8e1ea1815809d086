/**
 * Classic consumer groups on a cluster: three in-process brokers on a real etcd, each with a
 * Kafka listener. A KafkaJS group member consumes a replication-factor-3 topic and commits;
 * the broker that coordinates the group (the leader of its __consumer_offsets partition) is
 * closed; the member finds the new coordinator (NOT_COORDINATOR / FindCoordinator), rejoins,
 * and keeps consuming from its last commits: nothing committed is read again, nothing is lost.
 * close() shuts down in a controlled way (controlled.shutdown.enable, on by default): the
 * leaderships move first, so KafkaJS meets NOT_LEADER_OR_FOLLOWER / NOT_COORDINATOR and refreshes
 * metadata. Should a connect still be refused (not one of the errors on which KafkaJS refreshes
 * metadata), its fetcher dials the closed broker until its retries run out (~15-30 s with the
 * settings below) and restarts the consumer, which resumes from the commits: the waits after the
 * failover allow for that.
 */
import kafkajs, { type Consumer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaApiKey } from '../../protocol/kafka/index.js';
import { ClusterEnv } from '../cluster/broker-harness.js';
import { waitFor } from '../integration/harness.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'payments';

describe('classic groups on a cluster (KafkaJS)', () => {
  const env = new ClusterEnv();
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await env.cleanup();
  });

  /** The node id FindCoordinator names for `groupId`, asked of the broker on `kafkaPort`. */
  async function coordinatorOf(kafkaPort: number, groupId: string): Promise<number> {
    const c = await RawKafkaClient.connect(kafkaPort);
    try {
      const r = await c.request(KafkaApiKey.FindCoordinator, 0, { key: groupId, keyType: 0 });
      expect(r.body.errorCode).toBe(0);
      return r.body.nodeId as number;
    } finally {
      await c.close();
    }
  }

  /** The node ids Metadata v9 lists as brokers and as the topic's leaders, asked of `kafkaPort`. */
  async function metadataNodes(kafkaPort: number): Promise<{ brokers: number[]; leaders: number[] }> {
    const c = await RawKafkaClient.connect(kafkaPort);
    try {
      const r = await c.request(KafkaApiKey.Metadata, 9, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const body = r.body as { brokers: Array<{ nodeId: number }>; topics: Array<{ partitions: Array<{ leaderId: number }> }> };
      return { brokers: body.brokers.map((b) => b.nodeId).sort(), leaders: body.topics[0]!.partitions.map((p) => p.leaderId) };
    } finally {
      await c.close();
    }
  }

  it('closing the coordinating broker: the member finds the new coordinator and resumes from its commits', async () => {
    await env.start();
    const brokers = await env.brokersUp(3, { kafkaPort: 0, 'offsets.topic.num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 });
    const bootstrap = brokers.map((b) => `127.0.0.1:${b.kafkaPort}`);
    const kafka = new Kafka({ clientId: 'cluster-groups', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });

    const admin = kafka.admin();
    await admin.connect();
    stops.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    stops.push(() => producer.disconnect());
    const produce = async (from: number, count: number) => {
      await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })) });
    };
    await produce(0, 30);

    const seen: Array<{ value: string; partition: number; offset: number; at: number }> = [];
    let phase = 0;
    const consumer: Consumer = kafka.consumer({ groupId: 'ledger', sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    const joins: number[] = [];
    consumer.on(consumer.events.GROUP_JOIN, (e) => void joins.push(e.payload.groupId === 'ledger' ? phase : -1));
    await consumer.connect();
    stops.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void seen.push({ value: message.value!.toString(), partition, offset: Number(message.offset), at: phase }) });

    const committedTotal = async () => (await admin.fetchOffsets({ groupId: 'ledger', topics: [TOPIC] }))[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    await waitFor(() => new Set(seen.map((s) => s.value)).size === 30, 30_000, 'the first 30 records consumed');
    await waitFor(async () => (await committedTotal()) === 30, 30_000, 'commits of the first 30 records');
    const committedBefore = new Map((await admin.fetchOffsets({ groupId: 'ledger', topics: [TOPIC] }))[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));

    // Close the coordinator; the group's offsets partition moves to a surviving replica.
    const coordinator = await coordinatorOf(brokers[0]!.kafkaPort!, 'ledger');
    phase = 1;
    await env.stop(coordinator);
    const survivors = brokers.filter((b) => b.nodeId !== coordinator);
    await waitFor(async () => (await coordinatorOf(survivors[0]!.kafkaPort!, 'ledger').catch(() => coordinator)) !== coordinator, 30_000, 'a new coordinator');
    expect(survivors.map((b) => b.nodeId)).toContain(await coordinatorOf(survivors[1]!.kafkaPort!, 'ledger'));
    // The survivors stop advertising the closed broker, as broker and as leader.
    await waitFor(async () => {
      const md = await metadataNodes(survivors[0]!.kafkaPort!);
      return !md.brokers.includes(coordinator) && md.leaders.every((l) => l !== coordinator && l >= 0);
    }, 30_000, 'Metadata without the closed broker');

    await produce(30, 30);
    await waitFor(() => new Set(seen.map((s) => s.value)).size === 60, 60_000, 'the next 30 records consumed after the failover');
    await waitFor(async () => (await committedTotal()) === 60, 30_000, 'commits of all 60 records on the new coordinator');

    // Resumed from the commits: after the failover, nothing below a committed offset was read again.
    const reread = seen.filter((s) => s.at === 1 && s.offset < committedBefore.get(s.partition)!);
    expect(reread).toEqual([]);
    // rill keeps no classic-group membership in __consumer_offsets (only offsets), so the new
    // coordinator does not know the member: it answers UNKNOWN_MEMBER_ID and KafkaJS rejoins.
    expect(joins.filter((p) => p === 1).length).toBeGreaterThanOrEqual(1);
    expect(new Set(seen.map((s) => s.value))).toEqual(new Set(Array.from({ length: 60 }, (_, i) => `v${i}`)));
  }, 150_000);
});
