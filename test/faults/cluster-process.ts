/**
 * Harness of the cluster fault suites (test/faults/cluster-*.test.ts): one real etcd
 * (test/cluster/etcd.ts) and brokers as REAL child processes (`node dist/cli/main.js broker
 * start --etcd ...`), each on a data dir fixed per node id so that a SIGKILLed broker restarts
 * on what it left behind. Signals are real (SIGKILL, SIGSTOP, SIGCONT); leaders, ISRs and the
 * controller are learned as an operator would, through the SDK admin (Metadata,
 * DescribeCluster). Short session timeouts keep failovers around two seconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { expect } from 'vitest';
import { Rill, type Producer, type RillConfig } from '../../client/index.js';
import type { PartitionDescription } from '../../client/types.js';
import { CLI, spawnNode } from '../integration/cli-run.js';
import { testLogger } from '../integration/harness.js';
import { startEtcd, waitFor, type EtcdProcess } from '../cluster/etcd.js';

export { waitFor };

/** Broker settings of every suite: failover within ~2 s, followers fetching promptly. */
const BASE_SETTINGS: Record<string, string> = {
  'broker.session.timeout.ms': '2000',
  'replica.lag.time.max.ms': '3000',
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
  'auto.leader.rebalance.enable': 'false',
};

export interface BrokerProcess {
  nodeId: number;
  dataDir: string;
  child: ChildProcessWithoutNullStreams;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 8 KiB of its stderr (warnings and errors), for failure messages. */
  stderr: () => string;
}

function alive(b: BrokerProcess): boolean {
  return b.child.exitCode === null && b.child.signalCode === null;
}

export class ProcessCluster {
  etcd: EtcdProcess | null = null;
  readonly clusterId = `f${Math.random().toString(36).slice(2, 10)}`;
  /** Running (or paused) brokers by node id; a killed one is removed. */
  readonly brokers = new Map<number, BrokerProcess>();
  private readonly dataDirs = new Map<number, string>();
  private readonly clients: Rill[] = [];
  private readonly settings: Record<string, string>;

  constructor(settings: Record<string, string> = {}) {
    this.settings = { ...BASE_SETTINGS, ...settings };
  }

  async start(count: number): Promise<this> {
    this.etcd = await startEtcd();
    // One at a time: node 1 registers first and usually becomes the controller (readable logs).
    for (let id = 1; id <= count; id++) await this.startBroker(id);
    return this;
  }

  /** Starts broker `nodeId` on its data dir (created on first start) and waits for "listening". */
  async startBroker(nodeId: number): Promise<BrokerProcess> {
    if (this.brokers.has(nodeId)) throw new Error(`broker ${nodeId} is already running`);
    let dataDir = this.dataDirs.get(nodeId);
    if (dataDir === undefined) {
      dataDir = await mkdtemp(join(tmpdir(), `rill-fault-n${nodeId}-`));
      this.dataDirs.set(nodeId, dataDir);
    }
    const args = ['broker', 'start', '--etcd', this.etcd!.endpoint, '--cluster-id', this.clusterId, '--node-id', String(nodeId), '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'];
    for (const [k, v] of Object.entries(this.settings)) args.push('--set', `${k}=${v}`);
    const child = spawnNode(CLI, args);
    child.stdin.end();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`broker ${nodeId}: no "listening" line within 20 s; stderr: ${stderr}`));
      }, 20_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const line = stdout.split('\n').find((l) => l.includes('"listening"'));
        if (line === undefined) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
      void exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`broker ${nodeId} exited early (${e.code ?? e.signal}); stderr: ${stderr}`));
      });
    });
    const b: BrokerProcess = { nodeId, dataDir, child, port, exited, stderr: () => stderr };
    this.brokers.set(nodeId, b);
    return b;
  }

  /** SIGKILLs broker `nodeId` and waits until the process is gone. */
  async kill(nodeId: number): Promise<void> {
    const b = this.brokers.get(nodeId);
    if (b === undefined) throw new Error(`broker ${nodeId} is not running`);
    this.brokers.delete(nodeId);
    if (alive(b)) b.child.kill('SIGKILL');
    const exit = await b.exited;
    if (exit.signal !== 'SIGKILL') throw new Error(`broker ${nodeId} exited with ${exit.code ?? exit.signal} before the SIGKILL; stderr: ${b.stderr()}`);
  }

  /** SIGKILLs several brokers at once (all signals sent before any wait). */
  async killAll(nodeIds: number[]): Promise<void> {
    const bs = nodeIds.map((id) => this.brokers.get(id)!);
    for (const b of bs) b.child.kill('SIGKILL');
    await Promise.all(nodeIds.map((id) => this.kill(id)));
  }

  pause(nodeId: number): void {
    this.brokers.get(nodeId)!.child.kill('SIGSTOP');
  }

  resume(nodeId: number): void {
    this.brokers.get(nodeId)!.child.kill('SIGCONT');
  }

  /** An SDK client bootstrapping from every running broker (or the given ones). */
  client(config: Partial<RillConfig> = {}, nodeIds?: number[]): Rill {
    const ports = (nodeIds ?? [...this.brokers.keys()]).map((id) => this.brokers.get(id)!.port);
    const rill = new Rill({ brokers: ports.map((p) => `127.0.0.1:${p}`), clientId: 'cluster-faults', logger: testLogger, ...config });
    this.clients.push(rill);
    return rill;
  }

  /** Every partition of `topic` as Metadata reports it now, by partition number. */
  async partitions(rill: Rill, topic: string): Promise<PartitionDescription[]> {
    const [t] = await rill.admin().describeTopics({ topics: [topic], includeOffsets: false });
    return [...t!.partitions].sort((a, b) => a.partition - b.partition);
  }

  /** Polls Metadata until `check` accepts partition `partition` of `topic`; returns it. */
  async waitPartition(rill: Rill, topic: string, partition: number, what: string, check: (p: PartitionDescription) => boolean, timeoutMs = 20_000): Promise<PartitionDescription> {
    return waitFor(
      what,
      async () => {
        const p = (await this.partitions(rill, topic).catch(() => [])).find((x) => x.partition === partition);
        return p !== undefined && check(p) ? p : undefined;
      },
      timeoutMs,
    );
  }

  /** Stderr tails of every broker, for a failing assertion's message. */
  logs(): string {
    return [...this.brokers.values()].map((b) => `--- broker ${b.nodeId}:\n${b.stderr()}`).join('\n');
  }

  async cleanup(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.close().catch(() => undefined);
    for (const b of this.brokers.values()) b.child.kill('SIGKILL'); // a stopped process dies of it too
    await Promise.all([...this.brokers.values()].map((b) => b.exited));
    this.brokers.clear();
    await this.etcd?.stop();
    this.etcd = null;
    for (const d of this.dataDirs.values()) await rm(d, { recursive: true, force: true });
    this.dataDirs.clear();
  }
}

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

