/**
 * Committed offsets survive a broker kill -9: the broker runs as a child process
 * (dist/broker/main.js, built by `npm test`'s pretest), is SIGKILLed after a commit and
 * restarted on the same port and data dir. The running group member reconnects, is told it is
 * unknown (membership lives in memory), drops its partitions without committing, rejoins, and
 * resumes exactly at the commits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GroupJoinEvent, RebalanceEvent } from '../../client/index.js';
import { committedOffsets, range } from './fixtures/group-helpers.js';
import { TestEnv, waitFor } from './harness.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/broker/main.js');

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (\`npm test\` does, via pretest)`);
});

interface BrokerProcess {
  child: ChildProcess;
  port: number;
}

describe('consumer group commits across a broker kill -9', () => {
  const env = new TestEnv();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    await env.cleanup();
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  async function spawnBroker(dataDir: string, configFile: string, port: number): Promise<BrokerProcess> {
    const child = spawn(process.execPath, [MAIN, '--data-dir', dataDir, '--port', String(port), '--config', configFile, '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const listening = await new Promise<number>((res, rej) => {
      let out = '';
      const timer = setTimeout(() => rej(new Error(`broker did not announce itself in 15 s; stderr: ${stderr}`)), 15_000);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        res((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      });
      child.once('exit', (code, signal) => rej(new Error(`broker exited early (${code ?? signal}); stderr: ${stderr}`)));
    });
    return { child, port: listening };
  }

  it('keeps committed offsets, and a running member rejoins and resumes exactly there', async () => {
    const dataDir = await env.tempDir('rill-groups-restart-');
    const configFile = join(await env.tempDir('rill-groups-restart-config-'), 'broker.json');
    await writeFile(configFile, JSON.stringify({ 'group.consumer.heartbeat.interval.ms': 100 }));
    const first = await spawnBroker(dataDir, configFile, 0);
    const rill = env.client(first.port, { retry: { retries: 30, initialBackoffMs: 20, maxBackoffMs: 300 } });
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 2 }] });
    const producer = rill.producer();
    for (const partition of [0, 1]) await producer.send({ topic: 't', messages: range(20).map((i) => ({ value: `m${i}`, partition })) });
    await producer.close();

    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, autoCommit: false, sessionTimeoutMs: 5_000, maxWaitMs: 100 });
    const joins: GroupJoinEvent[] = [];
    const lost: RebalanceEvent[] = [];
    consumer.on('group.join', (e) => joins.push(e));
    consumer.on('rebalance', (e) => e.lost && lost.push(e));
    await consumer.subscribe(['t']);
    const seen: Array<[number, number]> = [];
    const running = consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push([partition, message.offset]);
      },
    });
    await waitFor(() => seen.length === 40, 10_000, 'all 40 messages');
    await consumer.commit([
      { topic: 't', partition: 0, offset: 15 },
      { topic: 't', partition: 1, offset: 5 },
    ]);

    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    seen.length = 0;
    const second = await spawnBroker(dataDir, configFile, first.port);
    expect(second.port).toBe(first.port);
    expect(await committedOffsets(second.port, 'g', 't', [0, 1])).toEqual([15, 5]);

    // The member finds out it is unknown, drops everything uncommitted, rejoins and resumes.
    await waitFor(() => joins.length === 2 && seen.length === 20, 20_000, 'a rejoin and the 20 messages after the commits');
    expect(joins[1]!.memberId).toBe(joins[0]!.memberId);
    expect(lost.length).toBe(1);
    expect(lost[0]!.revoked.map((tp) => tp.partition).sort()).toEqual([0, 1]);
    const byPartition = (p: number): number[] => seen.filter(([q]) => q === p).map(([, o]) => o);
    expect(byPartition(0)).toEqual(range(5, 15));
    expect(byPartition(1)).toEqual(range(15, 5));
    // Nothing was committed on the way down.
    expect(await committedOffsets(second.port, 'g', 't', [0, 1])).toEqual([15, 5]);
    await consumer.stop();
    await running;
    await consumer.close();
  });
});
