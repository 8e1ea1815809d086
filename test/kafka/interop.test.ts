/**
 * Interop between KafkaJS and the `rill` CLI (dist/, as a child process), over one in-process
 * broker with both listeners:
 *  - records produced with KafkaJS are printed by `rill consume --format json` with their keys,
 *    headers and timestamps intact, and records produced with the rill SDK reach a KafkaJS
 *    group member the same way;
 *  - `rill groups reset-offsets --execute` on a stopped classic group, then a KafkaJS group
 *    member replays from exactly the new offsets.
 */
import kafkajs from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { rill } from '../integration/cli-run.js';
import { TestEnv, waitFor } from '../integration/harness.js';

const { Kafka, logLevel } = kafkajs;

describe('KafkaJS and the rill CLI', () => {
  const env = new TestEnv();
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await env.cleanup();
  });

  async function setup(topic: string, partitions: number) {
    const broker = await env.broker({ kafkaPort: 0, 'group.initial.rebalance.delay.ms': 0 });
    const kafka = new Kafka({ clientId: 'interop', brokers: [`127.0.0.1:${broker.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    stops.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    stops.push(() => producer.disconnect());
    return { broker, kafka, admin, producer, brokers: `127.0.0.1:${broker.port}` };
  }

  it('records produced with KafkaJS are printed by `rill consume` with keys, headers and timestamps', async () => {
    const { producer, brokers } = await setup('events', 1);
    const base = 1_700_000_000_000;
    await producer.send({
      topic: 'events',
      messages: [
        { key: 'user-1', value: 'signed-up', headers: { trace: 'abc', source: 'web' }, timestamp: String(base) },
        { key: null, value: 'tick', timestamp: String(base + 7) },
        { key: 'user-2', value: 'bought', headers: { trace: 'def' }, timestamp: String(base + 9) },
      ],
    });
    const res = await rill(['consume', 'events', '--from-beginning', '--max-messages', '3', '--format', 'json', '--timeout-ms', '10000', '--brokers', brokers]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ topic: 'events', partition: 0, offset: 0, key: 'user-1', value: 'signed-up', headers: { trace: 'abc', source: 'web' }, timestamp: base }),
      expect.objectContaining({ offset: 1, key: null, value: 'tick', headers: {}, timestamp: base + 7 }),
      expect.objectContaining({ offset: 2, key: 'user-2', value: 'bought', headers: { trace: 'def' }, timestamp: base + 9 }),
    ]);
  }, 60_000);

  it('records produced with the rill SDK reach a KafkaJS group member with keys, headers and timestamps', async () => {
    const { broker, kafka } = await setup('audit', 1);
    const base = 1_700_000_000_000;
    await env.client(broker.port).producer().send({
      topic: 'audit',
      messages: [
        { key: 'a', value: 'one', headers: { trace: 'abc', n: '1' }, timestamp: base },
        { key: null, value: Buffer.from([0, 255]), timestamp: base + 1 },
        { key: Buffer.from([1, 2]), value: null, headers: { bin: Buffer.from([7]) }, timestamp: base + 2 },
      ],
    });
    const consumer = kafka.consumer({ groupId: 'auditors', maxWaitTimeInMs: 100 });
    await consumer.connect();
    stops.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'audit', fromBeginning: true });
    const got: Array<{ offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, unknown>; timestamp: string }> = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push({ offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {}, timestamp: message.timestamp }) });
    await waitFor(() => got.length >= 3, 30_000, 'three records read by KafkaJS');
    expect(got.map((m) => [m.offset, m.key, m.value, m.timestamp])).toEqual([
      ['0', Buffer.from('a'), Buffer.from('one'), String(base)],
      ['1', null, Buffer.from([0, 255]), String(base + 1)],
      ['2', Buffer.from([1, 2]), null, String(base + 2)],
    ]);
    expect(got.map((m) => m.headers)).toEqual([{ trace: Buffer.from('abc'), n: Buffer.from('1') }, {}, { bin: Buffer.from([7]) }]);
  }, 60_000);

  it('`rill groups reset-offsets --execute` on a stopped group, then a KafkaJS member replays from the new offsets', async () => {
    const { kafka, admin, producer, brokers } = await setup('orders', 2);
    for (const partition of [0, 1]) {
      await producer.send({ topic: 'orders', messages: Array.from({ length: 5 }, (_, i) => ({ partition, key: `p${partition}`, value: `${partition}:${i}` })) });
    }

    /** One KafkaJS member of `billing` until it has read `count` records; then it leaves. */
    async function member(count: number): Promise<string[]> {
      const consumer = kafka.consumer({ groupId: 'billing', sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
      await consumer.connect();
      const seen: string[] = [];
      try {
        await consumer.subscribe({ topic: 'orders', fromBeginning: true });
        await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
        await waitFor(() => seen.length >= count, 30_000, `${count} records read by the KafkaJS member`);
      } finally {
        await consumer.disconnect();
      }
      return seen;
    }

    const first = await member(10);
    expect(first.sort()).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4', '1:0', '1:1', '1:2', '1:3', '1:4']);
    const committed = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
    expect(committed[0]!.partitions.map((p) => Number(p.offset)).sort()).toEqual([5, 5]);

    // Partition 0 back to offset 3, partition 1 back by 4: the plan is applied to the empty group.
    const r0 = await rill(['groups', 'reset-offsets', '--group', 'billing', '--topic', 'orders:0', '--to-offset', '3', '--execute', '--brokers', brokers]);
    expect(r0.code, r0.stderr).toBe(0);
    const r1 = await rill(['groups', 'reset-offsets', '--group', 'billing', '--topic', 'orders:1', '--shift-by', '-4', '--execute', '--brokers', brokers]);
    expect(r1.code, r1.stderr).toBe(0);

    const replay = await member(6);
    expect(replay.sort()).toEqual(['0:3', '0:4', '1:1', '1:2', '1:3', '1:4']);
    const after = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
    expect(after[0]!.partitions.map((p) => Number(p.offset)).sort()).toEqual([5, 5]);
  }, 90_000);
});
