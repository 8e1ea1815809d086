/**
 * `rill cluster start` SIGKILLed: its children (two brokers, etcd's wrapper and etcd) notice
 * that their IPC channel to it closed (cli/commands/local-cluster-watch.ts) and stop by
 * themselves; after a bounded wait no process of the cluster is left. Processes are found the
 * way an operator would, by the cluster's data dir in their command lines (/proc).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../integration/cli-run.js';
import { requireTool } from '../helpers/outside-tools.js';
import { waitFor } from '../cluster/etcd.js';

const haveEtcd = requireTool('etcd');

/** Pids of every process whose command line mentions `needle`. */
async function processesMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) out.push(Number(name));
  }
  return out;
}

/** Two consecutive free loopback ports: an ephemeral one whose next port is free as well. */
async function twoFreePorts(): Promise<number> {
  const listen = (port: number) =>
    new Promise<number | null>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(null));
      s.listen(port, '127.0.0.1', () => {
        const bound = (s.address() as { port: number }).port;
        s.close(() => resolve(bound));
      });
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0);
    if (first !== null && first < 65535 && (await listen(first + 1)) !== null) return first;
  }
  throw new Error('no two consecutive free ports found');
}

describe.skipIf(!haveEtcd)('rill cluster start, SIGKILLed', () => {
  let dir = '';
  afterEach(async () => {
    if (dir === '') return;
    for (const pid of await processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves no child running', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rill-orphans-'));
    const dataDir = join(dir, 'data');
    const base = await twoFreePorts();
    const supervisor = spawn(process.execPath, [CLI, 'cluster', 'start', '--brokers', '2', '--base-port', String(base), '--data-dir', dataDir, '--log-level', 'warn', '--set', 'broker.session.timeout.ms=2000'], {
      env: { ...process.env, RILL_BROKERS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    supervisor.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    supervisor.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => supervisor.once('exit', () => r()));
    await waitFor('2 brokers up', () => (/\[cluster\] 2 of 2 broker\(s\) up/.test(stdout) ? true : undefined), 60_000).catch((err: Error) => {
      supervisor.kill('SIGKILL');
      throw new Error(`${err.message}\n${stdout}\n${stderr.slice(-3000)}`);
    });
    // Two brokers, etcd's wrapper and etcd itself; the supervisor names the dir too.
    const children = (await processesMentioning(dataDir)).filter((pid) => pid !== supervisor.pid);
    expect(children.length, stdout).toBe(4);

    const killedAt = Date.now();
    supervisor.kill('SIGKILL');
    await exited;
    const left = await waitFor('every child gone', async () => ((await processesMentioning(dataDir)).length === 0 ? true : undefined), 45_000).catch(async () => {
      const pids = await processesMentioning(dataDir);
      return Promise.all(pids.map(async (pid) => `${pid} ${(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').slice(0, 200)} ${(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')).split('\n').filter((l) => /^(State|PPid)/.test(l)).join(' ')}`));
    });
    expect(left, `processes still running 45 s after the supervisor was SIGKILLed: ${JSON.stringify(left)}`).toBe(true);
    console.log(`rill cluster start SIGKILLed: its 4 children were gone after ${Date.now() - killedAt} ms`);
    // The brokers stopped as on SIGTERM (logs closed, clean-shutdown marker written), not killed.
    for (const id of [1, 2]) expect((await readdir(join(dataDir, `broker-${id}`))).includes('.rill-clean-shutdown'), `broker ${id} clean shutdown`).toBe(true);
  }, 120_000);
});
