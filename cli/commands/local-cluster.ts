/**
 * `rill cluster start`: a local development cluster in the foreground. One etcd (from PATH)
 * and N brokers, each a child process (`node <this cli> broker start --etcd ...`), node ids
 * 1..N on ports base..base+N-1, data in:
 *
 *   <data-dir>/cluster.json     {"clusterId":"<22 chars base64url>","etcdClientPort":P,"etcdPeerPort":Q}
 *                               UTF-8 JSON, written once (temp file + rename) on the first start
 *   <data-dir>/etcd/            etcd's own data dir
 *   <data-dir>/broker-<id>/     each broker's data dir
 *
 * so a second start on the same dir brings the same cluster back: same cluster id, same etcd
 * data and ports, same broker dirs. Every line a child writes is copied with a prefix,
 * `[etcd] ` or `[broker N] `, stdout to stdout and stderr to stderr; this supervisor's own
 * lines start with `[cluster] `.
 *
 * Children run in their own process groups, so a Ctrl-C in the terminal reaches only this
 * process, which then stops them in order: SIGTERM to every broker (each closes its logs and
 * leaves the cluster), SIGKILL to any still running after BROKER_STOP_TIMEOUT_MS, then etcd
 * the same way. A second SIGINT/SIGTERM within FORCE_GRACE_MS is ignored (terminals and
 * supervisors often send two); one after it kills every child at once. A child that dies on
 * its own is reported and the others keep going; once every broker is gone, etcd is stopped
 * and the command exits 1. If this process itself is killed with SIGKILL (nothing of it can run
 * then), its children stop by themselves: each has an IPC channel to it, which the kernel
 * closes, and local-cluster-watch.ts turns that into a SIGTERM of the broker, and of etcd a
 * few seconds later (etcd runs under that module as a small Node wrapper).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { WATCH_MODULE_PATH } from './local-cluster-watch.js';

export const MAX_LOCAL_BROKERS = 16;
const ETCD_HEALTHY_TIMEOUT_MS = 30_000;
const BROKER_STOP_TIMEOUT_MS = 20_000;
const ETCD_STOP_TIMEOUT_MS = 10_000;
const FORCE_GRACE_MS = 3_000;
const HOST = '127.0.0.1';

export interface LocalClusterOptions {
  brokers: number;
  basePort: number;
  dataDir: string;
  /** etcd's client port (its peer port is the next one); default: kept in cluster.json, chosen free at first start. */
  etcdPort?: number;
  /** Passed to every broker (`--log-level`). */
  logLevel: string;
  /** Extra broker configs for every broker (`--set key=value`). */
  set: string[];
  /** The `rill` script the brokers run (this CLI). */
  cliScript: string;
}

interface ClusterFile {
  clusterId: string;
  etcdClientPort: number;
  etcdPeerPort: number;
}

/** The one line `rill cluster start` prints when etcd is not installed. */
export const ETCD_MISSING_LINE = 'etcd was not found on PATH: install it (Debian/Ubuntu: sudo apt-get install etcd-server) or put its directory on PATH';

/** The absolute path of an executable on PATH, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Argument checks that need no I/O; throws one-line errors. */
export function checkLocalClusterOptions(o: Pick<LocalClusterOptions, 'brokers' | 'basePort' | 'etcdPort'>): void {
  if (!Number.isInteger(o.brokers) || o.brokers < 1 || o.brokers > MAX_LOCAL_BROKERS) {
    throw new Error(`--brokers must be the number of brokers to start, 1 to ${MAX_LOCAL_BROKERS}`);
  }
  if (!Number.isInteger(o.basePort) || o.basePort < 1 || o.basePort + o.brokers - 1 > 65535) {
    throw new Error(`--base-port must leave room for ${o.brokers} port(s) up to 65535, got ${o.basePort}`);
  }
  if (o.etcdPort !== undefined && (!Number.isInteger(o.etcdPort) || o.etcdPort < 1 || o.etcdPort > 65534)) {
    throw new Error(`--etcd-port must be 1 to 65534 (its peer port is the next one), got ${o.etcdPort}`);
  }
  const brokerPorts = new Set(Array.from({ length: o.brokers }, (_, i) => o.basePort + i));
  if (o.etcdPort !== undefined && (brokerPorts.has(o.etcdPort) || brokerPorts.has(o.etcdPort + 1))) {
    throw new Error(`--etcd-port ${o.etcdPort} (and ${o.etcdPort + 1}) must not overlap the brokers' ports ${o.basePort}..${o.basePort + o.brokers - 1}`);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, HOST, () => server.close(() => done(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no free port'))));
    });
  });
}

