/**
 * Redis Streams in the peers benchmark: one `redis-server` (Debian's redis-server, from PATH) on
 * 127.0.0.1 with appendonly yes, appendfsync everysec, no RDB snapshots, its files in a temp dir.
 * A topic is one stream key (Redis has no partitions: one key is one ordered log on one node).
 * Client: the official `redis` package (node-redis 4), in the bench process, raw commands so
 * values stay Buffers both ways.
 *   produce  XADD key * v <value> per message, a whole chunk issued at once (node-redis pipelines
 *            the commands of one tick on its one connection), resolving on every reply
 *   consume  XREAD COUNT CONSUME_BATCH from 0-0 onward until every message was read
 *   tail     XREAD BLOCK on its own connection from the stream's last id at the start
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createClient, commandOptions } from 'redis';
import { freeLoopbackPort, isRunning, stopProcess } from '../processes.js';
import { type PeerSystem, type RunningPeer, type StartContext, type Tail } from './system.js';

const CONSUME_BATCH = 1_000;
const START_TIMEOUT_MS = 20_000;
const TAIL_BLOCK_MS = 100;
const BUFFERS = commandOptions({ returnBuffers: true });

type RedisClient = ReturnType<typeof createClient>;
/** XREAD's reply with buffers: [[key, [[id, [field, value, ...]], ...]]], or null when nothing came. */
type XReadReply = [Buffer, [Buffer, Buffer[]][]][] | null;

async function connectWhenUp(proc: ChildProcess, url: string, log: string): Promise<RedisClient> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError = 'no attempt';
  while (Date.now() < deadline) {
    if (!isRunning(proc)) throw new Error(`redis-server exited with ${proc.exitCode ?? proc.signalCode} (is it on PATH? Debian: apt-get install redis-server; log: ${log})`);
    // No reconnect loop inside the client: a failed attempt is retried here, bounded.
    const client: RedisClient = createClient({ url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (err) {
      lastError = (err as Error).message;
      await client.disconnect().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis-server did not answer on ${url} within ${START_TIMEOUT_MS} ms: ${lastError}`);
}

/** Calls onValue for every entry's value of an XREAD reply; returns the last id and the count. */
function eachEntry(reply: XReadReply, onValue: (value: Uint8Array) => void): { lastId: string | null; count: number } {
  if (reply === null || reply.length === 0) return { lastId: null, count: 0 };
  const entries = reply[0]![1];
  for (let i = 0; i < entries.length; i++) {
    const fields = entries[i]![1];
    // One field per entry: ['v', value].
    onValue(fields[1] ?? Buffer.alloc(0));
  }
  return { lastId: entries.length === 0 ? null : entries[entries.length - 1]![0].toString('latin1'), count: entries.length };
}

function connectPeer(proc: ChildProcess, client: RedisClient): RunningPeer {
  const key = (name: string): string => `peers:${name}`;
  return {
    serverPids: () => (proc.pid === undefined ? [] : [proc.pid]),
    async createTopic(name) {
      // A stream key comes into being with its first XADD: starting from no key is all it takes.
      await client.sendCommand(['DEL', key(name)]);
    },
    async deleteTopic(name) {
      await client.sendCommand(['DEL', key(name)]);
    },
    async produceChunk(topic, values, _firstIndex, signal) {
      if (signal.aborted) throw new Error('redis produce: time limit reached');
      const k = key(topic);
      const replies = new Array<Promise<unknown>>(values.length);
      for (let i = 0; i < values.length; i++) replies[i] = client.sendCommand(['XADD', k, '*', 'v', values[i]!]);
      await Promise.all(replies);
    },
    async consume(topic, expected, onValue, signal) {
      const k = key(topic);
      let lastId = '0-0';
      let count = 0;
      while (count < expected) {
        if (signal.aborted) throw new Error(`redis consume: time limit reached after ${count}/${expected} messages`);
        const reply = (await client.sendCommand(['XREAD', 'COUNT', String(CONSUME_BATCH), 'STREAMS', k, lastId], BUFFERS)) as XReadReply;
        const got = eachEntry(reply, onValue);
        if (got.lastId === null) throw new Error(`redis consume: stream ended after ${count}/${expected} messages`);
        lastId = got.lastId;
        count += got.count;
      }
    },
    async tail(topic, onValue): Promise<Tail> {
      const k = key(topic);
      const last = (await client.sendCommand(['XREVRANGE', k, '+', '-', 'COUNT', '1'], BUFFERS)) as [Buffer, Buffer[]][];
      let lastId = last.length > 0 ? last[0]![0].toString('latin1') : '0-0';
      // XREAD BLOCK holds its connection: the tail gets one of its own.
      const reader = client.duplicate();
      reader.on('error', () => undefined);
      await reader.connect();
      let running = true;
      const loop = (async () => {
        while (running) {
          const reply = (await reader.sendCommand(['XREAD', 'BLOCK', String(TAIL_BLOCK_MS), 'COUNT', String(CONSUME_BATCH), 'STREAMS', k, lastId], BUFFERS)) as XReadReply;
          lastId = eachEntry(reply, onValue).lastId ?? lastId;
        }
      })();
      loop.catch(() => undefined);
      return {
        stop: async () => {
          running = false;
          await loop.catch(() => undefined);
          await reader.quit().catch(() => undefined);
        },
      };
    },
    async sendOne(topic, value) {
      await client.sendCommand(['XADD', key(topic), '*', 'v', value]);
    },
    async stop() {
      await client.quit().catch(() => undefined);
      await stopProcess(proc);
    },
  };
}

export const redisStreams: PeerSystem = {
  id: 'redis',
  label: 'Redis Streams 1 node, AOF everysec',
  guarantee:
    'XADD replied once the one server applied it in memory and queued it for its append-only file, written before the reply and fsynced once a second; no replica (Redis replication is asynchronous)',
  async start(ctx: StartContext): Promise<RunningPeer> {
    // The free port is picked before redis-server binds it: one more try covers a port taken in between.
    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      const log = join(ctx.dir, `redis-${attempt}.log`);
      const proc = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', ctx.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--logfile', log, '--daemonize', 'no'],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      ctx.group.add(proc);
      proc.once('error', () => undefined);
      try {
        const client = await connectWhenUp(proc, `redis://127.0.0.1:${port}`, log);
        return connectPeer(proc, client);
      } catch (err) {
        await stopProcess(proc);
        if (attempt >= 2) throw err;
      }
    }
  },
};
