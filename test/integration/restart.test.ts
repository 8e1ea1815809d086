import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumedMessage, Rill } from '../../client/index.js';
import { TestEnv } from './harness.js';

async function readAll(rill: Rill, topic: string, partitions: number, count: number): Promise<ConsumedMessage[]> {
  const consumer = rill.consumer({ maxWaitMs: 50 });
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 'earliest' as const })));
  const out: ConsumedMessage[] = [];
  for await (const m of consumer) {
    out.push(m);
    if (out.length === count) break;
  }
  await consumer.close();
  return out;
}

function summary(messages: ConsumedMessage[]): string[] {
  return messages
    .map((m) => `${m.partition}/${m.offset} ${m.key?.toString()}=${m.value?.toString()} t=${m.timestamp} h=${JSON.stringify(Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v?.toString()])))}`)
    .sort();
}

describe('broker restart', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('keeps topics, configs and every message across a stop and start on the same data dir', async () => {
    const first = await env.broker();
    const dataDir = first.dataDir;
    const rill = env.client(first.port);
    await rill.admin().createTopics({ topics: [{ topic: 'keep', numPartitions: 3, configs: { 'retention.ms': '86400000' } }, { topic: 'zipped', numPartitions: 1 }] });
    const producer = rill.producer();
    await producer.send({ topic: 'keep', messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}`, headers: { i: String(i) }, timestamp: 1_700_000_000_000 + i })) });
    await rill.producer({ compression: 'gzip' }).send({ topic: 'zipped', messages: Array.from({ length: 50 }, (_, i) => ({ value: `z${i}` })) });
    const before = summary(await readAll(rill, 'keep', 3, 300));
    await rill.close();
    await env.stop(first);

    const second = await env.broker({ dataDir });
    const again = env.client(second.port);
    const admin = again.admin();
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(['keep', 'zipped']));
    const { configs } = await admin.describeConfigs({ topic: 'keep' });
    expect(configs.find((c) => c.name === 'retention.ms')?.value).toBe('86400000');
    const after = summary(await readAll(again, 'keep', 3, 300));
    expect(after).toEqual(before);
    const zipped = await readAll(again, 'zipped', 1, 50);
    expect(zipped.map((m) => m.value!.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `z${i}`));
    // New writes continue after the old ones.
    const [meta] = await again.producer().send({ topic: 'zipped', messages: [{ value: 'z50' }] });
    expect(meta!.offset).toBe(50);
  });

  it('lets a producer and consumer that were open across the restart carry on', async () => {
    // shutdown.timeout.ms bounds how long close() waits on a consumer connection it ended.
    const first = await env.broker();
    const { port, dataDir } = first;
    const rill = env.client(port, { retry: { retries: 30, initialBackoffMs: 20, maxBackoffMs: 200 } });
    await rill.admin().createTopics({ topics: [{ topic: 'live', numPartitions: 1 }] });
    const producer = rill.producer({ lingerMs: 0 });
    const consumer = rill.consumer({ maxWaitMs: 100 });
    consumer.assign([{ topic: 'live', partition: 0, offset: 'earliest' }]);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const m of consumer) {
        seen.push(m.value!.toString());
        if (seen.length === 20) break;
      }
    })();
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'live', messages: [{ key: 'k', value: `m${i}` }] });
    await env.stop(first);
    // Sent while the broker is down: retried until it is back on the same port.
    const pending = producer.send({ topic: 'live', messages: [{ key: 'k', value: 'm10' }] });
    await new Promise((r) => setTimeout(r, 150));
    await env.broker({ dataDir, port });
    expect((await pending)[0]!.offset).toBe(10);
    for (let i = 11; i < 20; i++) await producer.send({ topic: 'live', messages: [{ key: 'k', value: `m${i}` }] });
    await reading;
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  });
});
