/**
 * Three brokers started with startBroker() on one real etcd form a cluster: placement, produce
 * with acks=all and consume through the leaders with the rill SDK, from any bootstrap broker.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumedMessage, Consumer, Rill } from '../../client/index.js';
import { ClusterEnv, type ClusterBroker } from './broker-harness.js';
import { waitFor } from './etcd.js';

async function take(consumer: Consumer, count: number): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  for await (const m of consumer) {
    out.push(m);
    if (out.length === count) break;
  }
  return out;
}

describe('a three-broker cluster', () => {
  const env = new ClusterEnv();
  let brokers: ClusterBroker[];

  beforeAll(async () => {
    await env.start();
    brokers = await env.brokersUp(3);
  }, 60_000);
  afterAll(() => env.cleanup(), 60_000);

  it('places 12 partitions with RF 3 evenly: 4 leaders and 12 replicas per broker', async () => {
    const rill = env.client([brokers[1]!.port]);
    await rill.admin().createTopics({ topics: [{ topic: 'placed', numPartitions: 12, replicationFactor: 3 }] });
    const rt = brokers[0]!.runtime;
    const leaders = new Map<number, number>();
    const replicas = new Map<number, number>();
    for (let p = 0; p < 12; p++) {
      const info = rt.partition('placed', p)!;
      expect(info.replicas).toHaveLength(3);
      expect(new Set(info.replicas).size).toBe(3);
      expect(info.isr.length).toBe(3);
      leaders.set(info.leader, (leaders.get(info.leader) ?? 0) + 1);
      for (const r of info.replicas) replicas.set(r, (replicas.get(r) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([4, 4, 4]);
    expect([...replicas.values()]).toEqual([12, 12, 12]);
    // Every broker answers Metadata for the whole cluster.
    for (const b of brokers) {
      await waitFor('the topic in every view', () => (b.runtime.topic('placed') !== undefined ? true : undefined));
      expect(b.runtime.liveBrokers().map((x) => x.nodeId)).toEqual([1, 2, 3]);
    }
  });

  it('produces with acks=all and consumes through the leaders, bootstrapping from any broker', async () => {
    const producerClient: Rill = env.client([brokers[2]!.port]);
    await producerClient.admin().createTopics({ topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 3 }] });
    const producer = producerClient.producer({ acks: -1 });
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 6}`, value: `v${i}` }));
    await producer.send({ topic: 'orders', messages: sent });

    const consumerClient = env.client([brokers[0]!.port]);
    const consumer = consumerClient.consumer({ maxWaitMs: 100 });
    consumer.assign([0, 1, 2].map((partition) => ({ topic: 'orders', partition, offset: 'earliest' as const })));
    const got = await take(consumer, 60);
    expect(got.map((m) => m.value!.toString()).sort()).toEqual(sent.map((m) => m.value).sort());
    // Per key, in send order.
    for (let k = 0; k < 6; k++) {
      const ofKey = got.filter((m) => m.key!.toString() === `k${k}`).map((m) => Number(m.value!.toString().slice(1)));
      expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
    }
    // Every replica holds every record (acks=all waited for the ISR).
    for (let p = 0; p < 3; p++) {
      const ends = brokers.map((b) => b.runtime.localLog('orders', p)!.logEndOffset);
      expect(new Set(ends).size).toBe(1);
    }
  });

  it('auto-creates a topic once when producers on two brokers race to it', async () => {
    const a = env.client([brokers[0]!.port]).producer({ acks: -1 });
    const b = env.client([brokers[1]!.port]).producer({ acks: -1 });
    await Promise.all([a.send({ topic: 'auto', messages: [{ value: 'from-a' }] }), b.send({ topic: 'auto', messages: [{ value: 'from-b' }] })]);
    const info = brokers[2]!.runtime.topic('auto')!;
    expect(info.partitions).toBe(3); // num.partitions
    for (const x of brokers) await waitFor('the mirror', () => x.context.topics.get('auto'));
  });

  it('deletes a topic from any broker: every replica\'s log goes', async () => {
    const rill = env.client([brokers[1]!.port]);
    await rill.admin().createTopics({ topics: [{ topic: 'doomed', numPartitions: 2, replicationFactor: 3 }] });
    await rill.producer().send({ topic: 'doomed', messages: [{ value: 'x', partition: 0 }] });
    await Promise.all(brokers.map((b) => waitFor('replicas', () => b.runtime.localLog('doomed', 1))));
    const dirs = brokers.map((b) => b.runtime.localLog('doomed', 0)!.dir);
    await rill.admin().deleteTopics({ topics: ['doomed'] });
    for (const b of brokers) {
      await waitFor('the logs deleted', () => (b.context.logs.get('doomed', 0) === undefined && b.context.logs.get('doomed', 1) === undefined ? true : undefined));
      await waitFor('the mirror', () => (b.context.topics.get('doomed') === undefined ? true : undefined));
    }
    for (const d of dirs) expect(existsSync(d)).toBe(false);
    expect(await rill.admin().listTopics()).not.toContain('doomed');
  });
});
