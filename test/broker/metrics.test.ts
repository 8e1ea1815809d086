import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, batch, createTopic, produce, readAll } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const have = Object.fromEntries(labelText.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, v!.replace(/"/g, '')]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(line.slice(line.indexOf('}') + 1));
  }
  return undefined;
}

describe('metrics', () => {
  it('serves traffic, latency, partition and connection metrics on /metrics', async () => {
    const broker = await fx.broker({ 'metrics.port': 0 });
    expect(broker.metricsPort).toBeGreaterThan(0);
    const client = await fx.client(broker);
    await createTopic(client, 'orders', 2);
    const records = batch(['a', 'b', 'c']);
    await produce(client, 'orders', 1, records);
    await readAll(client, 'orders', 1);

    const r = await get(broker.metricsPort!, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    expect(value(r.body, 'rill_messages_in_total', { topic: 'orders' })).toBe(3);
    expect(value(r.body, 'rill_bytes_in_total', { topic: 'orders' })).toBe(records.length);
    expect(value(r.body, 'rill_messages_out_total', { topic: 'orders' })).toBe(3);
    expect(value(r.body, 'rill_bytes_out_total', { topic: 'orders' })).toBe(records.length);
    expect(value(r.body, 'rill_log_end_offset', { topic: 'orders', partition: '1' })).toBe(3);
    expect(value(r.body, 'rill_log_start_offset', { topic: 'orders', partition: '1' })).toBe(0);
    expect(value(r.body, 'rill_log_size_bytes', { topic: 'orders', partition: '1' })).toBe(records.length);
    expect(value(r.body, 'rill_log_end_offset', { topic: 'orders', partition: '0' })).toBe(0);
    expect(value(r.body, 'rill_request_duration_seconds_count', { api: 'Produce' })).toBe(1);
    expect(value(r.body, 'rill_request_duration_seconds_bucket', { api: 'Fetch', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(r.body).toMatch(/^rill_connections\{node_id="0"\} 1$/m);

    expect((await get(broker.metricsPort!, '/other')).status).toBe(404);

    // A deleted topic's series go away.
    await client.request('DeleteTopics', { topics: ['orders'], timeoutMs: 1000 });
    const after = await get(broker.metricsPort!, '/metrics');
    expect(value(after.body, 'rill_messages_in_total', { topic: 'orders' })).toBeUndefined();
    expect(value(after.body, 'rill_log_end_offset', { topic: 'orders', partition: '1' })).toBeUndefined();
  });

  it('has no endpoint when metrics.port is null, and two brokers in one process keep separate registries', async () => {
    const a = await fx.broker();
    expect(a.metricsPort).toBeNull();
    const b = await fx.broker({ 'metrics.port': 0 });
    const ca = await fx.client(a);
    await produce(ca, 'only-on-a', 0, batch(['x']));
    const r = await get(b.metricsPort!, '/metrics');
    expect(value(r.body, 'rill_messages_in_total', { topic: 'only-on-a' })).toBeUndefined();
    expect(await a.context.metrics.registry.getSingleMetricAsString('rill_messages_in_total')).toContain('only-on-a');
  });
});
