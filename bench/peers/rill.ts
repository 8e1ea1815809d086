/**
 * rill in the peers benchmark, two ways:
 *   rill         three broker processes on one etcd, topics of replication factor 3, producer
 *                acks=all (idempotent: the SDK default): acknowledged once every in-sync
 *                replica has the batch (in its page cache: the default flush policy)
 *   rill-single  one broker process, RF 1, acks=1 (not idempotent): the reference row
 * The client is rill's own SDK (client/), in the bench process.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Rill, type Acks, type EachBatchPayload, type Producer } from '../../client/index.js';
import { ClusterProcesses, startBrokerProcess, stopProcess } from '../processes.js';
import { PARTITIONS, latch, type PeerSystem, type RunningPeer, type StartContext, type Tail } from './system.js';

const here = dirname(fileURLToPath(import.meta.url));
// Compiled: dist/bench/peers -> dist/broker/main.js. From the sources (vitest): dist/ beside them.
const BROKER_MAIN = [join(here, '..', '..', 'broker', 'main.js'), join(here, '..', '..', 'dist', 'broker', 'main.js')].find((p) => existsSync(p)) ?? join(here, '..', '..', 'broker', 'main.js');

const TOPIC_READY_TIMEOUT_MS = 15_000;

interface RillSetup {
  replicationFactor: number;
  acks: Acks;
  idempotent: boolean;
}

async function connect(bootstrap: string[], setup: RillSetup, serverPids: () => number[], stopServers: () => Promise<void>): Promise<RunningPeer> {
  const rill = new Rill({ brokers: bootstrap, clientId: 'peers-bench', requestTimeoutMs: 10_000, logger: pino({ level: 'error' }, pino.destination(2)) });
  const admin = rill.admin();
  // Throughput: lingerMs 5 (the SDK default) fills batches; latency: lingerMs 0, a message is
  // sent at once, as NATS and Redis clients do.
  const producer: Producer = rill.producer({ acks: setup.acks, idempotent: setup.idempotent, lingerMs: 5 });
  const paced: Producer = rill.producer({ acks: setup.acks, idempotent: setup.idempotent, lingerMs: 0 });

  const readFrom = async (topic: string, offsets: number[], onBatch: (payload: EachBatchPayload) => void): Promise<{ running: Promise<void>; stop: () => Promise<void> }> => {
    const consumer = rill.consumer();
    consumer.assign(offsets.map((offset, partition) => ({ topic, partition, offset })));
    const failed = latch();
    const running = consumer.run({ eachBatch: async (payload) => onBatch(payload) }).catch((err: unknown) => failed.reject(err));
    failed.promise.catch(() => undefined);
    return {
      running: Promise.race([running.then(() => undefined), failed.promise]),
      stop: async () => {
        await consumer.stop();
        await running;
        await consumer.close();
      },
    };
  };

  return {
    serverPids,
    async createTopic(name) {
      await admin.createTopics({ topics: [{ topic: name, numPartitions: PARTITIONS, replicationFactor: setup.replicationFactor }] });
      // Ready once every partition's leader answers (the offsets come from the leaders), so no
      // phase times the election of a new topic's leaders.
      const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
      for (;;) {
        const offsets = await admin.fetchTopicOffsets(name).catch(() => []);
        if (offsets.length === PARTITIONS) return;
        if (Date.now() > deadline) throw new Error(`rill: topic ${name} has no leader for every partition within ${TOPIC_READY_TIMEOUT_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async deleteTopic(name) {
      await admin.deleteTopics({ topics: [name] });
    },
    async produceChunk(topic, values, firstIndex, signal) {
      const messages = new Array<{ value: Buffer; partition: number }>(values.length);
      for (let i = 0; i < values.length; i++) messages[i] = { value: values[i]!, partition: (firstIndex + i) % PARTITIONS };
      await producer.send({ topic, messages }, { signal });
    },
    async consume(topic, expected, onValue, signal) {
      let count = 0;
      const done = latch();
      const reader = await readFrom(topic, new Array<number>(PARTITIONS).fill(0), ({ batch }) => {
        const messages = batch.messages;
        for (let i = 0; i < messages.length; i++) onValue(messages[i]!.value ?? Buffer.alloc(0));
        count += messages.length;
        if (count >= expected) done.resolve();
      });
      const onAbort = (): void => done.reject(new Error(`rill consume: time limit reached after ${count}/${expected} messages`));
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await Promise.race([done.promise, reader.running.then(() => { throw new Error('rill consumer stopped early'); })]);
      } finally {
        signal.removeEventListener('abort', onAbort);
        await reader.stop();
      }
    },
    async tail(topic, onValue): Promise<Tail> {
      const ends = await admin.fetchTopicOffsets(topic);
      const offsets = new Array<number>(PARTITIONS).fill(0);
      for (const p of ends) offsets[p.partition] = p.offset;
      const reader = await readFrom(topic, offsets, ({ batch }) => {
        const messages = batch.messages;
        for (let i = 0; i < messages.length; i++) onValue(messages[i]!.value ?? Buffer.alloc(0));
      });
      reader.running.catch(() => undefined);
      return { stop: reader.stop };
    },
    async sendOne(topic, value, index) {
      await paced.send({ topic, messages: [{ value, partition: index % PARTITIONS }] });
    },
    async stop() {
      await rill.close().catch(() => undefined);
      await stopServers();
    },
  };
}

export const rillCluster: PeerSystem = {
  id: 'rill',
  label: 'rill 3 brokers, RF 3, acks=all',
  guarantee:
    'acknowledged once the leader and every in-sync follower (3 brokers) appended the batch; idempotent producer; written to the page cache (default flush policy: no fsync per batch)',
  async start(ctx: StartContext): Promise<RunningPeer> {
    const cluster = await ClusterProcesses.start(ctx.group, BROKER_MAIN, ctx.dir, 3, {});
    try {
      return await connect(
        cluster.bootstrap(),
        { replicationFactor: 3, acks: -1, idempotent: true },
        () => [...[...cluster.brokers.values()].map((b) => b.pid), ...(cluster.etcd.pid === undefined ? [] : [cluster.etcd.pid])],
        () => cluster.stop(),
      );
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  },
};

export const rillSingle: PeerSystem = {
  id: 'rill-single',
  label: 'rill 1 broker, RF 1, acks=1',
  guarantee: 'acknowledged once the one broker appended the batch to its page cache; no replica, no fsync (reference row)',
  async start(ctx: StartContext): Promise<RunningPeer> {
    await mkdir(join(ctx.dir, 'broker'), { recursive: true });
    const broker = await startBrokerProcess(ctx.group, BROKER_MAIN, join(ctx.dir, 'broker'), { args: ['--log-level', 'error'] });
    try {
      return await connect([`127.0.0.1:${broker.port}`], { replicationFactor: 1, acks: 1, idempotent: false }, () => [broker.pid], () => stopProcess(broker.proc));
    } catch (err) {
      await stopProcess(broker.proc);
      throw err;
    }
  },
};
