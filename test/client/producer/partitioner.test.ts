import { afterEach, describe, expect, it } from 'vitest';
import { DefaultPartitioner } from '../../../client/producer/partitioner.js';
import { TestEnv } from '../../integration/harness.js';

/** Deterministic "random" numbers for the sticky choice. */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('DefaultPartitioner', () => {
  // Hashes from Kafka's UtilsTest.testMurmur2 / KafkaJS's Java-compatible vectors; the
  // partition is Java's toPositive(murmur2(key)) % n.
  it.each([
    ['foobar', -790332482, 10],
    ['abc', 479470107, 6],
    ['21', -973932308, 32],
    ['0', 971027396, 3],
    ['100:48069', 1009543857, 10],
  ])('places key %j where the Java client does (hash %d, %d partitions)', (key, hash, n) => {
    const p = new DefaultPartitioner();
    const expected = (hash & 0x7fffffff) % n;
    expect(p.partition('t', Buffer.from(key), n)).toBe(expected);
    // Keys never stick: the same key maps the same way whatever happened before.
    p.batchClosed('t', expected, n);
    expect(p.partition('t', Buffer.from(key), n)).toBe(expected);
  });

  it('sticks null keys to one partition until its batch closes, then moves to another', () => {
    const p = new DefaultPartitioner(sequence([0.55, 0.1, 0.9]));
    const first = p.partition('t', null, 8);
    expect(first).toBe(4);
    for (let i = 0; i < 100; i++) expect(p.partition('t', null, 8)).toBe(first);
    // Another topic has its own sticky partition.
    expect(p.partition('u', null, 8)).toBe(0);
    // A batch closing on a different partition changes nothing.
    p.batchClosed('t', 3, 8);
    expect(p.partition('t', null, 8)).toBe(first);
    p.batchClosed('t', first, 8);
    const second = p.partition('t', null, 8);
    expect(second).not.toBe(first);
    for (let i = 0; i < 10; i++) expect(p.partition('t', null, 8)).toBe(second);
  });

  it('never re-picks the partition it is leaving, and stays put with one partition', () => {
    const p = new DefaultPartitioner();
    for (let round = 0; round < 500; round++) {
      const cur = p.partition('t', null, 3);
      p.batchClosed('t', cur, 3);
      expect(p.partition('t', null, 3)).not.toBe(cur);
    }
    const single = new DefaultPartitioner();
    expect(single.partition('s', null, 1)).toBe(0);
    single.batchClosed('s', 0, 1);
    expect(single.partition('s', null, 1)).toBe(0);
  });
});

describe('producer partitioning against a real broker', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('sends keyed messages to the murmur2 partition and null keys in sticky runs', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'p10', numPartitions: 10 }] });
    const producer = rill.producer({ lingerMs: 0 });
    const keyed = await producer.send({ topic: 'p10', messages: [{ key: 'foobar', value: 'a' }, { key: '100:48069', value: 'b' }] });
    expect(keyed.map((m) => m.partition)).toEqual([6, 7]);

    // Null keys: each batch (batchBytes ~2 KiB here) goes to one partition, so partitions
    // come in runs; a round-robin partitioner would change partition on every record.
    const sticky = rill.producer({ lingerMs: 0, batchBytes: 2048 });
    const metas = await sticky.send({ topic: 'p10', messages: Array.from({ length: 200 }, (_, i) => ({ value: `value-${i}`.padEnd(100, '.') })) });
    let changes = 0;
    for (let i = 1; i < metas.length; i++) if (metas[i]!.partition !== metas[i - 1]!.partition) changes++;
    expect(changes).toBeGreaterThan(0);
    expect(changes).toBeLessThan(30);
    const runs = new Set(metas.map((m) => m.partition));
    expect(runs.size).toBeGreaterThan(1);
  });
});
