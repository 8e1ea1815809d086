/**
 * Controlled shutdown (controlled.shutdown.enable, the default) under load, brokers as child
 * processes: an idempotent keyed acks=all stream from the rill SDK while the broker leading the
 * most partitions gets SIGTERM. Its leaderships move to other ISR members while it still
 * answers (a Metadata request to the closing broker itself shows the new leaders), the
 * producer meets nothing but retried NOT_LEADER_OR_FOLLOWER (no refused connection, no
 * timeout), and every acked record is read back exactly once, in per-key order.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { KeyedLoad, ProcessCluster, expectAckedExactlyOnceInOrder, readAll, waitFor } from './cluster-process.js';

const TOPIC = 'orders';
const PARTITIONS = 6;
const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 500 };

/** A client logger at debug level that keeps the message of every batch retry the producer logs. */
function retryRecorder(): { logger: Logger; retries: string[] } {
  const retries: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line.includes('batch will be retried')) continue;
        retries.push(String((JSON.parse(line) as { err?: unknown }).err));
        if (process.env.DEBUG_RETRIES) console.log(Date.now(), line);
      }
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), retries };
}

describe('SIGTERM of a partition leader with controlled shutdown', () => {
  const cluster = new ProcessCluster({ 'controlled.shutdown.timeout.ms': '20000' });
  beforeAll(async () => {
    await cluster.start(3);
  }, 40_000);
  afterAll(() => cluster.cleanup(), 30_000);

  it('moves every leadership before the socket closes; the producer sees only retried NOT_LEADER_OR_FOLLOWER', async () => {
    const { logger, retries } = retryRecorder();
    const rill = cluster.client({ retry: RETRY, requestTimeoutMs: 5000, logger });
    await rill.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }] });
    for (let p = 0; p < PARTITIONS; p++) await cluster.waitPartition(rill, TOPIC, p, `${TOPIC}-${p} fully in sync`, (d) => d.leader >= 0 && d.isr.length === 3);

    const load = new KeyedLoad(rill.producer({ acks: -1, idempotent: true, lingerMs: 2, retry: RETRY }), TOPIC, 8, 1500);
    await load.ackedAtLeast(150);
    const before = await cluster.partitions(rill, TOPIC);
    const counts = new Map<number, number>();
    for (const d of before) counts.set(d.leader, (counts.get(d.leader) ?? 0) + 1);
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const victimPartitions = before.filter((d) => d.leader === victim).map((d) => d.partition);
    const b = cluster.brokers.get(victim)!;

    // Ask the closing broker itself, on a connection opened before the signal, until it says
    // that it leads none of its former partitions: proof that they moved while it served.
    const direct = await RawClient.connect(b.port);
    const termAt = Date.now();
    const retriesBefore = retries.length;
    if (process.env.DEBUG_RETRIES) console.log('term', termAt, victim, JSON.stringify(before));
    b.child.kill('SIGTERM');
    let movedWhileServing = false;
    let movedAfterMs = -1;
    while (!direct.isClosed && !movedWhileServing) {
      const md = await direct.request('Metadata', { topics: [TOPIC], allowAutoTopicCreation: false }).catch(() => null);
      if (md === null) break;
      const parts = md.topics[0]?.partitions ?? [];
      if (victimPartitions.every((p) => { const x = parts.find((y) => y.partition === p); return x !== undefined && x.leader >= 0 && x.leader !== victim; })) {
        movedWhileServing = true;
        movedAfterMs = Date.now() - termAt;
      }
    }
    await direct.close();
    const exit = await b.exited;
    cluster.brokers.delete(victim);
    console.log(`broker ${victim} (leader of ${victimPartitions.length} of ${PARTITIONS} partitions) SIGTERMed: it showed the new leaders itself after ${movedAfterMs} ms, exited after ${Date.now() - termAt} ms`);
    expect(exit.code, b.stderr()).toBe(0);
    expect(movedWhileServing, `broker ${victim} closed its socket before its Metadata showed the moved leaders`).toBe(true);

    // The new leaders came from the ISR, with newer epochs; the victim is out of every ISR.
    for (const p of victimPartitions) {
      const d = await cluster.waitPartition(rill, TOPIC, p, `a new leader of ${TOPIC}-${p}`, (x) => x.leader >= 0 && x.leader !== victim, 10_000);
      expect(before[p]!.isr).toContain(d.leader);
      expect(d.leaderEpoch).toBeGreaterThan(before[p]!.leaderEpoch);
    }
    const ackedAtTerm = load.acked.length;
    await load.ackedAtLeast(ackedAtTerm + 150);
    await load.stop();
    expect(load.errors.map((e) => e.message), cluster.logs()).toEqual([]);
    // Retries, if any, were all about leadership (no connection refused or reset, no timeout).
    // (The broker's NOT_LEADER_OR_FOLLOWER messages name the leadership, or say "not a replica".)
    const during = retries.slice(retriesBefore);
    expect(during.filter((m) => !/leader|not a replica/i.test(m)), 'retries for another reason than NOT_LEADER_OR_FOLLOWER').toEqual([]);
    console.log(`producer retries during the shutdown: ${during.length}: ${[...new Set(during)].join('; ')}`);

    expectAckedExactlyOnceInOrder(await readAll(rill, TOPIC), load.acked);
  }, 60_000);
});
