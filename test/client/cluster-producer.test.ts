/**
 * The SDK producer against three in-process brokers on a real etcd (test/cluster/broker-harness.ts):
 * a keyed acks=all producer across a leader change loses, duplicates and reorders nothing; a
 * topic whose replicas are all down fails its sends with a retriable typed error while another
 * topic keeps flowing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumedMessage, Rill } from '../../client/index.js';
import { RillError } from '../../protocol/errors.js';
import { ClusterEnv, type ClusterBroker } from '../cluster/broker-harness.js';
import { waitFor } from '../cluster/etcd.js';

const RETRY = { retries: 30, initialBackoffMs: 50, maxBackoffMs: 300 };

function leaderOf(env: ClusterEnv, topic: string, partition: number): ClusterBroker | undefined {
  for (const b of env.brokers.values()) if (b.runtime.localRole(topic, partition).role === 'leader') return b;
  return undefined;
}

/** Every message of `topic` from offset 0 up to each partition's end, read by an assigned consumer. */
export async function readAll(rill: Rill, topic: string, partitions: number, expected: number): Promise<ConsumedMessage[]> {
  const consumer = rill.consumer({ maxWaitMs: 100, retry: RETRY });
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
  const out: ConsumedMessage[] = [];
  const it = consumer.iterate();
  const timer = setTimeout(() => void consumer.close(), 30_000);
  try {
    for await (const m of it) {
      out.push(m);
      if (out.length >= expected) break;
    }
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
  return out;
}

describe('producer in a cluster', () => {
  let env: ClusterEnv;
  afterEach(() => env.cleanup(), 60_000);

  it('keyed acks=all across a leader change: no loss, no duplicate, per-key order', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    await brokers[0]!.runtime.createTopic({ name: 'keyed', numPartitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    await waitFor('leaders of keyed', () => ([0, 1, 2].every((p) => leaderOf(env, 'keyed', p) !== undefined) ? true : undefined));
    const rill = env.client(brokers.map((b) => b.port));
    const producer = rill.producer({ acks: 'all', lingerMs: 2, retry: RETRY });
    const victim = leaderOf(env, 'keyed', 0)!;

    const KEYS = 12;
    const ROUNDS = 40;
    const acked: string[] = [];
    const failures: unknown[] = [];
    let closed: Promise<void> | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      // Each round: one record per key, in flight together; the round is awaited so a key's
      // records are produced in order (and the producer must keep that order across retries).
      const sends = Array.from({ length: KEYS }, (_, k) =>
        producer.send({ topic: 'keyed', messages: [{ key: `k${k}`, value: `k${k}:${round}` }] }).then(
          () => void acked.push(`k${k}:${round}`),
          (err: unknown) => void failures.push(err),
        ),
      );
      if (round === 10) closed = env.stop(victim.nodeId);
      await Promise.all(sends);
    }
    await closed;
    expect(failures).toEqual([]);
    expect(acked).toHaveLength(KEYS * ROUNDS);
    const moved = await waitFor('a new leader of keyed-0', () => leaderOf(env, 'keyed', 0));
    expect(moved.nodeId).not.toBe(victim.nodeId);

    const reader = env.client([...env.brokers.values()].map((b) => b.port));
    const read = await readAll(reader, 'keyed', 3, acked.length);
    const values = read.map((m) => m.value!.toString());
    // Exactly once: as many records as acked, and each acked value once.
    expect(values).toHaveLength(acked.length);
    expect(new Set(values).size).toBe(values.length);
    expect([...values].sort()).toEqual([...acked].sort());
    // Per key, in the order produced.
    const byKey = new Map<string, number[]>();
    for (const m of read) {
      const [key, round] = m.value!.toString().split(':');
      expect(m.key!.toString()).toBe(key);
      let list = byKey.get(key!);
      if (list === undefined) byKey.set(key!, (list = []));
      list.push(Number(round));
    }
    for (const rounds of byKey.values()) expect(rounds).toEqual(Array.from({ length: ROUNDS }, (_, i) => i));
  }, 90_000);

  it('NOT_ENOUGH_REPLICAS is retried with backoff: acked once the ISR is back, a typed retriable failure past deliveryTimeoutMs', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    await brokers[0]!.runtime.createTopic({ name: 'mir', numPartitions: 1, replicationFactor: 2, replicaAssignment: [[1, 2]], configs: { 'min.insync.replicas': '2' } });
    await waitFor('broker 1 leads mir-0', () => (leaderOf(env, 'mir', 0)?.nodeId === 1 ? true : undefined));
    const rill = env.client(brokers.map((b) => b.port));
    const patient = rill.producer({ acks: 'all', lingerMs: 0, retry: { retries: 1000, initialBackoffMs: 50, maxBackoffMs: 200 }, deliveryTimeoutMs: 30_000 });
    const hasty = rill.producer({ acks: 'all', lingerMs: 0, retry: { retries: 1000, initialBackoffMs: 50, maxBackoffMs: 200 }, deliveryTimeoutMs: 1_500 });
    await patient.send({ topic: 'mir', messages: [{ value: 'first' }] });
    await hasty.send({ topic: 'mir', messages: [{ value: 'hasty-first' }] });

    const dir2 = env.brokers.get(2)!.dataDir;
    await env.stop(2);
    await waitFor('the ISR shrinks to broker 1', () => (env.brokers.get(1)!.runtime.partition('mir', 0)!.isr.length === 1 ? true : undefined), 15_000);
    const started = Date.now();
    const waiting = patient.send({ topic: 'mir', messages: [{ value: 'second' }] });
    const err = await hasty.send({ topic: 'mir', messages: [{ value: 'never' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('NOT_ENOUGH_REPLICAS');
    expect((err as RillError).retriable).toBe(true);
    expect((err as RillError).message).toContain('deliveryTimeoutMs 1500 reached');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);

    // Broker 2 returns and rejoins the ISR: the patient producer's retry goes through.
    await env.broker(2, { dataDir: dir2 });
    const [second] = await waiting;
    expect(second!.offset).toBeGreaterThanOrEqual(2);
    const read = await readAll(env.client([...env.brokers.values()].map((b) => b.port)), 'mir', 1, 3);
    expect(read.map((m) => m.value!.toString())).toEqual(['first', 'hasty-first', 'second']);
  }, 90_000);

  it('a topic whose replicas are all down fails its sends with a retriable typed error while another topic keeps flowing', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    // 'lonely' lives only on broker 3; 'healthy' only on brokers 1 and 2.
    await brokers[0]!.runtime.createTopic({ name: 'lonely', numPartitions: 1, replicationFactor: 1, replicaAssignment: [[3]] });
    await brokers[0]!.runtime.createTopic({ name: 'healthy', numPartitions: 2, replicationFactor: 2, replicaAssignment: [[1, 2], [2, 1]] });
    await waitFor('leaders', () => (leaderOf(env, 'lonely', 0) !== undefined && leaderOf(env, 'healthy', 1) !== undefined ? true : undefined));
    const rill = env.client(brokers.map((b) => b.port));
    const producer = rill.producer({ acks: 'all', lingerMs: 0, retry: { retries: 6, initialBackoffMs: 50, maxBackoffMs: 200 } });
    await producer.send({ topic: 'lonely', messages: [{ value: 'before' }] });
    await producer.send({ topic: 'healthy', messages: [{ value: 'before' }] });

    await env.stop(3);
    const doomed = producer.send({ topic: 'lonely', messages: [{ value: 'never' }] }).then(
      () => null,
      (err: unknown) => err,
    );
    // While 'lonely' is retrying, 'healthy' keeps being acked.
    const flowing: number[] = [];
    for (let i = 0; i < 20; i++) {
      const [r] = await producer.send({ topic: 'healthy', messages: [{ key: `k${i}`, value: `v${i}` }] });
      flowing.push(r!.offset);
    }
    expect(flowing).toHaveLength(20);
    const err = await doomed;
    expect(err).toBeInstanceOf(RillError);
    const e = err as RillError;
    expect(e.retriable).toBe(true);
    expect(e.errorName).toBe('LEADER_NOT_AVAILABLE');
    expect(e.message).toContain('lonely[0] has no available leader');
    expect(e.topic).toBe('lonely');
    // And still flowing after the failure (no epoch bump or stuck state left behind).
    const [after] = await producer.send({ topic: 'healthy', messages: [{ value: 'after' }] });
    expect(after!.offset).toBeGreaterThanOrEqual(0);
  }, 90_000);
});
