/**
 * Test helper: a real etcd child process on loopback. Free ports are found by binding port 0
 * (and retried when another process grabs one first); data lives in a temp dir removed on stop.
 * Heartbeat and election timeouts are small so that etcd grants 1-second leases (its minimum
 * TTL is 1.5 election timeouts, rounded up to a whole second) and expires them promptly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterStore } from '../../broker/cluster/store.js';

export interface EtcdProcess {
  endpoint: string;
  child: ChildProcess;
  /** A store for `clusterId` on this etcd (closed by stop()). */
  store(clusterId?: string): ClusterStore;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

async function startOnce(dataDir: string): Promise<EtcdProcess | null> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    'etcd',
    [
      '--name', 'test', '--data-dir', join(dataDir, 'etcd'),
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `test=${peer}`,
      '--heartbeat-interval', '50', '--election-timeout', '500',
      '--logger', 'zap', '--log-level', 'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !exited) {
    if (await healthy(endpoint)) {
      const stores: ClusterStore[] = [];
      return {
        endpoint,
        child,
        store(clusterId = 'test') {
          const s = new ClusterStore({ endpoints: [endpoint], clusterId });
          stores.push(s);
          return s;
        },
        async stop() {
          for (const s of stores) s.close();
          if (!exited) {
            const gone = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGKILL');
            await gone;
          }
        },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  if (/address already in use/i.test(stderr)) return null; // lost a port race: try other ports
  throw new Error(`etcd did not become healthy on ${endpoint}: ${stderr.slice(-1000)}`);
}

export async function startEtcd(): Promise<EtcdProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rill-etcd-'));
  for (let attempt = 0; attempt < 3; attempt++) {
    const etcd = await startOnce(dataDir).catch(async (err: unknown) => {
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    });
    if (etcd !== null) {
      return {
        ...etcd,
        async stop() {
          await etcd.stop();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    }
    await rm(join(dataDir, 'etcd'), { recursive: true, force: true });
  }
  await rm(dataDir, { recursive: true, force: true });
  throw new Error('etcd could not get free ports after 3 attempts');
}

/** Polls `check` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
