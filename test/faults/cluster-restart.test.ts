/**
 * Whole-cluster restart: every broker SIGKILLed at once in the middle of an acks=all keyed
 * stream, then all restarted on their data dirs: every partition has a leader again, the ISRs
 * fill up, no acked record is lost or duplicated, per-key order holds, and acks=all works again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyedLoad, ProcessCluster, expectAckedExactlyOnceInOrder, readAll, waitFor } from './cluster-process.js';

const TOPIC = 'restart';
const PARTITIONS = 6;
const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 500 };

describe('every broker SIGKILLed at once, then restarted', () => {
  const cluster = new ProcessCluster();
  beforeAll(async () => {
    await cluster.start(3);
  }, 40_000);
  afterAll(() => cluster.cleanup(), 30_000);

  it('comes back with every partition led and no acked record lost', async () => {
    const rill = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 });
    await rill.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }] });
    for (let p = 0; p < PARTITIONS; p++) await cluster.waitPartition(rill, TOPIC, p, `${TOPIC}-${p} fully in sync`, (d) => d.leader >= 0 && d.isr.length === 3);

    // Few retries: after the kill the senders must give up soon (what they had in flight is unacked).
    const load = new KeyedLoad(rill.producer({ acks: -1, idempotent: true, lingerMs: 2, retry: { retries: 2, initialBackoffMs: 50, maxBackoffMs: 100 } }), TOPIC, 8, 1500);
    await load.ackedAtLeast(300);
    expect(load.errors.map((e) => e.message)).toEqual([]);
    await cluster.killAll([1, 2, 3]);
    await load.stop();
    const acked = [...load.acked];
    console.log(`all brokers SIGKILLed after ${acked.length} acked records`);

    for (const id of [1, 2, 3]) await cluster.startBroker(id);
    const after = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 });
    for (let p = 0; p < PARTITIONS; p++) {
      await cluster.waitPartition(after, TOPIC, p, `${TOPIC}-${p} led and in sync again`, (d) => d.leader >= 0 && d.isr.length === 3, 30_000);
    }
    const records = await waitFor('a full read of the topic', async () => readAll(after, TOPIC).catch(() => undefined));
    expectAckedExactlyOnceInOrder(records, acked);

    const producer = after.producer({ acks: -1, lingerMs: 0, retry: RETRY });
    for (let p = 0; p < PARTITIONS; p++) {
      const [meta] = await producer.send({ topic: TOPIC, messages: [{ value: `after-${p}`, partition: p }] });
      expect(meta!.offset).toBeGreaterThanOrEqual(0);
    }
  }, 90_000);
});
