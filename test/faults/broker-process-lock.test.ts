/**
 * The broker process (dist/broker/main.js and `rill broker start`; `npm run build` first) and
 * its data dir: a second broker on a locked dir is refused with one line naming the holder,
 * so the two-broker data loss of issue 7 cannot happen; SIGKILL of the holder frees the lock
 * at once; a busy port or a bad --log-level is one line and nothing on disk; and the signals:
 * a second SIGINT within the grace is ignored (the shutdown still ends clean), SIGQUIT or a
 * second signal after the grace forces an exit that leaves the data dir to recovery, with every
 * acknowledged record kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { realpath, writeFile } from 'node:fs/promises';
import { request as httpGet } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APIS } from '../../protocol/apis/index.js';
import { encodeRequestFrame } from '../../protocol/messages.js';
import { FORCE_EXIT_GRACE_MS } from '../../broker/process.js';
import { RawClient } from '../helpers/raw-client.js';
import { Fixture, batch, createTopic, produce, readAll } from '../broker/harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/broker/main.js');
const CLI = join(ROOT, 'dist/cli/main.js');
const fx = new Fixture();
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
const blockers: Server[] = [];

beforeAll(() => {
  for (const f of [MAIN, CLI]) if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first (\`npm test\` does, via pretest)`);
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of blockers.splice(0)) await new Promise((r) => s.close(r));
  await fx.cleanup();
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<Exit>;
  stderr: () => string;
  /** Resolves once stderr holds a pino line whose msg matches. */
  logged: (msg: RegExp) => Promise<void>;
}

function run(args: string[]): Proc {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  const watchers: Array<{ msg: RegExp; resolve: () => void }> = [];
  const check = (): void => {
    const msgs = stderr.split('\n').flatMap((l) => {
      try {
        return [String((JSON.parse(l) as { msg?: unknown }).msg)];
      } catch {
        return [];
      }
    });
    for (let i = watchers.length - 1; i >= 0; i--) {
      if (msgs.some((m) => watchers[i]!.msg.test(m))) watchers.splice(i, 1)[0]!.resolve();
    }
  };
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    check();
  });
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const logged = (msg: RegExp): Promise<void> =>
    new Promise((res, rej) => {
      watchers.push({ msg, resolve: res });
      check();
      void exited.then((e) => rej(new Error(`exited (${e.code ?? e.signal}) before logging ${msg}; stderr: ${stderr}`)));
    });
  return { child, exited, stderr: () => stderr, logged };
}

interface Broker extends Proc {
  port: number;
  metricsPort: number | null;
}

async function startBrokerProcess(dataDir: string, extra: string[] = [], logLevel = 'warn'): Promise<Broker> {
  const proc = run([MAIN, '--data-dir', dataDir, '--port', '0', '--log-level', logLevel, ...extra]);
  const line = await new Promise<{ port: number; metricsPort: number | null }>((res, rej) => {
    let out = '';
    proc.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) res(JSON.parse(out.slice(0, nl)));
    });
    void proc.exited.then((e) => rej(new Error(`broker exited early (${e.code ?? e.signal}); stderr: ${proc.stderr()}`)));
  });
  return { ...proc, port: line.port, metricsPort: line.metricsPort };
}

async function connectClient(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  sockets.push(client.socket);
  await client.request('ApiVersions', { clientId: 'lock-test' });
  return client;
}

async function busyPort(): Promise<number> {
  const s = createServer();
  blockers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

function lines(text: string): string[] {
  return text.trim().split('\n');
}

/** The workload: 100 lines, acks=all, each flushed (flush.messages=1), one per produce. */
async function produceLines(client: RawClient, topic: string, prefix: string): Promise<number[]> {
  const offsets: number[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await produce(client, topic, 0, batch([`${prefix}-${i}`]), -1);
    expect(r.errorCode).toBe(0);
    offsets.push(r.baseOffset);
  }
  return offsets;
}

async function metricValue(port: number, name: string): Promise<number> {
  const text = await new Promise<string>((res, rej) => {
    httpGet({ host: '127.0.0.1', port, path: '/metrics' }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => res(body));
    })
      .on('error', rej)
      .end();
  });
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

