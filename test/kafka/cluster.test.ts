/**
 * The Kafka listener on a cluster: three brokers in this process on a real etcd, each with a
 * Kafka listener on an ephemeral port. KafkaJS's Metadata lists all three with their Kafka
 * ports and the partitions' leaders as the cluster has them; a KafkaJS producer (acks=-1) and
 * kcat's consumer reach each partition through its leader (a Fetch or Produce anywhere else
 * would get NOT_LEADER_OR_FOLLOWER); and when a partition leader is closed, KafkaJS gets
 * NOT_LEADER_OR_FOLLOWER or a lost connection, refreshes its metadata and carries on with the
 * new leader, and nothing it had acknowledged is lost.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import type { StartBrokerOptions } from '../../broker/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { KafkaApiKey } from '../../protocol/kafka/index.js';
import { batch } from '../broker/harness.js';
import { requireTool } from '../helpers/outside-tools.js';
import { ClusterEnv, type ClusterBroker } from '../cluster/broker-harness.js';
import { waitFor } from '../cluster/etcd.js';
import { kcat } from './kcat-run.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const haveKcat = requireTool('kcat');

/** `kcat -C` of every partition of `topic` from the beginning to the end, one `partition key value` line per record. */
async function kcatConsume(bootstrap: string[], topic: string, timeoutMs = 30_000): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  const r = await kcat(['-C', '-b', bootstrap.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %k %s\\n'], '', timeoutMs);
  return { code: r.code, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
}

describe.skipIf(!haveKcat)('the Kafka listener on a three-broker cluster', () => {
  let env: ClusterEnv;
  const open: Array<Admin | Producer> = [];
  const raws: RawKafkaClient[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.disconnect().catch(() => undefined);
    for (const c of raws.splice(0)) await c.close();
    await env.cleanup();
  }, 60_000);

  async function setup(extra: Record<number, Partial<StartBrokerOptions>> = {}): Promise<{ brokers: ClusterBroker[]; kafka: Kafka; admin: Admin; bootstrap: string[] }> {
    env = await new ClusterEnv().start();
    const brokers: ClusterBroker[] = [];
    for (const id of [1, 2, 3]) brokers.push(await env.broker(id, { kafkaPort: 0, ...extra[id] }));
    // Every broker must have seen the others' registrations (with their Kafka ports) before a client asks.
    await waitFor('every broker to see three Kafka listeners', () =>
      brokers.every((b) => b.runtime.liveBrokers().filter((x) => x.kafkaPort !== null).length === 3) ? true : undefined,
    );
    const bootstrap = brokers.map((b) => `127.0.0.1:${b.kafkaPort}`);
    const kafka = new Kafka({ clientId: 'kafka-cluster-test', brokers: [bootstrap[0]!], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 } });
    const admin = kafka.admin();
    await admin.connect();
    open.push(admin);
    return { brokers, kafka, admin, bootstrap };
  }

  async function raw(b: ClusterBroker): Promise<RawKafkaClient> {
    const c = await RawKafkaClient.connect(b.kafkaPort!);
    raws.push(c);
    return c;
  }

  /** Partition -> leader node id, as the cluster's runtime (not the Kafka listener) has it. */
  function runtimeLeaders(brokers: ClusterBroker[], topic: string, partitions: number): Map<number, number> {
    const out = new Map<number, number>();
    for (let p = 0; p < partitions; p++) {
      const leader = brokers.find((b) => env.brokers.get(b.nodeId) === b && b.runtime.localRole(topic, p).role === 'leader');
      if (leader !== undefined) out.set(p, leader.nodeId);
    }
    return out;
  }

  async function createTopic(admin: Admin, brokers: ClusterBroker[], topic: string, partitions: number): Promise<Map<number, number>> {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    return waitFor(`leaders of every partition of ${topic}`, () => {
      const leaders = runtimeLeaders(brokers, topic, partitions);
      return leaders.size === partitions ? leaders : undefined;
    });
  }

  it('Metadata lists all three brokers with their Kafka ports and each partition leader and ISR', async () => {
    const { brokers, admin } = await setup();
    const leaders = await createTopic(admin, brokers, 'kc-meta', 6);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })).sort((a, b) => a.nodeId - b.nodeId)).toEqual(
      brokers.map((b) => ({ nodeId: b.nodeId, host: '127.0.0.1', port: b.kafkaPort })),
    );
    // The Kafka ports, never the rill ones.
    for (const b of brokers) expect(cluster.brokers.some((x) => x.port === b.port)).toBe(false);
    const meta = await admin.fetchTopicMetadata({ topics: ['kc-meta'] });
    const partitions = meta.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId);
    expect(partitions).toHaveLength(6);
    for (const p of partitions) {
      expect(p.leader).toBe(leaders.get(p.partitionId));
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect(p.replicas).toContain(p.leader);
    }
    // Leadership is spread (round-robin placement), so a client must use more than one broker.
    expect(new Set(partitions.map((p) => p.leader)).size).toBe(3);
  }, 60_000);

  it("every broker's Metadata advertises each broker's own kafka.advertised.host and Kafka port", async () => {
    // Broker 3 is reachable by Kafka clients under another name (as behind NAT or in a container).
    const { brokers } = await setup({ 3: { 'kafka.advertised.host': 'kafka-3.example' } });
    const expected = brokers.map((b) => ({ nodeId: b.nodeId, host: b.nodeId === 3 ? 'kafka-3.example' : '127.0.0.1', port: b.kafkaPort }));
    for (const b of brokers) {
      const c = await raw(b);
      const md = await c.request(KafkaApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false, includeClusterAuthorizedOperations: false });
      const listed = (md.body.brokers as Array<{ nodeId: number; host: string; port: number }>).map(({ nodeId, host, port }) => ({ nodeId, host, port }));
      expect(listed, `Metadata from broker ${b.nodeId}`).toEqual(expected);
    }
  }, 60_000);

  it('Produce and Fetch on the Kafka port of a follower get NOT_LEADER_OR_FOLLOWER', async () => {
    const { brokers, admin } = await setup();
    const leaders = await createTopic(admin, brokers, 'kc-raw', 1);
    const follower = brokers.find((b) => b.nodeId !== leaders.get(0))!;
    const c = await raw(follower);
    const p = await c.request(KafkaApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'kc-raw', partitionData: [{ index: 0, records: batch(['x']) }] }] });
    expect(p.body.responses).toMatchObject([{ name: 'kc-raw', partitionResponses: [{ index: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }] }]);
    const f = await c.request(KafkaApiKey.Fetch, 12, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'kc-raw', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' });
    expect(f.body.responses).toMatchObject([{ topic: 'kc-raw', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }] }]);
  }, 60_000);

  it('a KafkaJS producer (acks=-1) and kcat -C reach every partition through its leader', async () => {
    const { brokers, kafka, admin, bootstrap } = await setup();
    await createTopic(admin, brokers, 'kc-data', 3);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    open.push(producer);
    const sent = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const [meta] = await producer.send({ topic: 'kc-data', acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] });
      expect(meta!.errorCode).toBe(0);
      sent.set(`k${i}`, meta!.partition);
    }
    expect(new Set(sent.values()).size).toBe(3);
    // kcat bootstraps from one broker only: it must find the other leaders through Metadata.
    const read = await kcatConsume([bootstrap[1]!], 'kc-data');
    expect(read.code, read.stderr).toBe(0);
    const got = new Map(read.lines.map((l) => {
      const [p, k, v] = l.split(' ');
      expect(v).toBe(`v${k!.slice(1)}`);
      return [k!, Number(p)] as const;
    }));
    expect(got).toEqual(sent);
  }, 60_000);

  it('KafkaJS carries on after a partition leader is closed, and after leadership moves back (NOT_LEADER_OR_FOLLOWER)', async () => {
    const { brokers, admin } = await setup();
    const leaders = await createTopic(admin, brokers, 'kc-move', 3);
    // A KafkaJS client of its own, whose error log shows what the brokers answered.
    const errors: string[] = [];
    const kafka = new Kafka({
      clientId: 'kafka-cluster-move',
      brokers: brokers.map((b) => `127.0.0.1:${b.kafkaPort}`),
      logLevel: logLevel.ERROR,
      logCreator: () => (entry) => errors.push(`${entry.log.message} ${String(entry.log.error ?? '')}`),
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    open.push(producer);
    const send = async (value: string) => {
      const [meta] = await producer.send({ topic: 'kc-move', acks: -1, messages: [{ value, partition: 0 }] });
      return meta!;
    };
    const values = (prefix: string) => Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
    for (const v of values('before')) expect((await send(v)).errorCode).toBe(0);
    const oldLeader = brokers.find((b) => b.nodeId === leaders.get(0))!;
    await env.stop(oldLeader.nodeId);
    // KafkaJS still has the closed broker as the leader: its next send fails on the lost
    // connection, it refreshes its metadata and retries against the new leader.
    for (const v of values('after-close')) expect((await send(v)).errorCode).toBe(0);
    const live = brokers.filter((b) => b !== oldLeader);
    const interim = live.find((b) => b.nodeId === runtimeLeaders(live, 'kc-move', 1).get(0))!;
    expect(interim).toBeDefined();

    // The old leader (the preferred replica) returns on its data dir and rejoins the ISR; a
    // preferred election gives it the partition back while KafkaJS still points at the interim
    // leader, which is alive and answers NOT_LEADER_OR_FOLLOWER.
    await env.broker(oldLeader.nodeId, { kafkaPort: 0, dataDir: oldLeader.dataDir });
    await waitFor('the old leader back in the ISR', () => (interim.runtime.partition('kc-move', 0)?.isr.includes(oldLeader.nodeId) ? true : undefined), 30_000);
    const rill = env.client([interim.port]);
    const elected = await rill.admin().electLeaders({ partitions: [{ topic: 'kc-move', partitions: [0] }] });
    expect(elected).toMatchObject([{ topic: 'kc-move', partition: 0, outcome: 'elected' }]);
    await waitFor('the old leader to lead again', () => (env.brokers.get(oldLeader.nodeId)!.runtime.localRole('kc-move', 0).role === 'leader' ? true : undefined));
    errors.length = 0;
    for (const v of values('after-move')) expect((await send(v)).errorCode).toBe(0);
    expect(errors.some((e) => /not the leader/i.test(e)), errors.join('\n')).toBe(true);

    const bootstrap = [...env.brokers.values()].map((b) => `127.0.0.1:${b.kafkaPort}`);
    const read = await kcatConsume(bootstrap, 'kc-move');
    expect(read.code, read.stderr).toBe(0);
    expect(read.lines.filter((l) => l.startsWith('0 ')).map((l) => l.split(' ')[2])).toEqual([...values('before'), ...values('after-close'), ...values('after-move')]);
  }, 120_000);
});
