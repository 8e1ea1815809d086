/**
 * The embedded recipe, as a service's own test suite would write it (docs/KAFKA.md): a real
 * broker started in-process with a Kafka port, a KafkaJS producer against it, and a clean
 * stop. Nothing but `startBroker` and KafkaJS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.js';

describe('embedded broker + KafkaJS (the recipe)', () => {
  let dataDir: string;
  let broker: BrokerHandle;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rill-embedded-'));
    broker = await startBroker({ dataDir, port: 0, kafkaPort: 0, logger: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('produces with KafkaJS and reads the offsets back with KafkaJS admin', async () => {
    const kafka = new Kafka({ clientId: 'my-service-test', brokers: [`127.0.0.1:${broker.kafkaPort}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
    try {
      await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 2 }] });
      const sent = await producer.send({ topic: 'events', messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 3}`, value: `event-${i}` })) });
      expect(sent.every((r) => r.errorCode === 0)).toBe(true);
      const offsets = await admin.fetchTopicOffsets('events');
      expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(10);
    } finally {
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    }
  });

  it('close() stops the Kafka port too', async () => {
    const port = broker.kafkaPort!;
    await broker.close();
    const { connect } = await import('node:net');
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