/**
 * Reads every record of `topic` below each partition's high watermark (as ListOffsets reports it
 * now), from the earliest offset. Reading to the watermark rather than to an expected count is
 * what lets a caller see duplicates and records nobody acked.
 */
export async function readAll(rill: Rill, topic: string, timeoutMs = 20_000): Promise<ReadRecord[]> {
  const [t] = await rill.admin().describeTopics({ topics: [topic] });
  const ends = new Map(t!.partitions.map((p) => [p.partition, p.logEndOffset]));
  for (const [p, end] of ends) if (end < 0) throw new Error(`${topic}-${p} has no leader: cannot read it`);
  const remaining = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  const out: ReadRecord[] = [];
  if (remaining.size === 0) return out;
  const consumer = rill.consumer({ maxWaitMs: 100 });
  consumer.assign([...remaining].map((partition) => ({ topic, partition, offset: 'earliest' as const })));
  const timer = setTimeout(() => void consumer.close(), timeoutMs);
  try {
    for await (const m of consumer) {
      out.push({ partition: m.partition, offset: m.offset, key: m.key?.toString() ?? '', value: m.value?.toString() ?? '' });
      if (m.offset + 1 >= ends.get(m.partition)!) remaining.delete(m.partition);
      if (remaining.size === 0) break;
    }
  } finally {
    clearTimeout(timer);
    await consumer.close().catch(() => undefined);
  }
  if (remaining.size > 0) throw new Error(`${topic}: partitions ${[...remaining].join(',')} not read to their high watermark within ${timeoutMs} ms`);
  return out;
}

/** Values of `records` grouped by key, in (partition, offset) order: a key lives on one partition. */
export function byKey(records: ReadRecord[]): Map<string, string[]> {
  const sorted = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const out = new Map<string, string[]>();
  for (const r of sorted) {
    const list = out.get(r.key) ?? [];
    list.push(r.value);
    out.set(r.key, list);
  }
  return out;
}

/**
 * A bounded keyed produce stream: one sender per key, each awaiting its send before the next,
 * so a key's records are sent in order and `acked` holds exactly what the cluster acknowledged.
 * Values are `<key>:<seq>`. A failed send stops its key's sender (its fate is unknown) and is kept
 * in `errors`.
 */
export class KeyedLoad {
  readonly acked: Array<{ key: string; value: string }> = [];
  readonly errors: Error[] = [];
  private stopped = false;
  private readonly running: Promise<void>[] = [];

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    keys: number,
    maxPerKey = 2000,
  ) {
    for (let k = 0; k < keys; k++) this.running.push(this.sender(`k${k}`, maxPerKey));
  }

  private async sender(key: string, maxPerKey: number): Promise<void> {
    for (let seq = 0; !this.stopped && seq < maxPerKey; seq++) {
      const value = `${key}:${seq}`;
      try {
        await this.producer.send({ topic: this.topic, messages: [{ key, value }] });
      } catch (err) {
        this.errors.push(err as Error);
        return;
      }
      this.acked.push({ key, value });
    }
  }

  /** Resolves once `n` records in total are acked; throws after `timeoutMs` or when every sender stopped short. */
  async ackedAtLeast(n: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${n} acked records (have ${this.acked.length}; errors: ${this.errors.map((e) => e.message).join('; ')})`, () => (this.acked.length >= n ? true : undefined), timeoutMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }
}

/**
 * The durability promise of acks=all: every acked record is in `records` exactly once, no record
 * appears twice (idempotence across retries and leader changes), and each key's records are in
 * send order.
 */
export function expectAckedExactlyOnceInOrder(records: ReadRecord[], acked: ReadonlyArray<{ key: string; value: string }>): void {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  expect(duplicated, 'records written twice').toEqual([]);
  const missing = acked.filter((a) => !counts.has(a.value)).map((a) => a.value);
  expect(missing, `acked records lost (${missing.length} of ${acked.length})`).toEqual([]);
  for (const [key, values] of byKey(records)) {
    const seqs = values.map((v) => Number(v.slice(v.indexOf(':') + 1)));
    const outOfOrder = seqs.filter((s, i) => i > 0 && s <= seqs[i - 1]!);
    expect(outOfOrder, `records of ${key} out of send order`).toEqual([]);
  }
}
