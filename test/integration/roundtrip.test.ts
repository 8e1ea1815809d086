import { afterEach, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../protocol/murmur2.js';
import { TestEnv } from './harness.js';

const MESSAGES = 100_000;
const KEYS = 1_000;
const PARTITIONS = 8;

describe('produce/consume round trip', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it(`delivers ${MESSAGES} keyed messages over ${PARTITIONS} partitions exactly once and in order per key`, async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'orders', numPartitions: PARTITIONS }] });

    // Message i carries key k = i % KEYS and per-key sequence floor(i / KEYS).
    const producer = rill.producer({ lingerMs: 5 });
    const chunk = 1_000;
    const sends: Array<Promise<Array<{ partition: number; offset: number }>>> = [];
    for (let start = 0; start < MESSAGES; start += chunk) {
      const messages = [];
      for (let i = start; i < start + chunk; i++) {
        messages.push({ key: `key-${i % KEYS}`, value: `${i % KEYS}:${Math.floor(i / KEYS)}`, headers: { n: String(i) } });
      }
      // Not awaited one by one: sends pipeline, and send() keeps call order per partition.
      sends.push(producer.send({ topic: 'orders', messages }));
    }
    const acks = (await Promise.all(sends)).flat();
    expect(acks).toHaveLength(MESSAGES);
    for (let i = 0; i < MESSAGES; i += 997) {
      expect(acks[i]!.partition).toBe(partitionForKey(`key-${i % KEYS}`, PARTITIONS));
    }

    const consumer = rill.consumer({ maxWaitMs: 100 });
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'orders', partition, offset: 'earliest' as const })));
    const nextSeq = new Int32Array(KEYS);
    const lastOffset = new Map<number, number>();
    // Checked with plain comparisons (100,000 expect() calls would dominate the run); the
    // first few violations are collected and asserted empty at the end.
    const violations: string[] = [];
    const violation = (what: string): void => {
      if (violations.length < 10) violations.push(what);
    };
    let received = 0;
    for await (const m of consumer) {
      const [k, seq] = m.value!.toString().split(':').map(Number) as [number, number];
      if (m.key!.toString() !== `key-${k}`) violation(`offset ${m.offset}: key ${m.key!.toString()} carries value of key ${k}`);
      if (m.partition !== partitionForKey(`key-${k}`, PARTITIONS)) violation(`key ${k} read from partition ${m.partition}`);
      // Exactly once and in order per key: each key's sequence arrives as 0, 1, 2, ...
      if (seq !== nextSeq[k]) violation(`key ${k}: got seq ${seq}, expected ${nextSeq[k]}`);
      nextSeq[k] = seq + 1;
      if (m.offset <= (lastOffset.get(m.partition) ?? -1)) violation(`partition ${m.partition}: offset ${m.offset} after ${lastOffset.get(m.partition)}`);
      lastOffset.set(m.partition, m.offset);
      if (m.headers.n?.toString() !== String(seq * KEYS + k)) violation(`offset ${m.offset}: header n is ${m.headers.n?.toString()}`);
      received++;
      if (received === MESSAGES) break;
    }
    expect(violations).toEqual([]);
    expect(received).toBe(MESSAGES);
    for (let k = 0; k < KEYS; k++) expect(nextSeq[k]).toBe(MESSAGES / KEYS);

    // Nothing beyond what was sent: the log ends exactly where the acks said.
    const offsets = await rill.admin().fetchTopicOffsets('orders');
    expect(offsets.reduce((n, p) => n + p.high, 0)).toBe(MESSAGES);
  });
});
