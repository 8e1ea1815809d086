/**
 * @platformatic/kafka 1.22.0 (the newest 1.x whose dependency tree runs on Node 20; see
 * docs/KAFKA.md) against the Kafka listener. It only speaks the flexible versions of Kafka 3.5+
 * (Produce 9, Fetch 12, Metadata 9, JoinGroup 9, LeaveGroup 5, ListOffsets 8/9, OffsetCommit 8,
 * OffsetFetch 8, ...), so this drives them with a client nobody here wrote: produce with keys and
 * headers, consume as a classic group member, commit; the rill SDK reads the same records and
 * sees the group's commits.
 */
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { afterEach, describe, expect, it } from 'vitest';
import { TestEnv } from '../integration/harness.js';
import { take } from './take.js';

type Closable = { close(): Promise<void> };

describe('@platformatic/kafka against the Kafka listener', () => {
  const env = new TestEnv();
  const open: Closable[] = [];
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.close().catch(() => undefined);
    await env.cleanup();
  });

  it('produces with keys and headers, consumes as a group member and commits; the rill SDK reads both', { timeout: 60_000 }, async () => {
    const broker = await env.broker({ kafkaPort: 0 });
    const bootstrapBrokers = [`127.0.0.1:${broker.kafkaPort}`];
    const rill = env.client(broker.port);

    const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers });
    open.push(admin);
    await admin.createTopics({ topics: ['plt'], partitions: 3, replicas: 1 });

    const producer = new Producer({ clientId: 'plt-producer', bootstrapBrokers, serializers: stringSerializers });
    open.push(producer);
    const base = 1_700_000_000_000n;
    const messages = Array.from({ length: 12 }, (_, i) => ({
      topic: 'plt',
      key: `key-${i % 4}`,
      value: `value-${i}`,
      headers: new Map([['n', String(i)]]),
      timestamp: base + BigInt(i),
    }));
    const sent = await producer.send({ messages });
    expect(sent.offsets?.length ?? 0).toBeGreaterThan(0);

    // The rill SDK reads every record with its key, header and timestamp; one key, one partition.
    // (@platformatic/kafka's default partitioner is its own, not Java's murmur2: no cross-client
    // partition check here, unlike KafkaJS and kcat.)
    const reader = rill.consumer({ maxWaitMs: 50 });
    reader.assign([0, 1, 2].map((partition) => ({ topic: 'plt', partition, offset: 'earliest' as const })));
    const read = await take(reader, 12);
    const byValue = new Map(read.map((m) => [m.value!.toString(), m]));
    const partitionOfKey = new Map<string, number>();
    for (const [i, m] of messages.entries()) {
      const got = byValue.get(m.value)!;
      expect(got.key?.toString()).toBe(m.key);
      expect(got.headers.n?.toString()).toBe(String(i));
      expect(got.timestamp).toBe(Number(m.timestamp));
      if (partitionOfKey.has(m.key)) expect(got.partition).toBe(partitionOfKey.get(m.key));
      partitionOfKey.set(m.key, got.partition);
    }
    // Records from the rill SDK too, for the group member to read beside @platformatic/kafka's.
    await rill.producer().send({ topic: 'plt', messages: [...partitionOfKey.keys()].map((key) => ({ key, value: 'probe', headers: { from: 'rill' } })) });

    // A group member of @platformatic/kafka: joins (JoinGroup 9, SyncGroup 5), finds no commits
    // (OffsetFetch 8), starts at the earliest offsets (ListOffsets), fetches and commits
    // (OffsetCommit 8) each record, then leaves (LeaveGroup 5).
    const consumer = new Consumer({ groupId: 'plt-group', clientId: 'plt-consumer', bootstrapBrokers, deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 100 });
    open.push(consumer);
    const stream = await consumer.consume({ topics: ['plt'], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
    const consumed: Array<{ key: string; value: string; header: string | undefined; partition: number; offset: bigint; timestamp: bigint }> = [];
    const total = 12 + partitionOfKey.size;
    for await (const m of stream) {
      consumed.push({ key: m.key, value: m.value, header: m.headers.get('n'), partition: m.partition, offset: m.offset, timestamp: m.timestamp });
      await m.commit();
      if (consumed.length === total) break;
    }
    await stream.close();
    await consumer.close(); // leaves the group (LeaveGroup 5)
    for (const [i, m] of messages.entries()) {
      const c = consumed.find((x) => x.value === m.value)!;
      expect([c.key, c.header, c.timestamp, c.partition]).toEqual([m.key, String(i), m.timestamp, partitionOfKey.get(m.key)]);
    }
    expect(consumed.filter((c) => c.value === 'probe').map((c) => c.key).sort()).toEqual([...partitionOfKey.keys()].sort());

    // The commits land where the rill SDK (and any Kafka client) reads them. @platformatic/kafka
    // 1.22 commits the offset of the last record read (not the next one, as Java's client does)
    // and resumes from committed + 1: rill keeps what the client sends.
    const committed = await rill.admin().fetchOffsets('plt-group', ['plt']);
    const perPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    for (const p of [0, 1, 2]) {
      const offsets = consumed.filter((c) => c.partition === p).map((c) => Number(c.offset));
      expect(perPartition.get(p)).toBe(offsets.length === 0 ? null : Math.max(...offsets));
    }

    // A new member of the group resumes from those commits: it reads only what came after.
    await producer.send({ messages: [0, 1, 2].map((partition) => ({ topic: 'plt', partition, key: 'after', value: `after-${partition}` })) });
    const again = new Consumer({ groupId: 'plt-group', clientId: 'plt-consumer-2', bootstrapBrokers, deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 100 });
    open.push(again);
    const resumed = await again.consume({ topics: ['plt'], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
    const after: string[] = [];
    for await (const m of resumed) {
      after.push(m.value);
      if (after.length === 3) break;
    }
    await resumed.close();
    await again.close();
    expect(after.sort()).toEqual(['after-0', 'after-1', 'after-2']);
  });
});
