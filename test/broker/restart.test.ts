import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, batch, createTopic, produce, readAll } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('restart', () => {
  it('keeps topics, configs and data across close + start on the same dir', async () => {
    const dataDir = await fx.tempDir();
    let broker = await fx.broker({ dataDir });
    let client = await fx.client(broker);
    await createTopic(client, 'orders', 3, { 'retention.ms': '86400000', 'cleanup.policy': 'delete' });
    for (let p = 0; p < 3; p++) {
      for (let i = 0; i < 5; i++) expect((await produce(client, 'orders', p, batch([{ key: `k${i}`, value: `p${p}-${i}` }]))).errorCode).toBe(0);
    }
    const started = Date.now();
    await client.close();
    await broker.close();
    expect((await readdir(dataDir)).sort()).toEqual(expect.arrayContaining(['.rill-clean-shutdown', 'meta.json', 'topics.json', 'orders-0', 'orders-1', 'orders-2']));

    broker = await fx.broker({ dataDir });
    console.log(`restart of a broker with 3 partitions took ${Date.now() - started} ms`);
    client = await fx.client(broker);
    const meta = await client.request('Metadata', { topics: ['orders'], allowAutoTopicCreation: false });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
    expect(broker.context.topics.get('orders')!.configs).toEqual({ 'retention.ms': '86400000', 'cleanup.policy': 'delete' });
    expect(broker.context.logs.get('orders', 1)!.config.retentionMs).toBe(86400000);
    for (let p = 0; p < 3; p++) {
      expect((await readAll(client, 'orders', p)).map((r) => r.value)).toEqual([0, 1, 2, 3, 4].map((i) => `p${p}-${i}`));
    }
    expect((await produce(client, 'orders', 0, batch(['after']))).baseOffset).toBe(5);
  });

  it('adopts partition logs that topics.json lost instead of deleting data', async () => {
    const dataDir = await fx.tempDir();
    let broker = await fx.broker({ dataDir });
    let client = await fx.client(broker);
    await createTopic(client, 'kept', 2);
    await produce(client, 'kept', 1, batch(['precious']));
    await client.close();
    await broker.close();
    await rm(join(dataDir, 'topics.json'));
    broker = await fx.broker({ dataDir });
    client = await fx.client(broker);
    expect(broker.context.topics.get('kept')).toMatchObject({ partitions: 2, internal: false });
    expect((await readAll(client, 'kept', 1)).map((r) => r.value)).toEqual(['precious']);
  });

  it('starts in milliseconds on an empty dir', async () => {
    const dataDir = await fx.tempDir();
    const started = performance.now();
    const broker = await fx.broker({ dataDir });
    const ms = performance.now() - started;
    console.log(`startBroker on an empty temp dir: ${ms.toFixed(1)} ms`);
    expect(broker.port).toBeGreaterThan(0);
  });
});