/** Reads `<dir>/cluster.json`, or creates it: the identity that makes a restart the same cluster. */
async function clusterFile(dataDir: string, etcdPort: number | undefined, brokerPorts: ReadonlySet<number>): Promise<ClusterFile> {
  const path = join(dataDir, 'cluster.json');
  let existing: ClusterFile | null = null;
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<ClusterFile>;
    if (typeof parsed.clusterId !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(parsed.clusterId) || !Number.isInteger(parsed.etcdClientPort) || !Number.isInteger(parsed.etcdPeerPort)) {
      throw new Error(`${path} is not a rill cluster file (clusterId, etcdClientPort, etcdPeerPort); move it away or use another --data-dir`);
    }
    existing = parsed as ClusterFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err instanceof SyntaxError ? new Error(`${path} is not valid JSON: ${err.message}`) : err;
  }
  const file: ClusterFile = existing ?? { clusterId: randomBytes(16).toString('base64url'), etcdClientPort: 0, etcdPeerPort: 0 };
  if (etcdPort !== undefined) {
    file.etcdClientPort = etcdPort;
    file.etcdPeerPort = etcdPort + 1;
  } else if (existing === null) {
    // Free ports rather than etcd's 2379/2380: a system etcd (Debian's etcd-server runs one) often holds those.
    do file.etcdClientPort = await freePort();
    while (brokerPorts.has(file.etcdClientPort));
    do file.etcdPeerPort = await freePort();
    while (brokerPorts.has(file.etcdPeerPort) || file.etcdPeerPort === file.etcdClientPort);
  }
  if (existing === null || existing.etcdClientPort !== file.etcdClientPort || existing.etcdPeerPort !== file.etcdPeerPort) {
    await writeFile(`${path}.tmp`, JSON.stringify(file) + '\n');
    await rename(`${path}.tmp`, path);
  }
  return file;
}

async function etcdHealthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Copies a child's lines to `out` with a prefix; pauses the child's pipe while `out` is full. */
function relay(from: Readable, out: Writable, prefix: string, onLine?: (line: string) => void): void {
  const lines = createInterface({ input: from, crlfDelay: Infinity });
  lines.on('line', (line) => {
    onLine?.(line);
    if (out.destroyed) return;
    if (!out.write(`${prefix}${line}\n`)) {
      lines.pause();
      out.once('drain', () => lines.resume());
    }
  });
}

/** SIGKILL to the child's whole process group: etcd's wrapper and etcd itself. */
function killGroup(m: Member): void {
  try {
    if (m.child.pid !== undefined) process.kill(-m.child.pid, 'SIGKILL');
  } catch {
    m.child.kill('SIGKILL'); // the group is gone already, or was never made
  }
}

interface Member {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  running: boolean;
}

export class LocalCluster {
  private readonly members: Member[] = [];
  private etcd: Member | null = null;
  private stopping: Promise<void> | null = null;
  private stopSinceMs = 0;
  private failed = false;
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code once everything has stopped. */
  readonly done = new Promise<number>((r) => (this.resolveDone = r));

  constructor(private readonly opts: LocalClusterOptions) {}

  private say(line: string, stream: Writable = process.stdout): void {
    if (!stream.destroyed) stream.write(`[cluster] ${line}\n`);
  }

