import { afterEach, describe, expect, it } from 'vitest';
import { TestEnv } from './harness.js';

describe('long poll through the SDK', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('wakes a parked fetch when a message is appended, long before its maxWaitMs (no polling)', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'quiet', numPartitions: 1 }] });
    const producer = rill.producer({ lingerMs: 0, acks: 1, idempotent: false });
    await producer.connect();
    // maxWaitMs far above the latencies measured: a message can only arrive this fast if the
    // parked fetch is woken by the append.
    const consumer = rill.consumer({ maxWaitMs: 5_000 });
    consumer.assign([{ topic: 'quiet', partition: 0, offset: 'latest' }]);
    const iterator = consumer[Symbol.asyncIterator]();
    // Let the consumer resolve 'latest' and park its fetch.
    const first = iterator.next();
    await new Promise((r) => setTimeout(r, 300));

    const latencies: number[] = [];
    let pending = first;
    for (let i = 0; i < 7; i++) {
      const sentAt = performance.now();
      await producer.send({ topic: 'quiet', messages: [{ value: `ping-${i}` }] });
      const { value } = await pending;
      latencies.push(performance.now() - sentAt);
      expect(value!.value!.toString()).toBe(`ping-${i}`);
      pending = iterator.next();
      // The next fetch is parked again before the next append.
      await new Promise((r) => setTimeout(r, 100));
    }
    // A functional bound, not a speed figure (bench/ measures latency): had the append not woken
    // the parked fetch, each message would wait out the 5 s maxWaitMs.
    for (const ms of latencies) expect(ms).toBeLessThan(2_500);
    await consumer.close();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });

  it('costs next to no CPU while a consumer waits on an idle partition', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'idle', numPartitions: 4 }] });
    const consumer = rill.consumer({ maxWaitMs: 250 });
    consumer.assign(Array.from({ length: 4 }, (_, partition) => ({ topic: 'idle', partition, offset: 'earliest' as const })));
    const reading = (async () => {
      for await (const _m of consumer) void _m;
    })();
    await new Promise((r) => setTimeout(r, 200));
    // Broker and client share this process: a busy fetch loop on either side would burn
    // most of a core over the 1.5 s window; long polling costs a few fetches.
    const before = process.cpuUsage();
    const started = performance.now();
    await new Promise((r) => setTimeout(r, 1_500));
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    const wallMs = performance.now() - started;
    expect(cpuMs / wallMs).toBeLessThan(0.15);
    await consumer.close();
    await reading;
  });
});
