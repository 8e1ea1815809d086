/**
 * A leader paused (SIGSTOP) past its session timeout: the cluster elects another leader and keeps
 * taking acks=all writes; when the paused broker wakes (SIGCONT), a Produce sent straight to it
 * (on a connection opened before the pause, written before the SIGCONT, so it is among the first
 * things it reads) is not acknowledged, neither with acks=1 nor acks=all, and the cluster
 * converges: the woken broker is back in every ISR, nothing acked is lost, and what it was sent
 * on waking is not in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { batch } from '../broker/harness.js';
import { RawClient } from '../helpers/raw-client.js';
import { KeyedLoad, ProcessCluster, expectAckedExactlyOnceInOrder, readAll } from './cluster-process.js';

const TOPIC = 'paused';
const PARTITIONS = 3;
const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 500 };

/** The error code of a Produce of `value` to `partition` on `client`, or 'connection closed'. */
async function produceTo(client: RawClient, partition: number, value: string, acks: 1 | -1): Promise<number | string> {
  try {
    const r = await client.request('Produce', { acks, timeoutMs: 3000, topics: [{ name: TOPIC, partitions: [{ partition, records: batch([value]) }] }] });
    return r.topics[0]!.partitions[0]!.errorCode;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('SIGSTOP of a leader past its session timeout, then SIGCONT', () => {
  const cluster = new ProcessCluster();
  const raws: RawClient[] = [];
  beforeAll(async () => {
    await cluster.start(3);
  }, 40_000);
  afterAll(async () => {
    for (const r of raws) await r.close().catch(() => undefined);
    await cluster.cleanup();
  }, 30_000);

  it('does not acknowledge as the leader it no longer is, and the cluster converges with no acked loss', async () => {
    // Requests to the paused broker time out (its socket stays open): keep that short.
    const rill = cluster.client({ retry: RETRY, requestTimeoutMs: 2500 });
    await rill.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }] });
    for (let p = 0; p < PARTITIONS; p++) await cluster.waitPartition(rill, TOPIC, p, `${TOPIC}-${p} fully in sync`, (d) => d.leader >= 0 && d.isr.length === 3);

    const load = new KeyedLoad(rill.producer({ acks: -1, idempotent: true, lingerMs: 2, retry: RETRY }), TOPIC, 6, 1500);
    await load.ackedAtLeast(100);
    const before = await cluster.partitions(rill, TOPIC);
    const victim = before[0]!.leader;
    const led = before.filter((d) => d.leader === victim).map((d) => d.partition);
    const others = [...cluster.brokers.keys()].filter((id) => id !== victim);
    const raw1 = await RawClient.connect(cluster.brokers.get(victim)!.port);
    const rawAll = await RawClient.connect(cluster.brokers.get(victim)!.port);
    raws.push(raw1, rawAll);
    await raw1.request('ApiVersions', { clientId: 'pause-1' });
    await rawAll.request('ApiVersions', { clientId: 'pause-all' });

    cluster.pause(victim);
    const ackedAtPause = load.acked.length;
    // Watched through the live brokers only: the paused one answers nothing.
    const watcher = cluster.client({ retry: RETRY, requestTimeoutMs: 2500 }, others);
    for (const p of led) {
      const d = await cluster.waitPartition(watcher, TOPIC, p, `a new leader of ${TOPIC}-${p}`, (x) => x.leader >= 0 && x.leader !== victim, 15_000);
      expect(d.leaderEpoch).toBeGreaterThan(before[p]!.leaderEpoch);
    }
    await load.ackedAtLeast(ackedAtPause + 100);

    // Sent while it is still stopped, these wait in its socket buffers: woken, it reads them
    // before it can hear from etcd, and must refuse them (or never answer).
    const answers = Promise.all([produceTo(raw1, led[0]!, 'stale-acks1', 1), produceTo(rawAll, led[0]!, 'stale-acksall', -1)]);
    await new Promise((r) => setTimeout(r, 100));
    cluster.resume(victim);
    const [answer1, answerAll] = await answers;
    console.log(`woken broker ${victim} answered acks=1 with ${answer1}, acks=all with ${answerAll}`);
    expect(answer1, cluster.logs()).not.toBe(ErrorCode.NONE);
    expect(answerAll, cluster.logs()).not.toBe(ErrorCode.NONE);
    if (typeof answer1 === 'number') expect([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH]).toContain(answer1);

    // Converges: the woken broker follows, catches up and is back in every ISR.
    for (let p = 0; p < PARTITIONS; p++) {
      await cluster.waitPartition(rill, TOPIC, p, `broker ${victim} back in the ISR of ${TOPIC}-${p}`, (d) => d.leader >= 0 && d.isr.length === 3, 20_000);
    }
    await load.ackedAtLeast(load.acked.length + 50);
    await load.stop();
    expect(load.errors.map((e) => e.message), cluster.logs()).toEqual([]);
    const records = await readAll(rill, TOPIC);
    expectAckedExactlyOnceInOrder(
      records.filter((r) => !r.value.startsWith('stale-')),
      load.acked,
    );
    expect(records.filter((r) => r.value.startsWith('stale-')).map((r) => r.value)).toEqual([]);
  }, 90_000);
});
