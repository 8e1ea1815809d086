import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { TestEnv } from '../../integration/harness.js';

async function gauge(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const v = (metric?.values as Array<{ value: number; labels: Record<string, string | number> }> | undefined)?.find((x) =>
    Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want),
  );
  return v?.value;
}

describe('Consumer metrics', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('reports lag per partition and counts rebalances in a registry passed in', async () => {
    const broker = await env.broker();
    const registry = new Registry();
    const rill = env.client(broker.port, { clientId: 'cm', metrics: { registry } });
    await rill.admin().createTopics({ topics: [{ topic: 'cm', numPartitions: 1 }] });
    const producer = rill.producer({ lingerMs: 0 });
    await producer.send({ topic: 'cm', messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) });

    const consumer = rill.consumer({ groupId: 'cm-group', fromBeginning: true });
    await consumer.subscribe(['cm']);
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async () => {
            if (++seen === 10) resolve();
          },
        })
        .catch(reject);
    });
    // The first answer came with the whole backlog ahead of the position: lag was 10 then.
    const lag = await gauge(registry, 'rill_client_consumer_lag', { client_id: 'cm', group: 'cm-group', topic: 'cm', partition: '0' });
    expect(lag).toBeDefined();
    expect(lag!).toBeGreaterThanOrEqual(0);
    expect(lag!).toBeLessThanOrEqual(10);
    expect(await gauge(registry, 'rill_client_rebalances_total', { client_id: 'cm', group: 'cm-group' })).toBeGreaterThanOrEqual(1);
    await consumer.close();
  });
});
