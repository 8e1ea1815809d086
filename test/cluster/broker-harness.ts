/**
 * Test harness of the broker-cluster suites: one real etcd (etcd.ts), brokers started in this
 * process with `etcd.endpoints` (startBroker, port 0, temp data dirs), SDK clients, and cleanup
 * of all of it. Session timeouts are short (1 s) so failovers take about a second.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type BrokerHandle, type StartBrokerOptions } from '../../broker/index.js';
import type { ClusterRuntime } from '../../broker/cluster-runtime.js';
import { Rill, type RillConfig } from '../../client/index.js';
import { testLogger } from '../integration/harness.js';
import { startEtcd, type EtcdProcess } from './etcd.js';

export interface ClusterBroker extends BrokerHandle {
  nodeId: number;
  dataDir: string;
  runtime: ClusterRuntime;
}

export class ClusterEnv {
  etcd: EtcdProcess | null = null;
  readonly clusterId: string;
  private readonly dirs: string[] = [];
  readonly brokers = new Map<number, ClusterBroker>();
  private readonly clients: Rill[] = [];

  constructor(clusterId = `c${Math.random().toString(36).slice(2, 10)}`) {
    this.clusterId = clusterId;
  }

  async start(): Promise<this> {
    this.etcd = await startEtcd();
    return this;
  }

  async tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'rill-cluster-test-'));
    this.dirs.push(dir);
    return dir;
  }

  /** Starts broker `nodeId` (on `dataDir`, or a fresh temp dir) in the cluster. */
  async broker(nodeId: number, options: Partial<StartBrokerOptions> = {}): Promise<ClusterBroker> {
    const dataDir = options.dataDir ?? (await this.tempDir());
    const handle = await startBroker({
      host: '127.0.0.1',
      port: 0,
      logger: testLogger.child({ node: nodeId }),
      'node.id': nodeId,
      'etcd.endpoints': this.etcd!.endpoint,
      'cluster.id': this.clusterId,
      'broker.session.timeout.ms': 1000,
      'replica.fetch.wait.max.ms': 100,
      'replica.fetch.backoff.ms': 100,
      'replica.lag.time.max.ms': 2000,
      'auto.leader.rebalance.enable': false,
      ...options,
      dataDir,
    });
    const broker = Object.assign(handle, { nodeId, dataDir, runtime: handle.context.cluster as ClusterRuntime });
    this.brokers.set(nodeId, broker);
    return broker;
  }

  async brokersUp(count: number, options: Partial<StartBrokerOptions> = {}): Promise<ClusterBroker[]> {
    const out: ClusterBroker[] = [];
    // One at a time: registration order is then node id order (not required, just readable logs).
    for (let id = 1; id <= count; id++) out.push(await this.broker(id, options));
    return out;
  }

  async stop(nodeId: number): Promise<void> {
    const b = this.brokers.get(nodeId);
    if (b === undefined) return;
    this.brokers.delete(nodeId);
    await b.close();
  }

  client(ports: number[], config: Partial<RillConfig> = {}): Rill {
    const rill = new Rill({ brokers: ports.map((p) => `127.0.0.1:${p}`), clientId: 'cluster-test', logger: testLogger, ...config });
    this.clients.push(rill);
    return rill;
  }

  async cleanup(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.close().catch(() => undefined);
    await Promise.all([...this.brokers.values()].map((b) => b.close().catch(() => undefined)));
    this.brokers.clear();
    await this.etcd?.stop();
    this.etcd = null;
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}
