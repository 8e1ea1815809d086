/**
 * The controller's process is SIGKILLed: another broker takes over (DescribeCluster names a new
 * controller), elects new leaders for the partitions the dead one led, creates topics, and, once
 * the old controller is back as a plain broker, runs a preferred leader election that hands its
 * partitions back to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster, readAll, waitFor } from './cluster-process.js';

const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 500 };

describe('SIGKILL of the controller', () => {
  const cluster = new ProcessCluster();
  beforeAll(async () => {
    await cluster.start(3);
  }, 40_000);
  afterAll(() => cluster.cleanup(), 30_000);

  it('moves the controller, and topic creation and leader election keep working', async () => {
    const rill = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 });
    const { controllerId: first } = await waitFor('a controller', async () => {
      const d = await rill.admin().describeCluster();
      return d.controllerId >= 0 ? d : undefined;
    });
    await rill.admin().createTopics({ topics: [{ topic: 'before', numPartitions: 3, replicationFactor: 3 }] });
    for (let p = 0; p < 3; p++) await cluster.waitPartition(rill, 'before', p, `before-${p} fully in sync`, (d) => d.leader >= 0 && d.isr.length === 3);
    const led = (await cluster.partitions(rill, 'before')).filter((d) => d.leader === first).map((d) => d.partition);
    expect(led.length, 'round-robin placement gives every broker a partition to lead').toBeGreaterThan(0);

    await cluster.kill(first);
    const others = [...cluster.brokers.keys()];
    const watcher = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 }, others);
    const second = await waitFor(
      'a new controller',
      async () => {
        const d = await watcher.admin().describeCluster().catch(() => undefined);
        return d !== undefined && d.controllerId >= 0 && d.controllerId !== first ? d.controllerId : undefined;
      },
      15_000,
    );
    expect(others).toContain(second);

    // The new controller elected leaders for the dead controller's partitions.
    for (const p of led) await cluster.waitPartition(watcher, 'before', p, `a new leader of before-${p}`, (d) => d.leader >= 0 && d.leader !== first, 15_000);
    // It creates topics (on the two live brokers) that serve.
    await watcher.admin().createTopics({ topics: [{ topic: 'after', numPartitions: 4, replicationFactor: 2 }] });
    for (let p = 0; p < 4; p++) await cluster.waitPartition(watcher, 'after', p, `after-${p} led`, (d) => d.leader >= 0 && d.isr.length === 2);
    const producer = watcher.producer({ acks: -1, lingerMs: 0, retry: RETRY });
    const sent = Array.from({ length: 20 }, (_, i) => `a${i}`);
    for (const v of sent) await producer.send({ topic: 'after', messages: [{ key: v, value: v }] });
    for (const p of led) await producer.send({ topic: 'before', messages: [{ value: `b${p}`, partition: p }] });
    expect((await readAll(watcher, 'after')).map((r) => r.value).sort()).toEqual([...sent].sort());

    // The old controller returns as a broker; a preferred election gives its partitions back.
    await cluster.startBroker(first);
    for (const p of led) await cluster.waitPartition(watcher, 'before', p, `broker ${first} back in the ISR of before-${p}`, (d) => d.isr.includes(first), 20_000);
    const results = await watcher.admin().electLeaders({ partitions: [{ topic: 'before', partitions: led }] });
    expect(results.map((r) => r.error?.message ?? r.outcome)).toEqual(led.map(() => 'elected'));
    for (const p of led) await cluster.waitPartition(watcher, 'before', p, `broker ${first} leading before-${p} again`, (d) => d.leader === first);
    // The controller stays where it moved (no flapping back on return).
    expect((await watcher.admin().describeCluster()).controllerId).toBe(second);
  }, 90_000);
});
