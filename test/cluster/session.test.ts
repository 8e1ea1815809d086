import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/outside-tools.js';
import { startEtcd, waitFor, type EtcdProcess } from './etcd.js';
import { BrokerSession, DuplicateBrokerRegistrationError, type LeaseLost, type Registration } from '../../broker/cluster/session.js';
import { Records } from '../../broker/cluster/schemas.js';
import { brokerKey, CLUSTER_KEY } from '../../broker/cluster/keys.js';
import type { ClusterStore } from '../../broker/cluster/store.js';

const hasEtcd = requireTool('etcd');
const SESSION_JS = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/broker/cluster/index.js');
const CHILD_REGISTER = `
const { ClusterStore, BrokerSession } = await import(${JSON.stringify(SESSION_JS)});
const store = new ClusterStore({ endpoints: [process.argv[1]], clusterId: 'crash' });
const s = new BrokerSession({ store, nodeId: 1, endpoint: { host: '127.0.0.1', port: 9001, kafkaPort: null, rack: null }, sessionTimeoutMs: 1000 });
process.stdout.write(JSON.stringify(await s.start()) + '\\n');
setInterval(() => {}, 1000);
`;

function session(store: ClusterStore, nodeId: number, extra: Partial<ConstructorParameters<typeof BrokerSession>[0]> = {}): BrokerSession {
  return new BrokerSession({
    store,
    nodeId,
    endpoint: { host: '127.0.0.1', port: 9000 + nodeId, kafkaPort: null, rack: null },
    sessionTimeoutMs: 1000,
    reregisterBackoffMs: 100,
    ...extra,
  });
}

describe.skipIf(!hasEtcd)('broker session (real etcd)', () => {
  let etcd: EtcdProcess;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('creates the cluster key once and registers under a lease', async () => {
    const store = etcd.store('reg');
    const a = session(store, 1);
    const b = session(store, 2);
    const ra = await a.start();
    const first = await store.get(CLUSTER_KEY, Records.cluster);
    await b.start();
    const again = await store.get(CLUSTER_KEY, Records.cluster);
    expect(again?.value).toEqual(first?.value);
    expect(again?.createRevision).toBe(first?.createRevision);
    const reg = await store.get(brokerKey(1), Records.broker);
    expect(reg?.value).toMatchObject({ host: '127.0.0.1', port: 9001, incarnation: ra.incarnation });
    expect(reg?.lease).toBe(ra.leaseId);
    expect(reg?.createRevision).toBe(ra.brokerEpoch);
    expect(a.leaseAlive()).toBe(true);
    await a.close();
    await b.close();
    expect(await store.get(brokerKey(1), Records.broker)).toBeNull();
  });

  it('refuses a node id held by another live broker with one typed error', async () => {
    const store = etcd.store('dup');
    const a = session(store, 1);
    await a.start();
    const b = session(store, 1, { previousRegistrationWaitMs: 1500 });
    const err = await b.start().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateBrokerRegistrationError);
    expect((err as DuplicateBrokerRegistrationError).errorName).toBe('DUPLICATE_BROKER_REGISTRATION');
    expect(a.leaseAlive()).toBe(true);
    await a.close();
    await b.close();
  });

  it('takes over the id of a crashed broker once its lease expires', async () => {
    // A real process registers node id 1 and is killed with SIGKILL: no revoke, its lease runs out.
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_REGISTER, etcd.endpoint], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(d.toString()));
      child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const old = JSON.parse(line) as Registration;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const store = etcd.store('crash');
    expect((await store.get(brokerKey(1), Records.broker))?.value.incarnation).toBe(old.incarnation);
    const b = session(store, 1);
    const reg = await b.start();
    expect(reg.incarnation).not.toBe(old.incarnation);
    expect(reg.brokerEpoch).toBeGreaterThan(old.brokerEpoch);
    await b.close();
  });

  it('reports a lost lease at once and registers again with a new incarnation', async () => {
    const store = etcd.store('lost');
    const a = session(store, 3);
    const lost: LeaseLost[] = [];
    const registered: Registration[] = [];
    a.on('lease-lost', (e) => lost.push(e));
    const first = await a.start();
    a.on('registered', (r) => registered.push(r));
    // What etcd does when the lease expires: the lease and its keys go away.
    await store.client.leaseClient.leaseRevoke({ ID: first.leaseId });
    await waitFor('the lease-lost event', () => (lost.length > 0 ? true : undefined));
    expect(lost[0]!.registration.incarnation).toBe(first.incarnation);
    const second = await waitFor('re-registration', () => registered[0]);
    expect(second.incarnation).not.toBe(first.incarnation);
    expect(second.brokerEpoch).toBeGreaterThan(first.brokerEpoch);
    expect(a.leaseAlive()).toBe(true);
    const reg = await store.get(brokerKey(3), Records.broker);
    expect(reg?.value.incarnation).toBe(second.incarnation);
    await a.close();
  });
});

describe.skipIf(!hasEtcd)('broker session when etcd stops answering', () => {
  let etcd: EtcdProcess;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    etcd?.child.kill('SIGCONT');
    await etcd?.stop();
  });

  it('judges the lease lost on its own once keep-alives go unanswered for the TTL, and registers again when etcd is back', async () => {
    const store = etcd.store('paused');
    const a = session(store, 1);
    const lost: LeaseLost[] = [];
    a.on('lease-lost', (e) => lost.push(e));
    const first = await a.start();
    const registered: Registration[] = [];
    a.on('registered', (r) => registered.push(r));
    etcd.child.kill('SIGSTOP');
    try {
      await waitFor('the lease-lost event', () => lost[0]);
      expect(lost[0]!.reason).toMatch(/no keep-alive answered/);
      expect(a.leaseAlive()).toBe(false);
      expect(a.brokerEpoch()).toBeNull();
    } finally {
      etcd.child.kill('SIGCONT');
    }
    const second = await waitFor('re-registration', () => registered[0], 30_000);
    expect(second.incarnation).not.toBe(first.incarnation);
    expect(a.leaseAlive()).toBe(true);
    await a.close();
  }, 60_000);
});
