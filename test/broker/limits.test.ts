import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { APIS } from '../../protocol/apis/index.js';
import { FrameDecoder } from '../../protocol/frame.js';
import { decodeResponse, encodeRequestFrame } from '../../protocol/messages.js';
import type { BrokerHandle } from '../../broker/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { Fixture, batch, createTopic, produce } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function fetchFrame(correlationId: number, opts: { maxWaitMs: number; partitions?: number; maxBytes?: number }): Buffer {
  return encodeRequestFrame(APIS.Fetch.key, 0, correlationId, {
    maxWaitMs: opts.maxWaitMs,
    minBytes: 1,
    maxBytes: opts.maxBytes ?? 1 << 20,
    topics: [{ name: 't', partitions: Array.from({ length: opts.partitions ?? 1 }, () => ({ partition: 0, fetchOffset: 0, partitionMaxBytes: opts.maxBytes ?? 1 << 20 })) }],
  });
}

function handled(broker: BrokerHandle, api: string): Promise<number> {
  return broker.context.metrics.requestDuration.get().then((m) => m.values.find((v) => v.metricName === 'rill_request_duration_seconds_count' && v.labels.api === api)?.value ?? 0);
}

describe('connection limits', () => {
  it('closes connections beyond max.connections and keeps serving the others', async () => {
    const broker = await fx.broker({ 'max.connections': 2 });
    const a = await fx.client(broker);
    const b = await fx.client(broker);
    const c = await RawClient.connect(broker.port);
    await c.closed;
    expect((await a.request('Metadata', { topics: null, allowAutoTopicCreation: false })).brokers).toHaveLength(1);
    expect((await b.request('Metadata', { topics: null, allowAutoTopicCreation: false })).brokers).toHaveLength(1);
    await a.close();
    await until('the closed connection to be forgotten', () => broker.connections().length === 1);
    const d = await fx.client(broker);
    expect((await d.request('Metadata', { topics: null, allowAutoTopicCreation: false })).brokers).toHaveLength(1);
    const refused = (await broker.context.metrics.connectionsRefused.get()).values[0]!.value;
    expect(refused).toBe(1);
  });

  it('closes idle connections, but not one waiting on a parked fetch', async () => {
    const broker = await fx.broker({ 'connections.max.idle.ms': 150 });
    const idle = await fx.client(broker);
    const busy = await fx.client(broker);
    await createTopic(busy, 't', 1);
    const started = performance.now();
    const fetched = busy.requestRaw(APIS.Fetch.key, 0, { maxWaitMs: 600, minBytes: 1, maxBytes: 1024, topics: [{ name: 't', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }] });
    await idle.closed;
    expect(busy.isClosed).toBe(false);
    const r = await fetched;
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
    expect((r.payload as { errorCode: number }).errorCode).toBe(0);
  });

  it('dispatches at most max.inflight.requests.per.connection at once and stops reading meanwhile', async () => {
    const broker = await fx.broker({ 'max.inflight.requests.per.connection': 4 });
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    const ids = Array.from({ length: 10 }, () => client.takeCorrelationId());
    const answers = ids.map((id) => client.requestFrame(id, fetchFrame(id, { maxWaitMs: 150 })));
    await until('4 fetches parked', () => broker.context.purgatory.size === 4);
    const [stats] = broker.connections().filter((c) => c.inflightRequests > 0);
    expect(stats!.readPaused).toBe(true);
    expect(stats!.readPauses).toBeGreaterThanOrEqual(1);
    const responses = await Promise.all(answers);
    expect(responses.map((r) => r.correlationId)).toEqual(ids);
    const after = broker.connections().find((c) => c.id === stats!.id)!;
    expect(after.maxDispatchedSeen).toBe(4);
    expect(after.readPaused).toBe(false);
    expect(after.inflightRequests).toBe(0);
  });

  it('stops reading at max.inflight.bytes.per.connection', async () => {
    const broker = await fx.broker({ 'max.inflight.bytes.per.connection': 4096 });
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    // Parked fetches naming the partition 100 times: ~1.4 KB each, so three reach the bound.
    const ids = Array.from({ length: 6 }, () => client.takeCorrelationId());
    const frames = ids.map((id) => fetchFrame(id, { maxWaitMs: 150, partitions: 100 }));
    expect(frames[0]!.length).toBeGreaterThan(1400);
    const answers = ids.map((id, i) => client.requestFrame(id, frames[i]!));
    await until('fetches parked', () => broker.context.purgatory.size >= 3);
    const stats = broker.connections().find((c) => c.inflightRequests > 0)!;
    expect(stats.readPaused).toBe(true);
    expect((await Promise.all(answers)).map((r) => r.correlationId)).toEqual(ids);
  });

  it('a client that pipelines without reading responses is paused, not buffered: broker memory stays bounded', async () => {
    const broker = await fx.broker({ 'max.inflight.requests.per.connection': 16 });
    const setup = await fx.client(broker);
    await createTopic(setup, 't', 1);
    const chunk = batch(['x'.repeat(16 * 1024)]);
    expect((await produce(setup, 't', 0, chunk)).errorCode).toBe(0);

    // A raw socket that writes 3000 fetches (each answered with ~16 KB) and reads nothing yet.
    const client = await RawClient.connect(broker.port);
    client.socket.pause();
    const total = 3000;
    const frames = Array.from({ length: total }, (_, i) => fetchFrame(i + 1, { maxWaitMs: 0, maxBytes: 64 * 1024 }));
    client.socket.removeAllListeners('data');
    client.socket.write(Buffer.concat(frames));
    // Let the broker run until it stops reading.
    await until('the broker to stop reading', () => broker.connections().some((c) => c.readPaused && c.inflightRequests > 0));
    await new Promise((r) => setTimeout(r, 200));
    const stats = broker.connections().find((c) => c.readPaused)!;
    const served = await handled(broker, 'Fetch');
    console.log(`paused after serving ${served} of ${total} pipelined fetches; max dispatched ${stats.maxDispatchedSeen}, max in flight ${stats.maxInflightRequestsSeen} requests / ${stats.maxInflightBytesSeen} bytes`);
    expect(stats.maxDispatchedSeen).toBeLessThanOrEqual(16);
    expect(served).toBeLessThan(total);

    // Now read: every response arrives, in order.
    const decoder = new FrameDecoder(1 << 30);
    let expected = 1;
    await new Promise<void>((resolve, reject) => {
      client.socket.on('data', (data: Buffer) => {
        for (const body of decoder.push(data)) {
          const { correlationId } = decodeResponse(body);
          if (correlationId !== expected) reject(new Error(`response ${correlationId} out of order, expected ${expected}`));
          expected++;
          if (expected > total) resolve();
        }
      });
      client.socket.resume();
    });
    await client.close();
  });
});