/**
 * Holds the broker's graceful shutdown open for as long as the test wants: a connection that
 * pipelines fetches of 8 MiB and never reads. With max.inflight.requests.per.connection=1 the
 * first response fills the socket buffers and the other fetches stay in flight, so
 * Connection.shutdown waits for them (shutdown.timeout.ms is 10 minutes in these tests).
 * Destroying the socket lets the shutdown go on.
 */
async function stallShutdown(broker: Broker, client: RawClient): Promise<Socket> {
  await createTopic(client, 'big', 1);
  for (let i = 0; i < 16; i++) expect((await produce(client, 'big', 0, batch(['x'.repeat(512 * 1024)]), -1)).errorCode).toBe(0);
  const pausesBefore = await metricValue(broker.metricsPort!, 'rill_connection_read_pauses_total');
  const staller = connect({ port: broker.port, host: '127.0.0.1' });
  sockets.push(staller);
  staller.pause();
  staller.on('error', () => undefined);
  await new Promise<void>((r) => staller.once('connect', () => r()));
  const fetch = {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 16 << 20,
    topics: [{ name: 'big', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 16 << 20 }] }],
  };
  // One write, so the broker reads every frame at once and holds all but the first in flight.
  staller.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeRequestFrame(APIS.Fetch.key, 0, i + 1, fetch))));
  // The broker stopped reading this connection at its in-flight bound: the frames are read.
  for (let i = 0; i < 5000 && (await metricValue(broker.metricsPort!, 'rill_connection_read_pauses_total')) <= pausesBefore; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(await metricValue(broker.metricsPort!, 'rill_connection_read_pauses_total')).toBeGreaterThan(pausesBefore);
  return staller;
}

async function stallingBroker(dataDir: string): Promise<Broker> {
  const configFile = join(dataDir, '..', `${Math.random().toString(36).slice(2)}-broker.json`);
  await writeFile(configFile, JSON.stringify({ 'max.inflight.requests.per.connection': 1, 'shutdown.timeout.ms': 600_000 }));
  return startBrokerProcess(dataDir, ['--config', configFile, '--metrics-port', '0'], 'info');
}

