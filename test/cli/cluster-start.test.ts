/**
 * `rill cluster start --brokers 3` as an operator runs it: a child process (the compiled CLI)
 * that runs a real etcd and three real broker processes on free loopback ports and a temp data
 * dir; the admin commands against it; a broker killed under it; SIGINT stopping every child;
 * and a second start on the same dir bringing the same cluster, topic and records back.
 * Needs the cluster-broker wiring (`rill broker start --etcd ...`, wip/cluster-broker); before
 * that is merged every broker child refuses the --etcd flag and this fails.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, rill, type CliResult } from '../integration/cli-run.js';

const BROKERS = 3;

/** A base port with BROKERS free ports after it (checked by binding each). */
async function freeBasePort(): Promise<number> {
  const bindable = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let i = 0; i < BROKERS && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
  throw new Error('no run of free ports found');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A running `rill cluster start`, its output so far, and its pids once it has announced them. */
class Supervisor {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(args: string[]): Supervisor {
    return new Supervisor(spawn(process.execPath, [CLI, 'cluster', 'start', ...args], { env: { ...process.env, RILL_BROKERS: '', RILL_LOG_LEVEL: 'silent' }, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  async up(): Promise<Record<string, number>> {
    const line = await until('all brokers up', async () => {
      const m = /\[cluster\] (\d+) of (\d+) broker\(s\) up; Ctrl-C stops them all \(pids: ([^)]*)\)/.exec(this.stdout);
      if (m === null && this.child.exitCode !== null) throw new Error(`cluster start exited: ${this.stdout} ${this.stderr.slice(-3000)}`);
      return m ?? undefined;
    }, 90_000);
    expect(`${line[1]} of ${line[2]}`, this.stderr.slice(-3000)).toBe(`${BROKERS} of ${BROKERS}`);
    return Object.fromEntries(line[3]!.split(' ').map((kv) => [kv.split('=')[0]!, Number(kv.split('=')[1])]));
  }

  /** SIGINT, as Ctrl-C; resolves with the exit code (SIGKILL and fail after 60 s). */
  async interrupt(): Promise<number | null> {
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

describe('rill cluster start --brokers 3', () => {
  const supervisors: Supervisor[] = [];
  const pids: number[] = [];
  let dir = '';
  afterEach(async () => {
    for (const s of supervisors.splice(0)) if (s.child.exitCode === null) await s.interrupt();
    for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('runs etcd and 3 brokers; describe, create RF 3, elect; a dead broker is reported; SIGINT stops all; a restart brings it back', { timeout: 240_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'rill-cluster-start-'));
    const dataDir = join(dir, 'data');
    const base = await freeBasePort();
    const brokers = ['--brokers', Array.from({ length: BROKERS }, (_, i) => `127.0.0.1:${base + i}`).join(',')];
    const args = ['--brokers', String(BROKERS), '--base-port', String(base), '--data-dir', dataDir, '--log-level', 'warn', '--set', 'broker.session.timeout.ms=2000'];

    const first = Supervisor.start(args);
    supervisors.push(first);
    const firstPids = await first.up();
    pids.push(...Object.values(firstPids));
    expect(Object.keys(firstPids).sort()).toEqual(['broker-1', 'broker-2', 'broker-3', 'etcd']);
    const { clusterId } = JSON.parse(await readFile(join(dataDir, 'cluster.json'), 'utf8')) as { clusterId: string };
    expect(first.stdout).toContain(`[cluster] cluster id ${clusterId}, data in ${dataDir}`);
    expect(first.stdout).toContain(`[cluster] export RILL_BROKERS=${brokers[1]}`);
    // Each broker's listening line, prefixed.
    for (let id = 1; id <= BROKERS; id++) expect(first.stdout).toMatch(new RegExp(`\\[broker ${id}\\] \\{"event":"listening"`));

    // describe: 3 up, one controller.
    const described = await until('3 brokers and a controller', async () => {
      const r = await rill(['cluster', 'describe', ...brokers]);
      return r.code === 0 && /Brokers: 3 up, 0 down/.test(r.stdout) && / yes /.test(r.stdout) ? r : undefined;
    });
    expect(described.stdout.split('\n')[0]).toMatch(new RegExp(`^Cluster: ${clusterId}  Controller: [123]  Brokers: 3 up, 0 down$`));
    const rows = described.stdout.trim().split('\n').slice(2).map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => [r[0], r[1], r.at(-1)])).toEqual([1, 2, 3].map((id) => [String(id), `127.0.0.1:${base + id - 1}`, 'up']));

    // create RF 3, describe its columns once every replica is in sync.
    expect(await rill(['topics', 'create', 'orders', '--partitions', '3', '--replication-factor', '3', ...brokers])).toMatchObject({ code: 0, stdout: "created topic 'orders' with 3 partition(s)\n" });
    const topic = await until('orders fully in sync', async () => {
      const r = await rill(['topics', 'describe', 'orders', ...brokers]);
      return r.code === 0 && r.stdout.trim().split('\n').slice(2).every((l) => l.trim().split(/\s+/).length === 9) ? r : undefined;
    });
    const lines = topic.stdout.trim().split('\n');
    expect(lines[0]).toBe('Topic: orders  Partitions: 3  ReplicationFactor: 3  Configs: (defaults)');
    for (const l of lines.slice(2)) {
      const [name, , leader, replicas, isr, offline] = l.trim().split(/\s+/);
      expect(name).toBe('orders');
      expect(replicas!.split(',').sort()).toEqual(['1', '2', '3']);
      expect(isr!.split(',').sort()).toEqual(['1', '2', '3']);
      expect(replicas!.split(',')).toContain(leader);
      expect(offline).toBe('-');
    }
    const produced = await rill(['produce', 'orders', '--acks', 'all', '--key-separator', ':', ...brokers], 'a:1\nb:2\nc:3\nd:4\n', 30_000);
    expect(produced.code, produced.stderr).toBe(0);

    // Leaders start on the preferred replicas: nothing to elect.
    const elected = await rill(['cluster', 'elect-leaders', '--topic', 'orders', ...brokers]);
    expect(elected).toMatchObject({ code: 0, stderr: '' });
    expect(elected.stdout).toMatch(/^preferred election: 0 elected, 3 not needed, 0 failed\n/);

    // A broker that dies is reported; the others keep going and mark it down.
    process.kill(firstPids['broker-3']!, 'SIGKILL');
    await until('the supervisor to report broker 3', async () => (/\[cluster\] broker 3 killed by SIGKILL; 2 broker\(s\) keep running/.test(first.stderr) ? true : undefined));
    const down = await until('broker 3 down and its partitions under-replicated', async () => {
      const d = await rill(['cluster', 'describe', ...brokers]);
      const t = await rill(['topics', 'describe', 'orders', ...brokers]);
      return /Brokers: 2 up, 1 down/.test(d.stdout) && t.stdout.trim().split('\n').slice(2).every((l) => /under-replicated$/.test(l.trim())) ? { d, t } : undefined;
    });
    expect(down.d.stdout).toMatch(/\n3\s+-\s+-\s+down\n/);
    expect(first.child.exitCode).toBeNull();

    // SIGINT: brokers, then etcd; every child gone; exit 1 because a broker had died.
    expect(await first.interrupt()).toBe(1);
    expect(first.stdout).toContain('[cluster] SIGINT: stopping the brokers, then etcd');
    expect(first.stdout).toContain('[cluster] stopped');
    for (const pid of Object.values(firstPids)) expect(alive(pid)).toBe(false);

    // The same dir: the same cluster, topic and records.
    const second = Supervisor.start(args);
    supervisors.push(second);
    pids.push(...Object.values(await second.up()));
    expect(second.stdout).toContain(`[cluster] cluster id ${clusterId}, data in ${dataDir}`);
    const again = await until('orders back with 3 in-sync replicas', async () => {
      const r = await rill(['topics', 'describe', 'orders', ...brokers]);
      return r.code === 0 && r.stdout.trim().split('\n').slice(2).every((l) => l.trim().split(/\s+/).length === 9 && Number(l.trim().split(/\s+/)[7]) >= 0) ? r : undefined;
    }, 60_000);
    const messages = again.stdout.trim().split('\n').slice(2).reduce((n, l) => n + Number(l.trim().split(/\s+/)[8]), 0);
    expect(messages).toBe(4);
    const consumed: CliResult = await rill(['consume', 'orders', '--from-beginning', '--max-messages', '4', '--timeout-ms', '20000', ...brokers], '', 40_000);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout.trim().split('\n').sort()).toEqual(['1', '2', '3', '4']);
    expect(await second.interrupt()).toBe(0);
    expect(second.stderr).not.toMatch(/\[cluster\] broker \d (exited|killed)/);
  });
});
