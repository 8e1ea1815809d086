/**
 * min.insync.replicas=2 with two of three brokers SIGKILLed: an SDK acks=all send fails with the
 * typed NOT_ENOUGH_REPLICAS, acks=1 still works. Unclean leader election is off: once the last
 * ISR member is killed too, the partition stays offline (Metadata leader -1, a send fails with a
 * retriable error) even while a broker outside the ISR is back, until the ISR member returns;
 * then it serves with no acked record lost (acks=1 records acked by the lone leader included)
 * and the others catch up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import { ProcessCluster, expectAckedExactlyOnceInOrder, readAll, waitFor } from './cluster-process.js';

const TOPIC = 'mir';
const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 500 };

describe('min.insync.replicas and unclean election with brokers SIGKILLed', () => {
  const cluster = new ProcessCluster();
  beforeAll(async () => {
    await cluster.start(3);
  }, 40_000);
  afterAll(() => cluster.cleanup(), 30_000);

  it('refuses acks=all below min.insync.replicas, keeps acks=1, and keeps a partition with no live ISR member offline', async () => {
    const rill = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 });
    await rill.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }] });
    const start = await cluster.waitPartition(rill, TOPIC, 0, `${TOPIC}-0 fully in sync`, (d) => d.leader >= 0 && d.isr.length === 3);
    const leader = start.leader;
    const [outside1, outside2] = start.replicas.filter((r) => r !== leader) as [number, number];

    const acked: Array<{ key: string; value: string }> = [];
    const all = rill.producer({ acks: -1, idempotent: true, lingerMs: 0, retry: RETRY });
    for (let i = 0; i < 20; i++) {
      await all.send({ topic: TOPIC, messages: [{ key: 'k', value: `k:${i}`, partition: 0 }] });
      acked.push({ key: 'k', value: `k:${i}` });
    }

    await cluster.killAll([outside1, outside2]);
    await cluster.waitPartition(rill, TOPIC, 0, `the ISR of ${TOPIC}-0 shrunk to its leader`, (d) => d.leader === leader && d.isr.length === 1, 15_000);

    // acks=all: refused with the typed error once the SDK's (few) retries are spent.
    const strict = cluster.client({ retry: { retries: 2, initialBackoffMs: 50, maxBackoffMs: 100 } }, [leader]);
    const refused = await strict
      .producer({ acks: -1, idempotent: true, lingerMs: 0 })
      .send({ topic: TOPIC, messages: [{ key: 'k', value: 'refused', partition: 0 }] })
      .then(() => null, (err: unknown) => err);
    expect(refused).toBeInstanceOf(RillError);
    expect((refused as RillError).errorName).toBe('NOT_ENOUGH_REPLICAS');
    // acks=1 still works, on the lone leader.
    const one = strict.producer({ acks: 1, idempotent: false, lingerMs: 0 });
    for (let i = 20; i < 30; i++) {
      const [meta] = await one.send({ topic: TOPIC, messages: [{ key: 'k', value: `k:${i}`, partition: 0 }] });
      expect(meta!.offset).toBeGreaterThanOrEqual(20);
      acked.push({ key: 'k', value: `k:${i}` });
    }

    // The last ISR member goes too; a broker outside the ISR comes back: no unclean election.
    await cluster.kill(leader);
    await cluster.startBroker(outside1);
    const watcher = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 }, [outside1]);
    await cluster.waitPartition(watcher, TOPIC, 0, `${TOPIC}-0 offline`, (d) => d.leader === -1, 15_000);
    // Offline it stays: sampled for a few seconds (longer than a session timeout and an election).
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      const [d] = await cluster.partitions(watcher, TOPIC);
      expect(d!.leader, 'a replica outside the ISR was elected (unclean election is off)').toBe(-1);
      expect(d!.isr).toEqual([leader]);
      await new Promise((r) => setTimeout(r, 250));
    }

    // A send to the offline partition fails, after the retries, with a retriable typed error.
    const offline = await cluster
      .client({ retry: { retries: 2, initialBackoffMs: 50, maxBackoffMs: 100 }, requestTimeoutMs: 5000 }, [outside1])
      .producer({ acks: 1, idempotent: false, lingerMs: 0 })
      .send({ topic: TOPIC, messages: [{ key: 'k', value: 'offline', partition: 0 }] })
      .then(() => null, (err: unknown) => err);
    expect(offline).toBeInstanceOf(RillError);
    expect((offline as RillError).retriable, String(offline)).toBe(true);

    // The ISR member returns: it leads again, with everything acked, and the others catch up.
    await cluster.startBroker(leader);
    await cluster.startBroker(outside2);
    await cluster.waitPartition(watcher, TOPIC, 0, `${TOPIC}-0 led by broker ${leader} again`, (d) => d.leader === leader, 20_000);
    const records = await waitFor('a full read of the partition', async () => readAll(watcher, TOPIC).catch(() => undefined));
    expectAckedExactlyOnceInOrder(records, acked);
    expect(records.map((r) => r.value)).not.toContain('refused');
    expect(records.map((r) => r.value)).not.toContain('offline');
    await cluster.waitPartition(watcher, TOPIC, 0, `${TOPIC}-0 fully in sync again`, (d) => d.isr.length === 3, 20_000);
    // In sync again, acks=all is taken again (a fresh client: every port of the first one changed).
    const [meta] = await watcher.producer({ acks: -1, lingerMs: 0 }).send({ topic: TOPIC, messages: [{ key: 'k', value: 'k:30', partition: 0 }] });
    expect(meta!.offset).toBe(30);
  }, 90_000);
});