  /**
   * Every child is a Node process with an IPC channel to this one (its end closes when this
   * process dies, however it dies: local-cluster-watch.ts), in its own process group.
   */
  private spawnMember(name: string, nodeArgs: string[], onStdoutLine?: (line: string) => void): Member {
    const child = spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true, env: { ...process.env, RILL_BROKERS: '', RILL_WATCH_PARENT: '1' } });
    child.channel?.unref(); // the channel is for the child to watch; it must not keep this process up
    const prefix = `[${name}] `;
    relay(child.stdout!, process.stdout, prefix, onStdoutLine);
    relay(child.stderr!, process.stderr, prefix);
    const member: Member = { name, child, running: true, exited: Promise.resolve() };
    member.exited = new Promise((done) => {
      child.once('error', (err) => {
        this.say(`${name} could not be started: ${err.message}`, process.stderr);
        member.running = false;
        done();
      });
      child.once('exit', (code, signal) => {
        member.running = false;
        if (this.stopping === null) this.memberDied(member, code, signal);
        done();
      });
    });
    return member;
  }

  private memberDied(m: Member, code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    this.failed = true;
    if (m === this.etcd) {
      this.say(`etcd ${how}: the brokers have lost the control plane (restart the cluster)`, process.stderr);
      return;
    }
    const left = this.members.filter((x) => x.running).length;
    if (left > 0) this.say(`${m.name} ${how}; ${left} broker(s) keep running`, process.stderr);
    else {
      this.say(`${m.name} ${how}; no broker is left, stopping etcd`, process.stderr);
      void this.stop();
    }
  }

  /** Starts etcd, waits until it is healthy, then starts the brokers. Throws one-line errors. */
  async start(): Promise<void> {
    const o = this.opts;
    checkLocalClusterOptions(o);
    const etcdBin = findOnPath('etcd');
    if (etcdBin === null) throw new Error(ETCD_MISSING_LINE);
    const dataDir = resolve(o.dataDir);
    const brokerPorts = new Set(Array.from({ length: o.brokers }, (_, i) => o.basePort + i));
    for (const port of brokerPorts) {
      if (!(await portFree(port))) throw new Error(`port ${port} on ${HOST} is in use (broker ${port - o.basePort + 1}); choose another --base-port`);
    }
    await mkdir(dataDir, { recursive: true });
    const file = await clusterFile(dataDir, o.etcdPort, brokerPorts);
    for (const port of [file.etcdClientPort, file.etcdPeerPort]) {
      if (brokerPorts.has(port)) throw new Error(`etcd's port ${port} (kept in ${join(dataDir, 'cluster.json')}) overlaps the brokers' ports; pass --etcd-port`);
      if (!(await portFree(port))) throw new Error(`etcd's port ${port} on ${HOST} is in use; stop what holds it or pass --etcd-port`);
    }
    const endpoint = `http://${HOST}:${file.etcdClientPort}`;
    const peer = `http://${HOST}:${file.etcdPeerPort}`;
    this.say(`cluster id ${file.clusterId}, data in ${dataDir}`);
    // prettier-ignore
    this.etcd = this.spawnMember('etcd', [WATCH_MODULE_PATH, etcdBin,
      '--name', 'rill', '--data-dir', join(dataDir, 'etcd'),
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `rill=${peer}`, '--initial-cluster-state', 'new',
      '--logger', 'zap', '--log-level', 'warn',
    ]);
    this.installSignals();
    const deadline = Date.now() + ETCD_HEALTHY_TIMEOUT_MS;
    while (!(await etcdHealthy(endpoint))) {
      const why = this.stopping !== null ? 'stopped by a signal before etcd was up'
        : !this.etcd.running ? 'etcd exited before it was healthy (its output is above, prefixed [etcd])'
        : Date.now() > deadline ? `etcd was not healthy at ${endpoint} within ${ETCD_HEALTHY_TIMEOUT_MS} ms`
        : null;
      if (why !== null) {
        await this.stop();
        throw new Error(why);
      }
      await sleep(100);
    }
    this.say(`etcd up at ${endpoint} (pid ${this.etcd.child.pid})`);

    const listening: Array<Promise<boolean>> = [];
    for (let id = 1; id <= o.brokers; id++) {
      const port = o.basePort + id - 1;
      let announce!: (ok: boolean) => void;
      listening.push(new Promise<boolean>((r) => (announce = r)));
      // prettier-ignore
      const args = [
        o.cliScript, 'broker', 'start', '--node-id', String(id), '--host', HOST, '--port', String(port),
        '--data-dir', join(dataDir, `broker-${id}`), '--etcd', endpoint, '--cluster-id', file.clusterId,
        '--log-level', o.logLevel, ...(o.set.length > 0 ? ['--set', ...o.set] : []),
      ];
      const member = this.spawnMember(`broker ${id}`, ['--import', pathToFileURL(WATCH_MODULE_PATH).href, ...args], (line) => {
        if (line.startsWith('{') && line.includes('"listening"')) announce(true);
      });
      void member.exited.then(() => announce(false));
      this.members.push(member);
    }
    const up = await Promise.all(listening);
    if (this.stopping !== null) return;
    const addresses = up.flatMap((ok, i) => (ok ? [`${HOST}:${o.basePort + i}`] : []));
    const pids = [this.etcd, ...this.members].map((m) => `${m.name.replace(' ', '-')}=${m.child.pid}`).join(' ');
    this.say(`${addresses.length} of ${o.brokers} broker(s) up; Ctrl-C stops them all (pids: ${pids})`);
    if (addresses.length > 0) this.say(`export RILL_BROKERS=${addresses.join(',')}`);
  }

  private installSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.stopping === null) {
        this.say(`${signal}: stopping the brokers, then etcd`);
        void this.stop();
      } else if (Date.now() - this.stopSinceMs >= FORCE_GRACE_MS) {
        this.say(`${signal} again: killing every child now`, process.stderr);
        this.failed = true;
        for (const m of [...this.members, this.etcd]) if (m?.running) killGroup(m);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Whatever ends this process, no child outlives it running (SIGKILL of this process aside).
    process.once('exit', () => {
      for (const m of [...this.members, this.etcd]) if (m?.running) killGroup(m);
    });
  }

  private static async stopMember(m: Member, timeoutMs: number): Promise<void> {
    if (!m.running) return;
    m.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)));
    if (await Promise.race([m.exited.then(() => false), late])) {
      process.stderr.write(`[cluster] ${m.name} did not stop within ${timeoutMs} ms: SIGKILL\n`);
      killGroup(m);
      await m.exited;
    }
    clearTimeout(timer);
  }

  /** Brokers first (in parallel), then etcd; resolves `done`. Safe to call more than once. */
  stop(): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.stopSinceMs = Date.now();
    this.stopping = (async () => {
      await Promise.all(this.members.map((m) => LocalCluster.stopMember(m, BROKER_STOP_TIMEOUT_MS)));
      if (this.etcd !== null) await LocalCluster.stopMember(this.etcd, ETCD_STOP_TIMEOUT_MS);
      this.say('stopped');
      this.resolveDone(this.failed ? 1 : 0);
    })();
    return this.stopping;
  }
}