describe('one broker per data dir (processes)', () => {
  it('the two-broker scenario of issue 7: the second is refused with one line naming the holder, and nothing acked is lost', async () => {
    const dataDir = await fx.tempDir();
    const first = await startBrokerProcess(dataDir);
    const client = await connectClient(first.port);
    await createTopic(client, 'lines', 1, { 'flush.messages': '1' });

    for (const args of [[MAIN, '--data-dir', dataDir, '--port', '0'], [CLI, 'broker', 'start', '--data-dir', dataDir, '--port', '0']]) {
      const second = run(args);
      expect(await second.exited).toEqual({ code: 1, signal: null });
      expect(lines(second.stderr())).toEqual([
        `rill broker: cannot start: data dir ${await realpath(dataDir)} is locked by another broker (pid ${first.child.pid} on host ${hostname()}, port ${first.port})`,
      ]);
    }

    expect(await produceLines(client, 'lines', 'first')).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await client.close();
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, '.lock'))).toBe(false);

    const again = await startBrokerProcess(dataDir);
    const reader = await connectClient(again.port);
    expect((await readAll(reader, 'lines', 0)).map((r) => `${r.offset} ${r.value}`)).toEqual(Array.from({ length: 100 }, (_, i) => `${i} first-${i}`));
    await reader.close();
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('SIGKILL of the holder frees the lock at once: a new broker starts on the dir and has every acked record', async () => {
    const dataDir = await fx.tempDir();
    const first = await startBrokerProcess(dataDir);
    const client = await connectClient(first.port);
    await createTopic(client, 'lines', 1, { 'flush.messages': '1' });
    await produceLines(client, 'lines', 'k');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    await client.close();
    // The stale .lock is still there, naming the dead broker; it does not stand in the way.
    expect(existsSync(join(dataDir, '.lock'))).toBe(true);

    const second = await startBrokerProcess(dataDir);
    const reader = await connectClient(second.port);
    expect((await readAll(reader, 'lines', 0)).map((r) => r.value)).toEqual(Array.from({ length: 100 }, (_, i) => `k-${i}`));
    await reader.close();
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});

describe('start failures are one line', () => {
  it('a busy port: one line, exit 1, the data dir not created (main.js and the CLI)', async () => {
    const port = await busyPort();
    for (const [i, args] of [[MAIN], [CLI, 'broker', 'start']].entries()) {
      const dataDir = join(await fx.tempDir(), `never-${i}`);
      const p = run([...args, '--data-dir', dataDir, '--port', String(port)]);
      expect(await p.exited).toEqual({ code: 1, signal: null });
      expect(lines(p.stderr())).toEqual([`rill broker: cannot start: port: cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)`]);
      expect(existsSync(dataDir)).toBe(false);
    }
  });

  it('--log-level loud: one line naming the levels (main.js and the CLI)', async () => {
    for (const args of [[MAIN], [CLI, 'broker', 'start']]) {
      const dataDir = join(await fx.tempDir(), 'never');
      const p = run([...args, '--data-dir', dataDir, '--port', '0', '--log-level', 'loud']);
      expect(await p.exited).toEqual({ code: 1, signal: null });
      expect(lines(p.stderr())).toEqual(['rill broker: cannot start: --log-level: unknown level "loud"; the levels are fatal, error, warn, info, debug, trace, silent']);
      expect(existsSync(dataDir)).toBe(false);
    }
  });
});

describe('signals', () => {
  it('a second SIGINT during the graceful shutdown is ignored: the shutdown still ends clean', async () => {
    const dataDir = await fx.tempDir();
    const broker = await stallingBroker(dataDir);
    const client = await connectClient(broker.port);
    await createTopic(client, 'lines', 1, { 'flush.messages': '1' });
    await produceLines(client, 'lines', 'k');
    const staller = await stallShutdown(broker, client);

    broker.child.kill('SIGINT');
    await broker.logged(/^shutting down$/);
    broker.child.kill('SIGINT');
    await broker.logged(/^SIGINT ignored: graceful shutdown in progress/);
    expect(broker.child.exitCode).toBeNull();
    staller.destroy();
    expect(await broker.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, '.rill-clean-shutdown'))).toBe(true);

    const again = await startBrokerProcess(dataDir, [], 'info');
    await again.logged(/^logs opened$/);
    expect(again.stderr()).toContain('"cleanShutdown":true');
    expect(again.stderr()).not.toContain('recovering');
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('SIGQUIT mid-shutdown forces an exit without the marker; the next start recovers every acked record', async () => {
    const dataDir = await fx.tempDir();
    const broker = await stallingBroker(dataDir);
    const client = await connectClient(broker.port);
    await createTopic(client, 'lines', 1, { 'flush.messages': '1' });
    await produceLines(client, 'lines', 'k');
    await stallShutdown(broker, client);

    broker.child.kill('SIGINT');
    await broker.logged(/^shutting down$/);
    broker.child.kill('SIGQUIT');
    expect(await broker.exited).toEqual({ code: 1, signal: null });
    expect(broker.stderr()).toContain('forced exit');
    expect(existsSync(join(dataDir, '.rill-clean-shutdown'))).toBe(false);

    const again = await startBrokerProcess(dataDir);
    // stdout and stderr are separate pipes: wait for the line rather than assume it came first.
    await again.logged(/^no clean-shutdown marker: recovering/);
    const reader = await connectClient(again.port);
    expect((await readAll(reader, 'lines', 0)).map((r) => r.value)).toEqual(Array.from({ length: 100 }, (_, i) => `k-${i}`));
    await reader.close();
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it(`a second SIGINT after the ${FORCE_EXIT_GRACE_MS} ms grace forces the exit`, async () => {
    const dataDir = await fx.tempDir();
    const broker = await stallingBroker(dataDir);
    const client = await connectClient(broker.port);
    await stallShutdown(broker, client);

    broker.child.kill('SIGINT');
    await broker.logged(/^shutting down$/);
    await new Promise((r) => setTimeout(r, FORCE_EXIT_GRACE_MS + 200));
    broker.child.kill('SIGINT');
    expect(await broker.exited).toEqual({ code: 1, signal: null });
    expect(broker.stderr()).toContain('forced exit');
    expect(existsSync(join(dataDir, '.rill-clean-shutdown'))).toBe(false);
    // The kernel let the lock go with the process.
    const again = await startBrokerProcess(dataDir);
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });
});
