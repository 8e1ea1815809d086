/**
 * The broker as a real child process (dist/broker/main.js; `npm test` builds it first through
 * `pretest`): SIGKILL in the middle of an acks=-1 produce stream to a flush.messages=1 topic,
 * restart on the same data dir, and every acknowledged batch is there, byte for byte, at its
 * acknowledged offset. And SIGTERM shuts down gracefully (exit 0, clean-shutdown marker).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_LENGTH_POS, LOG_OVERHEAD, encodeBatch, patchPartitionLeaderEpoch, readPartitionLeaderEpoch } from '../../protocol/record-batch.js';
import { RawClient } from '../helpers/raw-client.js';
import { Fixture, createTopic, fetchOnce } from '../broker/harness.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/broker/main.js');
const fx = new Fixture();
const children: ChildProcess[] = [];

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (\`npm test\` does, via pretest)`);
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await fx.cleanup();
});

interface BrokerProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

async function spawnBroker(dataDir: string): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [MAIN, '--data-dir', dataDir, '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`broker did not announce itself in 15 s; stderr: ${stderr}`)), 15_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const line = JSON.parse(out.slice(0, nl)) as { event: string; port: number };
      expect(line.event).toBe('listening');
      res(line.port);
    });
    void exited.then((e) => rej(new Error(`broker exited early (${e.code ?? e.signal}); stderr: ${stderr}`)));
  });
  return { child, port, exited, stderr: () => stderr };
}

/** Every batch of a partition, raw, keyed by base offset. */
async function rawBatches(client: RawClient, topic: string, partition: number): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  let offset = 0;
  for (;;) {
    const p = await fetchOnce(client, topic, partition, offset, { maxBytes: 4 << 20, partitionMaxBytes: 4 << 20 });
    expect(p.errorCode).toBe(0);
    const records = p.records as Buffer;
    if (records.length === 0) return out;
    let pos = 0;
    while (pos < records.length) {
      const size = LOG_OVERHEAD + records.readInt32BE(pos + BATCH_LENGTH_POS);
      const batch = records.subarray(pos, pos + size);
      const base = Number(batch.readBigInt64BE(0));
      out.set(base, Buffer.from(batch));
      offset = base + batch.readInt32BE(23) + 1;
      pos += size;
    }
    if (offset >= p.highWatermark) return out;
  }
}

describe('broker process faults', () => {
  it('kill -9 during an acks=-1 produce stream loses no acknowledged batch', async () => {
    const dataDir = await fx.tempDir();
    const first = await spawnBroker(dataDir);
    const client = await RawClient.connect(first.port);
    await client.request('ApiVersions', { clientId: 'kill9' });
    const partitions = 4;
    await createTopic(client, 'durable', partitions, { 'flush.messages': '1' });

    const acked: Array<{ partition: number; baseOffset: number; batch: Buffer }> = [];
    let sent = 0;
    let killed = false;
    const maxInFlight = 16;
    const deadline = Date.now() + 1500;
    const sendOne = async (): Promise<void> => {
      while (!killed && Date.now() < deadline) {
        const i = sent++;
        const partition = i % partitions;
        const batch = encodeBatch(
          Array.from({ length: 5 }, (_, j) => ({ key: `k${i}`, value: `batch-${i}-record-${j}-${'x'.repeat((i * 7 + j) % 200)}` })),
        );
        try {
          const r = await client.request('Produce', { acks: -1, timeoutMs: 5000, topics: [{ name: 'durable', partitions: [{ partition, records: batch }] }] });
          const p = r.topics[0]!.partitions[0]!;
          expect(p.errorCode).toBe(0);
          acked.push({ partition, baseOffset: p.baseOffset, batch });
        } catch {
          return; // the connection died with the broker
        }
        if (acked.length >= 300 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: maxInFlight }, sendOne));
    if (!killed) {
      killed = true;
      first.child.kill('SIGKILL');
    }
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    await client.close();
    console.log(`kill -9 after ${acked.length} acknowledged of ${sent} sent batches`);
    expect(acked.length).toBeGreaterThan(50);

    const second = await spawnBroker(dataDir);
    const reader = await RawClient.connect(second.port);
    const stored = new Map<number, Map<number, Buffer>>();
    for (let p = 0; p < partitions; p++) stored.set(p, await rawBatches(reader, 'durable', p));
    for (const a of acked) {
      const got = stored.get(a.partition)!.get(a.baseOffset);
      expect(got, `acked batch at durable-${a.partition}@${a.baseOffset} is missing`).toBeDefined();
      // Byte for byte, except what the broker patched in: baseOffset and partitionLeaderEpoch.
      expect(readPartitionLeaderEpoch(got!), `leader epoch of durable-${a.partition}@${a.baseOffset}`).toBe(0);
      patchPartitionLeaderEpoch(got!, 0, readPartitionLeaderEpoch(a.batch));
      expect(got!.subarray(8).equals(a.batch.subarray(8)), `batch at durable-${a.partition}@${a.baseOffset} differs`).toBe(true);
    }
    // The log takes new writes after recovery.
    const after = await reader.request('Produce', { acks: -1, timeoutMs: 5000, topics: [{ name: 'durable', partitions: [{ partition: 0, records: encodeBatch([{ value: 'after' }]) }] }] });
    expect(after.topics[0]!.partitions[0]!.errorCode).toBe(0);
    await reader.close();
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('SIGTERM shuts down gracefully: exit 0, clean-shutdown marker, data kept', async () => {
    const dataDir = await fx.tempDir();
    const broker = await spawnBroker(dataDir);
    const client = await RawClient.connect(broker.port);
    await createTopic(client, 't', 1);
    const r = await client.request('Produce', { acks: 1, timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partition: 0, records: encodeBatch([{ value: 'kept' }]) }] }] });
    expect(r.topics[0]!.partitions[0]!.errorCode).toBe(0);
    // A fetch parked at shutdown is answered, not dropped.
    const parked = fetchOnce(client, 't', 0, 1, { maxWaitMs: 30_000, minBytes: 1 });
    await new Promise((res) => setTimeout(res, 100));
    broker.child.kill('SIGTERM');
    expect((await parked).errorCode).toBe(0);
    const exit = await broker.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, '.rill-clean-shutdown'))).toBe(true);
    await client.close();

    const again = await spawnBroker(dataDir);
    const reader = await RawClient.connect(again.port);
    expect((await rawBatches(reader, 't', 0)).size).toBe(1);
    await reader.close();
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('exits 1 with one clear line when it cannot start', async () => {
    const dataDir = await fx.tempDir();
    const child = spawn(process.execPath, [MAIN, '--data-dir', dataDir, '--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual(['rill broker: cannot start: port: expected an integer, got "eighty"']);
  });
});
