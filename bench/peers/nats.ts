/**
 * NATS JetStream in the peers benchmark: three `nats-server` processes (Debian's nats-server,
 * from PATH) clustered over routes on 127.0.0.1, JetStream on each with its store in a temp dir.
 * Each topic is a file-storage stream of 3 replicas whose subjects `<name>.0` .. `<name>.2` play
 * the partitions. Client: the official `nats` package (nats.js), in the bench process.
 *   produce  js.publish() per message, a whole chunk in flight at once (the workload bounds the
 *            chunks), each resolving on its PubAck (the stream leader has a quorum of replicas)
 *   consume  a pull consumer (AckPolicy none, state in memory) from the first message, read with
 *            consume() in pulls of CONSUME_BATCH messages
 *   tail     the same with DeliverPolicy new
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { AckPolicy, DeliverPolicy, StorageType, connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { freeLoopbackPort, isRunning, stopProcess, type ProcessGroup } from '../processes.js';
import { PARTITIONS, latch, type PeerSystem, type RunningPeer, type StartContext, type Tail } from './system.js';

const NODES = 3;
const CONSUME_BATCH = 1_000;
const START_TIMEOUT_MS = 30_000;
/** A PubAck may wait behind a whole chunk window on a loaded machine. */
const PUBLISH_TIMEOUT_MS = 30_000;

interface NatsNode {
  proc: ChildProcess;
  clientPort: number;
  log: string;
}

async function startNodes(group: ProcessGroup, dir: string): Promise<NatsNode[]> {
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < NODES; i++) {
    clientPorts.push(await freeLoopbackPort());
    routePorts.push(await freeLoopbackPort());
  }
  const routes = routePorts.map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ');
  const nodes: NatsNode[] = [];
  for (let i = 0; i < NODES; i++) {
    const name = `n${i + 1}`;
    const store = join(dir, name);
    await mkdir(store, { recursive: true });
    const log = join(dir, `${name}.log`);
    const conf = join(dir, `${name}.conf`);
    // JSON strings are valid NATS config strings (paths with quotes or backslashes stay intact).
    await writeFile(
      conf,
      [
        `server_name: ${JSON.stringify(name)}`,
        `listen: "127.0.0.1:${clientPorts[i]}"`,
        `log_file: ${JSON.stringify(log)}`,
        `jetstream { store_dir: ${JSON.stringify(store)}, max_memory_store: 268435456, max_file_store: 8589934592 }`,
        `cluster { name: "peers", listen: "127.0.0.1:${routePorts[i]}", routes: [${routes}] }`,
        '',
      ].join('\n'),
    );
    const proc = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'ignore'] });
    group.add(proc);
    proc.once('error', () => undefined);
    nodes.push({ proc, clientPort: clientPorts[i]!, log });
  }
  return nodes;
}

