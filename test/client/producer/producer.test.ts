import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferExhaustedError } from '../../../client/errors.js';
import { RillError } from '../../../protocol/errors.js';
import { TestEnv } from '../../integration/harness.js';

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (metric === undefined) return 0;
  let sum = 0;
  for (const v of metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>) {
    if (v.metricName !== undefined && v.metricName !== `${name}_count` && String(metric.type) === 'histogram') continue;
    if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
  }
  return sum;
}

describe('Producer', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('counts records sent, acked and failed, batch sizes and request latency in a registry passed in', async () => {
    const broker = await env.broker();
    const registry = new Registry();
    const rill = env.client(broker.port, { clientId: 'metrics-test', metrics: { registry } });
    await rill.admin().createTopics({ topics: [{ topic: 'm', numPartitions: 2 }] });
    const producer = rill.producer({ lingerMs: 0 });
    await producer.send({ topic: 'm', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await producer.send({ topic: 'm', messages: [{ key: 'k', value: 'd' }] });
    expect(await metricValue(registry, 'rill_client_records_sent_total', { client_id: 'metrics-test', topic: 'm' })).toBe(4);
    expect(await metricValue(registry, 'rill_client_records_acked_total', { topic: 'm' })).toBe(4);
    expect(await metricValue(registry, 'rill_client_batch_size_bytes')).toBeGreaterThanOrEqual(2);
    expect(await metricValue(registry, 'rill_client_request_latency_seconds', { api: 'Produce' })).toBeGreaterThanOrEqual(2);
    expect(await metricValue(registry, 'rill_client_records_failed_total')).toBe(0);
    // A batch over the broker's max.message.bytes is refused for good: counted as failed.
    const huge = Buffer.alloc(2 * 1024 * 1024, 1);
    const err = await producer.send({ topic: 'm', messages: [{ value: huge }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RillError);
    expect(await metricValue(registry, 'rill_client_records_failed_total', { topic: 'm' })).toBe(1);
    // A second client on the same registry shares the metrics, told apart by client_id.
    const other = env.client(broker.port, { clientId: 'other', metrics: { registry } });
    await other.producer({ lingerMs: 0 }).send({ topic: 'm', messages: [{ value: 'x' }] });
    expect(await metricValue(registry, 'rill_client_records_acked_total', { client_id: 'other' })).toBe(1);
    expect(await metricValue(registry, 'rill_client_records_acked_total', { client_id: 'metrics-test' })).toBe(4);
  });

  it('rejects an aborted send() at once and drops its records that were not sent yet', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'abort', numPartitions: 1 }] });
    // A long linger keeps the batch in the accumulator until flush().
    const producer = rill.producer({ lingerMs: 60_000 });
    // One record first, so the topic's metadata is cached and later sends append synchronously.
    const primed = producer.send({ topic: 'abort', messages: [{ value: 'first' }] });
    await producer.flush();
    expect((await primed)[0]!.offset).toBe(0);
    const already = new AbortController();
    already.abort();
    await expect(producer.send({ topic: 'abort', messages: [{ value: 'never' }] }, { signal: already.signal })).rejects.toMatchObject({ name: 'AbortError' });

    const controller = new AbortController();
    const aborted = producer.send({ topic: 'abort', messages: [{ value: 'a1' }, { value: 'a2' }, { value: 'a3' }] }, { signal: controller.signal });
    const kept = producer.send({ topic: 'abort', messages: [{ value: 'k1' }, { value: 'k2' }] });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    await producer.flush();
    // The aborted records left the batch they shared with the kept ones: those follow 'first'.
    expect((await kept).map((m) => m.offset)).toEqual([1, 2]);
    const offsets = await rill.admin().fetchTopicOffsets('abort');
    expect(offsets[0]!.high).toBe(3);
    // A send whose records all went away is settled too (nothing left to write).
    const lone = new AbortController();
    const gone = producer.send({ topic: 'abort', messages: [{ value: 'x' }] }, { signal: lone.signal });
    lone.abort('changed my mind');
    await expect(gone).rejects.toThrow('changed my mind');
    await producer.flush();
    expect((await rill.admin().fetchTopicOffsets('abort'))[0]!.high).toBe(3);
  });

  it('waits at most maxBlockMs for buffer memory, then fails with BufferExhaustedError; abort ends the wait too', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'full', numPartitions: 1 }] });
    const producer = rill.producer({ lingerMs: 60_000, batchBytes: 2_000, bufferMemoryBytes: 2_000, maxBlockMs: 100 });
    await producer.connect();
    const first = producer.send({ topic: 'full', messages: [{ value: Buffer.alloc(1_500) }] });
    const blocked = await producer.send({ topic: 'full', messages: [{ value: Buffer.alloc(1_000) }] }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(BufferExhaustedError);
    expect((blocked as BufferExhaustedError).retriable).toBe(true);

    const patient = rill.producer({ lingerMs: 60_000, batchBytes: 2_000, bufferMemoryBytes: 2_000, maxBlockMs: 60_000 });
    await patient.connect();
    const filling = patient.send({ topic: 'full', messages: [{ value: Buffer.alloc(1_500) }] });
    const controller = new AbortController();
    const waiting = patient.send({ topic: 'full', messages: [{ value: Buffer.alloc(1_000) }] }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    // What was buffered before is still delivered.
    await producer.flush();
    await patient.flush();
    expect((await first)[0]!.offset).toBeGreaterThanOrEqual(0);
    expect((await filling)[0]!.offset).toBeGreaterThanOrEqual(0);
    expect((await rill.admin().fetchTopicOffsets('full'))[0]!.high).toBe(2);
  });
});
