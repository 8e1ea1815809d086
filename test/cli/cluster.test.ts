/**
 * `rill cluster describe|elect-leaders`, `rill topics describe|create --replication-factor` as a
 * user runs them (child processes of dist/cli/main.js) against a real standalone broker, and
 * `rill cluster start`'s refusals: bad arguments, a busy port, etcd missing from PATH. The
 * running cluster itself is tested in cluster-start.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isOneLineError, rill } from '../integration/cli-run.js';
import { TestEnv } from '../integration/harness.js';

describe('rill cluster / topics against a standalone broker', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('cluster describe: the one broker, up and controller', async () => {
    const broker = await env.broker({ 'node.id': 5 });
    const r = await rill(['cluster', 'describe', '--brokers', `127.0.0.1:${broker.port}`]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`Cluster: ${broker.context.clusterId}  Controller: 5  Brokers: 1 up, 0 down`);
    expect(lines[1]).toMatch(/^ID\s+ADDRESS\s+RACK\s+CONTROLLER\s+STATUS$/);
    expect(lines[2]!.split(/\s+/)).toEqual(['5', `127.0.0.1:${broker.port}`, '-', 'yes', 'up']);
    expect(lines).toHaveLength(3);
  });

  it('topics create/describe: Kafka columns; a replication factor the cluster cannot give is one error line', async () => {
    const broker = await env.broker();
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    expect(await rill(['topics', 'create', 'rf', '--partitions', '2', '--replication-factor', '1', ...brokers])).toMatchObject({ code: 0, stdout: "created topic 'rf' with 2 partition(s)\n" });
    const r = await rill(['topics', 'describe', 'rf', ...brokers]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('Topic: rf  Partitions: 2  ReplicationFactor: 1  Configs: (defaults)');
    expect(lines[1]!.split(/\s+/)).toEqual(['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'OFFLINE', 'LOG-START-OFFSET', 'LOG-END-OFFSET', 'MESSAGES', 'STATUS']);
    // In sync: no marker in STATUS.
    expect(lines.slice(2).map((l) => l.trim().split(/\s+/))).toEqual([
      ['rf', '0', '0', '0', '0', '-', '0', '0', '0'],
      ['rf', '1', '0', '0', '0', '-', '0', '0', '0'],
    ]);
    const refused = await rill(['topics', 'create', 'rf3', '--replication-factor', '3', ...brokers]);
    expect(isOneLineError(refused)).toBe(true);
    expect(refused.stderr).toMatch(/^error: INVALID_REPLICATION_FACTOR: /);
  });

  it('cluster elect-leaders: not needed on a standalone broker; a missing partition fails with exit 1; bad flags are one line', async () => {
    const broker = await env.broker();
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    await rill(['topics', 'create', 'e', '--partitions', '2', ...brokers]);

    const one = await rill(['cluster', 'elect-leaders', '--topic', 'e', ...brokers]);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/))).toEqual([
      ['preferred', 'election:', '0', 'elected,', '2', 'not', 'needed,', '0', 'failed'],
      ['TOPIC', 'PARTITION', 'RESULT'],
      ['e', '0', 'not-needed'],
      ['e', '1', 'not-needed'],
    ]);
    const unclean = await rill(['cluster', 'elect-leaders', '--unclean', '--topic', 'e', '--partition', '1', ...brokers]);
    expect(unclean.code).toBe(0);
    expect(unclean.stdout).toMatch(/^unclean election: 0 elected, 1 not needed, 0 failed\n/);

    const missing = await rill(['cluster', 'elect-leaders', '--topic', 'e', '--partition', '9', ...brokers]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/e\s+9\s+failed: UNKNOWN_TOPIC_OR_PARTITION: /);
    expect(missing.stderr).toBe('error: 1 partition(s) got no new leader: e-9\n');

    for (const args of [
      ['--preferred', '--unclean'],
      ['--partition', '0'],
      ['--partition', 'x', '--topic', 'e'],
    ]) {
      const r = await rill(['cluster', 'elect-leaders', ...args, ...brokers]);
      expect(isOneLineError(r), `${args.join(' ')}: ${r.stderr}`).toBe(true);
    }
  });
});

describe('rill cluster start refuses before starting anything', () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'rill-cluster-cli-'));
    dirs.push(d);
    return d;
  };

  it('bad arguments: one line each, nothing written', async () => {
    const dataDir = join(await tempDir(), 'data');
    for (const [args, message] of [
      [['--brokers', '0'], /--brokers must be the number of brokers to start, 1 to 16/],
      [['--brokers', '17'], /1 to 16/],
      [['--brokers', 'h:1'], /--brokers is the number of brokers to start, got 'h:1'/],
      [['--brokers', '3', '--base-port', '65534'], /--base-port must leave room for 3 port\(s\) up to 65535/],
      [['--base-port', 'x'], /--base-port must be an integer >= 1/],
      [['--brokers', '2', '--base-port', '20000', '--etcd-port', '20001'], /must not overlap the brokers' ports 20000\.\.20001/],
    ] as Array<[string[], RegExp]>) {
      const r = await rill(['cluster', 'start', '--data-dir', dataDir, ...args]);
      expect(isOneLineError(r), `${args.join(' ')}: ${r.stderr}`).toBe(true);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a broker port in use is named', async () => {
    const server = createServer();
    servers.push(server);
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    const dataDir = join(await tempDir(), 'data');
    // Broker 2 of 2 gets the busy port.
    const r = await rill(['cluster', 'start', '--brokers', '2', '--base-port', String(port - 1), '--data-dir', dataDir]);
    expect(isOneLineError(r)).toBe(true);
    expect(r.stderr).toBe(`error: port ${port} on 127.0.0.1 is in use (broker 2); choose another --base-port\n`);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('without etcd on PATH: the one line saying how to install it', async () => {
    // An empty PATH directory: the CLI itself runs from process.execPath, not from PATH.
    const bin = await tempDir();
    const dataDir = join(await tempDir(), 'data');
    const r = await rill(['cluster', 'start', '--data-dir', dataDir], '', 20_000, { PATH: bin });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: etcd was not found on PATH: install it (Debian/Ubuntu: sudo apt-get install etcd-server) or put its directory on PATH\n');
    expect(r.stderr).toContain('apt-get install etcd-server');
    expect(existsSync(dataDir)).toBe(false);
  });
});
