import { afterEach, describe, expect, it } from 'vitest';
import type { ProducerConfig } from '../../client/index.js';
import { DropProxy } from './drop-proxy.js';
import { TestEnv } from './harness.js';

describe('idempotent produce across a dropped connection', () => {
  const env = new TestEnv();
  let proxy: DropProxy | null = null;
  afterEach(async () => {
    await env.cleanup();
    await proxy?.close();
    proxy = null;
  });

  /** Sends 100 messages while the proxy loses the first Produce response; returns what the log holds. */
  async function sendThroughLossyProxy(producerConfig: ProducerConfig): Promise<{ acked: number[]; logEnd: number; values: string[]; dropped: number; produceRequests: number }> {
    proxy = await DropProxy.listen();
    // Clients learn broker addresses from Metadata: advertise the proxy so every request goes through it.
    const broker = await env.broker({ 'advertised.port': proxy.port });
    proxy.targetPort = broker.port;
    const rill = env.client(proxy.port, { retry: { retries: 5, initialBackoffMs: 20, maxBackoffMs: 100 } });
    await rill.admin().createTopics({ topics: [{ topic: 'pay', numPartitions: 1 }] });
    const producer = rill.producer({ lingerMs: 0, ...producerConfig });
    await producer.connect();
    proxy.dropNextProduceResponses(1);
    const metas = await producer.send({ topic: 'pay', messages: Array.from({ length: 100 }, (_, i) => ({ key: 'k', value: `payment-${i}` })) });
    const [offsets] = await rill.admin().fetchTopicOffsets('pay');
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 'pay', partition: 0, offset: 'earliest' }]);
    const values: string[] = [];
    for await (const m of consumer) {
      values.push(m.value!.toString());
      if (values.length === offsets!.high) break;
    }
    return { acked: metas.map((m) => m.offset), logEnd: offsets!.high, values, dropped: proxy.dropped, produceRequests: proxy.produceRequests };
  }

  it('writes a batch once when its response is lost and the producer retries', async () => {
    const r = await sendThroughLossyProxy({});
    expect(r.dropped).toBe(1);
    // The batch really was sent twice...
    expect(r.produceRequests).toBe(2);
    // ...but is in the log once, at the offsets the retry's answer reported.
    expect(r.logEnd).toBe(100);
    expect(r.acked).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(r.values).toEqual(Array.from({ length: 100 }, (_, i) => `payment-${i}`));
  });

  it('keeps order and writes every record once with several batches in flight when a middle response is lost', async () => {
    proxy = await DropProxy.listen();
    const broker = await env.broker({ 'advertised.port': proxy.port });
    proxy.targetPort = broker.port;
    const rill = env.client(proxy.port, { retry: { retries: 5, initialBackoffMs: 20, maxBackoffMs: 100 } });
    await rill.admin().createTopics({ topics: [{ topic: 'seq', numPartitions: 1 }] });
    // ~9 records per batch, so 300 records make ~34 batches, up to 5 in flight at once.
    const producer = rill.producer({ lingerMs: 0, batchBytes: 1024 });
    await producer.connect();
    proxy.dropNextProduceResponses(1, 2);
    const value = (i: number): string => `event-${String(i).padStart(4, '0')}`.padEnd(100, '.');
    const sends = Array.from({ length: 300 }, (_, i) => producer.send({ topic: 'seq', messages: [{ key: 'same-key', value: value(i) }] }));
    const metas = (await Promise.all(sends)).flat();
    expect(proxy.dropped).toBe(1);
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 'seq', partition: 0, offset: 'earliest' }]);
    const values: string[] = [];
    for await (const m of consumer) {
      values.push(m.value!.toString());
      if (values.length === 300) break;
    }
    expect(values).toEqual(Array.from({ length: 300 }, (_, i) => value(i)));
    const [offsets] = await rill.admin().fetchTopicOffsets('seq');
    expect(offsets!.high).toBe(300);
  });

  it('recovers the sequence after a batch fails for good: later batches are written once, in order', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port, { retry: { retries: 3, initialBackoffMs: 10, maxBackoffMs: 50 } });
    await rill.admin().createTopics({ topics: [{ topic: 'gap', numPartitions: 1, configs: { 'max.message.bytes': '2048' } }] });
    const producer = rill.producer({ lingerMs: 0, batchBytes: 1024 });
    await producer.connect();
    // Three batches in flight at once; the middle one is refused, which leaves a hole in the
    // sequence that the third one runs into (OUT_OF_ORDER_SEQUENCE_NUMBER). The producer must
    // bump its epoch, restart the sequence and resend the third batch — once.
    const first = producer.send({ topic: 'gap', messages: [{ key: 'k', value: 'before' }] });
    const tooBig = producer.send({ topic: 'gap', messages: [{ key: 'k', value: Buffer.alloc(5000, 120) }] });
    const third = producer.send({ topic: 'gap', messages: [{ key: 'k', value: 'after' }] });
    expect((await first)[0]!.offset).toBe(0);
    const err = await tooBig.catch((e: unknown) => e);
    expect((err as { errorName?: string }).errorName).toMatch(/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/);
    expect((await third)[0]!.offset).toBe(1);
    // And the producer keeps working under its new epoch.
    expect((await producer.send({ topic: 'gap', messages: [{ key: 'k', value: 'later' }] }))[0]!.offset).toBe(2);
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 'gap', partition: 0, offset: 'earliest' }]);
    const values: string[] = [];
    for await (const m of consumer) {
      values.push(m.value!.toString());
      if (values.length === 3) break;
    }
    expect(values).toEqual(['before', 'after', 'later']);
    const [offsets] = await rill.admin().fetchTopicOffsets('gap');
    expect(offsets!.high).toBe(3);
  });

  it('(control) a non-idempotent producer duplicates the same batch in the same situation', async () => {
    const r = await sendThroughLossyProxy({ idempotent: false });
    expect(r.dropped).toBe(1);
    expect(r.produceRequests).toBe(2);
    expect(r.logEnd).toBe(200);
    expect(r.values.slice(100)).toEqual(r.values.slice(0, 100));
  });
});