/** Connects once a server answers, then waits until JetStream can create a 3-replica stream. */
async function waitReady(nodes: NatsNode[]): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const servers = nodes.map((n) => `127.0.0.1:${n.clientPort}`);
  let lastError = 'no attempt';
  let nc: NatsConnection | null = null;
  try {
    while (Date.now() < deadline) {
      const dead = nodes.find((n) => !isRunning(n.proc));
      if (dead !== undefined) throw new Error(`nats-server exited with ${dead.proc.exitCode ?? dead.proc.signalCode} (is it on PATH? Debian: apt-get install nats-server; log: ${dead.log})`);
      try {
        nc ??= await connect({ servers, name: 'peers-bench', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
        const jsm = await nc.jetstreamManager({ timeout: 2_000 });
        await jsm.streams.add({ name: 'peers-ready', subjects: ['peers-ready.*'], storage: StorageType.File, num_replicas: NODES });
        await jsm.streams.delete('peers-ready');
        return { nc, jsm };
      } catch (err) {
        lastError = (err as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (err) {
    await nc?.close();
    throw err;
  }
  await nc?.close();
  throw new Error(`NATS JetStream cluster not ready within ${START_TIMEOUT_MS} ms: ${lastError}`);
}

function connectPeer(nodes: NatsNode[], nc: NatsConnection, jsm: JetStreamManager): RunningPeer {
  const js: JetStreamClient = nc.jetstream({ timeout: PUBLISH_TIMEOUT_MS });

  let consumers = 0;
  /**
   * A pull consumer on `stream` from `deliver`, handing each message's data to `onValue`, read
   * with consume() in pulls of CONSUME_BATCH. AckPolicy none and its state as one replica in
   * memory: no acks and nothing replicated for the reader, like a rill consumer that commits
   * nothing (nats.js's ordered consumer is configured the same way, but the 2.29 client's
   * ordered pull consumer never delivered against nats-server 2.9.10 here).
   */
  const pull = async (stream: string, deliver: DeliverPolicy, onValue: (value: Uint8Array) => void): Promise<{ stop: () => Promise<void>; failed: Promise<void> }> => {
    const durable = `reader-${++consumers}`;
    await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.None, deliver_policy: deliver, num_replicas: 1, mem_storage: true });
    const consumer = await js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: CONSUME_BATCH, callback: (m) => onValue(m.data) });
    const failed = latch();
    void messages.closed().then((err) => (err ? failed.reject(err) : undefined), failed.reject);
    failed.promise.catch(() => undefined);
    return {
      failed: failed.promise,
      stop: async () => {
        messages.stop();
        await jsm.consumers.delete(stream, durable).catch(() => undefined);
      },
    };
  };

  return {
    serverPids: () => nodes.flatMap((n) => (n.proc.pid === undefined ? [] : [n.proc.pid])),
    async createTopic(name) {
      await jsm.streams.add({ name, subjects: [`${name}.*`], storage: StorageType.File, num_replicas: NODES });
    },
    async deleteTopic(name) {
      await jsm.streams.delete(name);
    },
    async produceChunk(topic, values, firstIndex, signal) {
      if (signal.aborted) throw new Error('nats produce: time limit reached');
      const acks = new Array<Promise<unknown>>(values.length);
      for (let i = 0; i < values.length; i++) acks[i] = js.publish(`${topic}.${(firstIndex + i) % PARTITIONS}`, values[i]!);
      await Promise.all(acks);
    },
    async consume(topic, expected, onValue, signal) {
      let count = 0;
      const done = latch();
      const reader = await pull(topic, DeliverPolicy.All, (value) => {
        onValue(value);
        if (++count >= expected) done.resolve();
      });
      const onAbort = (): void => done.reject(new Error(`nats consume: time limit reached after ${count}/${expected} messages`));
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await Promise.race([done.promise, reader.failed]);
      } finally {
        signal.removeEventListener('abort', onAbort);
        await reader.stop();
      }
    },
    async tail(topic, onValue): Promise<Tail> {
      const reader = await pull(topic, DeliverPolicy.New, onValue);
      return { stop: reader.stop };
    },
    async sendOne(topic, value, index) {
      await js.publish(`${topic}.${index % PARTITIONS}`, value);
    },
    async stop() {
      await nc.close().catch(() => undefined);
      await Promise.all(nodes.map((n) => stopProcess(n.proc)));
    },
  };
}

export const natsJetStream: PeerSystem = {
  id: 'nats',
  label: 'NATS JetStream 3 nodes, R3, file',
  guarantee:
    'PubAck once the stream leader has the message stored on a quorum (2 of 3) of replicas; file storage, fsync on the server default interval (2 min), not per message',
  async start(ctx: StartContext): Promise<RunningPeer> {
    // The free ports are picked before nats-server binds them: if another process took one in
    // between, a node exits at once. One more try on new ports (and a fresh store) covers that.
    for (let attempt = 1; ; attempt++) {
      const nodes = await startNodes(ctx.group, join(ctx.dir, `try-${attempt}`));
      try {
        const { nc, jsm } = await waitReady(nodes);
        return connectPeer(nodes, nc, jsm);
      } catch (err) {
        await Promise.all(nodes.map((n) => stopProcess(n.proc)));
        if (attempt >= 2) throw err;
      }
    }
  },
};
