/**
 * Failover under load, brokers as child processes: an idempotent acks=all producer sends a
 * bounded keyed stream while the leader of some partitions is SIGKILLed. A new leader from the
 * ISR takes over, every acked record is read back exactly once and in per-key order, and the
 * killed broker, restarted on its data dir, truncates its divergent tail, catches up, rejoins the
 * ISR and, made leader again, serves exactly the same records. A tail written with acks=1 to the
 * old leader alone (its followers SIGSTOPped for a moment) is gone once it returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyedLoad, ProcessCluster, expectAckedExactlyOnceInOrder, readAll, waitFor } from './cluster-process.js';

const TOPIC = 'orders';
const PARTITIONS = 6;
const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 500 };

describe('SIGKILL of a partition leader under an acks=all load', () => {
  const cluster = new ProcessCluster();
  beforeAll(async () => {
    await cluster.start(3);
  }, 40_000);
  afterAll(() => cluster.cleanup(), 30_000);

  it('fails over within the ISR with no acked loss, and the killed broker rejoins', async () => {
    const rill = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 });
    await rill.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }] });
    for (let p = 0; p < PARTITIONS; p++) await cluster.waitPartition(rill, TOPIC, p, `${TOPIC}-${p} fully in sync`, (d) => d.leader >= 0 && d.isr.length === 3);

    const load = new KeyedLoad(rill.producer({ acks: -1, idempotent: true, lingerMs: 2, retry: RETRY }), TOPIC, 8, 1500);
    await load.ackedAtLeast(150);
    const before = await cluster.partitions(rill, TOPIC);
    const victim = before[0]!.leader;
    const victimPartitions = before.filter((d) => d.leader === victim).map((d) => d.partition);
    const killedAt = Date.now();
    await cluster.kill(victim);
    const ackedAtKill = load.acked.length;

    // Every partition the victim led gets a new leader, from the ISR it had, with a newer epoch.
    for (const p of victimPartitions) {
      const d = await cluster.waitPartition(rill, TOPIC, p, `a new leader of ${TOPIC}-${p}`, (x) => x.leader >= 0 && x.leader !== victim, 10_000);
      expect(before[p]!.isr).toContain(d.leader);
      expect(d.leaderEpoch).toBeGreaterThan(before[p]!.leaderEpoch);
    }
    console.log(`broker ${victim} SIGKILLed: partitions ${victimPartitions.join(',')} had new leaders in Metadata after ${Date.now() - killedAt} ms`);
    // The stream goes on through the new leaders.
    await load.ackedAtLeast(ackedAtKill + 150);
    await load.stop();
    expect(load.errors.map((e) => e.message), cluster.logs()).toEqual([]);

    const first = await readAll(rill, TOPIC);
    expectAckedExactlyOnceInOrder(first, load.acked);

    // The victim comes back on its data dir and rejoins the ISR of every partition.
    await cluster.startBroker(victim);
    for (let p = 0; p < PARTITIONS; p++) {
      await cluster.waitPartition(rill, TOPIC, p, `broker ${victim} back in the ISR of ${TOPIC}-${p}`, (d) => d.isr.includes(victim) && d.isr.length === 3, 20_000);
    }
    // Made leader again (preferred election where it is the preferred replica, else nothing is
    // checked through it): it serves exactly what the others had, so its tail was truncated.
    const preferred = (await cluster.partitions(rill, TOPIC)).filter((d) => d.replicas[0] === victim).map((d) => d.partition);
    expect(preferred.length).toBeGreaterThan(0);
    await rill.admin().electLeaders({ partitions: [{ topic: TOPIC, partitions: preferred }] });
    for (const p of preferred) await cluster.waitPartition(rill, TOPIC, p, `broker ${victim} leading ${TOPIC}-${p} again`, (d) => d.leader === victim);
    const again = await waitFor('a full read through the returned leader', async () => readAll(rill, TOPIC).catch(() => undefined));
    const key = (r: { partition: number; offset: number; value: string }): string => `${r.partition}@${r.offset}=${r.value}`;
    expect(again.map(key).sort()).toEqual(first.map(key).sort());
  }, 90_000);

  it('a killed leader with a tail only it has truncates that tail when it returns', async () => {
    const rill = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 });
    const ids = [...cluster.brokers.keys()].sort((a, b) => a - b);
    await rill.admin().createTopics({ topics: [{ topic: 'diverge', replicaAssignment: [{ partition: 0, replicas: ids }] }] });
    const start = await cluster.waitPartition(rill, 'diverge', 0, 'diverge-0 fully in sync', (d) => d.leader === ids[0] && d.isr.length === 3);
    const leader = start.leader;
    const followers = ids.filter((id) => id !== leader);
    const all = rill.producer({ acks: -1, lingerMs: 0, retry: RETRY });
    const acked: Array<{ key: string; value: string }> = [];
    for (let i = 0; i < 10; i++) {
      await all.send({ topic: 'diverge', messages: [{ key: 'k', value: `k:${i}`, partition: 0 }] });
      acked.push({ key: 'k', value: `k:${i}` });
    }
    // The followers stopped (briefly, well within their sessions and the replica lag time), an
    // acks=1 write lands on the leader only; then the leader dies with it.
    for (const f of followers) cluster.pause(f);
    // A fetch they had parked at the leader would carry the write into their socket buffers:
    // let those expire (replica.fetch.wait.max.ms is 100) before writing.
    await new Promise((r) => setTimeout(r, 400));
    const one = cluster.client({ retry: { retries: 0 } }, [leader]).producer({ acks: 1, idempotent: false, lingerMs: 0 });
    const [tail] = await one.send({ topic: 'diverge', messages: [{ key: 'k', value: 'tail-only-on-the-old-leader', partition: 0 }] });
    expect(tail!.offset).toBe(10);
    await cluster.kill(leader);
    for (const f of followers) cluster.resume(f);

    const watcher = cluster.client({ retry: RETRY, requestTimeoutMs: 5000 }, followers);
    await cluster.waitPartition(watcher, 'diverge', 0, 'a new leader of diverge-0', (d) => d.leader >= 0 && d.leader !== leader, 15_000);
    const next = watcher.producer({ acks: -1, lingerMs: 0, retry: RETRY });
    for (let i = 10; i < 15; i++) {
      await next.send({ topic: 'diverge', messages: [{ key: 'k', value: `k:${i}`, partition: 0 }] });
      acked.push({ key: 'k', value: `k:${i}` });
    }
    // Back on its data dir, the old leader drops its tail, fetches k:10..k:14 and rejoins; led by
    // it again, the partition holds exactly the acked records at the new leader's offsets.
    await cluster.startBroker(leader);
    await cluster.waitPartition(watcher, 'diverge', 0, `broker ${leader} back in the ISR`, (d) => d.isr.length === 3, 20_000);
    await watcher.admin().electLeaders({ partitions: [{ topic: 'diverge', partitions: [0] }] });
    await cluster.waitPartition(watcher, 'diverge', 0, `broker ${leader} leading diverge-0 again`, (d) => d.leader === leader);
    const records = await waitFor('a full read through the returned leader', async () => readAll(watcher, 'diverge').catch(() => undefined));
    expect(records.map((r) => `${r.offset}=${r.value}`)).toEqual(acked.map((a, i) => `${i}=${a.value}`));
  }, 60_000);
});
