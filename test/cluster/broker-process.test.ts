/**
 * Brokers as child processes (`node dist/cli/main.js broker start --etcd ...`, as an operator and
 * the SIGKILL/SIGSTOP suites run them) form a cluster on a real etcd; a broker whose data dir
 * belongs to another cluster refuses to start with one line.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rill } from '../../client/index.js';
import { CLI, collect, spawnNode } from '../integration/cli-run.js';
import { testLogger } from '../integration/harness.js';
import { startEtcd, type EtcdProcess } from './etcd.js';

interface Running {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stderr: () => string;
}

function brokerArgs(etcd: string, nodeId: number, dataDir: string, clusterId: string): string[] {
  return ['broker', 'start', '--etcd', etcd, '--cluster-id', clusterId, '--node-id', String(nodeId), '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', '--set', 'broker.session.timeout.ms=1000'];
}

/** Starts a broker process and resolves with its port once it prints the "listening" line. */
async function startProcess(args: string[]): Promise<Running> {
  const child = spawnNode(CLI, args);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 20 s; stderr: ${stderr}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n').find((l) => l.includes('"listening"'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}: ${stderr}`));
    });
  });
  return { child, port, stderr: () => stderr };
}

describe('broker processes started with --etcd', () => {
  let etcd: EtcdProcess;
  const dirs: string[] = [];
  const running: Running[] = [];
  const clusterId = 'proc-cluster';

  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    for (const r of running) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill('SIGKILL');
        await once(r.child, 'exit');
      }
    }
    await etcd.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }, 30_000);

  it('form a cluster that serves an RF 2 topic, and stop on SIGTERM', async () => {
    for (const id of [1, 2]) {
      const dir = await mkdtemp(join(tmpdir(), 'rill-cluster-proc-'));
      dirs.push(dir);
      running.push(await startProcess(brokerArgs(etcd.endpoint, id, dir, clusterId)));
    }
    const rill = new Rill({ brokers: [`127.0.0.1:${running[1]!.port}`], clientId: 'proc-test', logger: testLogger });
    try {
      await rill.admin().createTopics({ topics: [{ topic: 'p', numPartitions: 2, replicationFactor: 2 }] });
      await rill.producer().send({ topic: 'p', messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
      const consumer = rill.consumer({ maxWaitMs: 100 });
      consumer.assign([0, 1].map((partition) => ({ topic: 'p', partition, offset: 'earliest' as const })));
      const got: string[] = [];
      for await (const m of consumer) {
        got.push(m.value!.toString());
        if (got.length === 10) break;
      }
      expect(got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`).sort());
    } finally {
      await rill.close();
    }
    const exits = running.map((r) => once(r.child, 'exit') as Promise<[number | null]>);
    for (const r of running) r.child.kill('SIGTERM');
    // Listeners attached before the signals: a child may exit while we await another.
    for (let i = 0; i < running.length; i++) {
      const [code] = await exits[i]!;
      expect(code, running[i]!.stderr()).toBe(0);
    }
  }, 60_000);

  it('refuses, with one line, a data dir that belongs to another cluster', async () => {
    const r = await collect(spawnNode(CLI, brokerArgs(etcd.endpoint, 1, dirs[0]!, 'other-cluster')), 'broker start');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^rill broker: cannot start: .*belongs to another cluster[^\n]*\n$/);
  }, 30_000);
});
