/**
 * The Kafka listener over SSL (`kafka.listener.security.protocol=SSL`) with clients nobody here
 * wrote: kcat (librdkafka: `-X security.protocol=ssl -X ssl.ca.location=...`, hostname checked)
 * and KafkaJS (`ssl: { ca }`), each producing what the other side reads; with
 * `ssl.client.auth=required`, kcat's client certificate becomes the connection's principal.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/outside-tools.js';
import { TestEnv } from '../integration/harness.js';
import { kcat } from '../kafka/kcat-run.js';
import { KEY_PASSWORD, suiteCerts, type TestCerts } from './certs.js';

const ready = requireTool('openssl') && requireTool('kcat');

describe.skipIf(!ready)('the Kafka listener over SSL', () => {
  const env = new TestEnv();
  const open: Producer[] = [];
  let certs: TestCerts;
  suiteCerts((made) => (certs = made));
  afterEach(async () => {
    for (const p of open.splice(0)) await p.disconnect().catch(() => undefined);
    await env.cleanup();
  });

  async function sslKafkaBroker(clientAuth = 'none') {
    // The rill listener stays PLAINTEXT: each listener has its own protocol.
    const broker = await env.broker({
      kafkaPort: 0,
      'kafka.listener.security.protocol': 'SSL',
      'ssl.keystore.location': certs.encryptedKeystoreFile,
      'ssl.key.password': KEY_PASSWORD,
      'ssl.truststore.location': certs.caFile,
      'ssl.client.auth': clientAuth,
    });
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'tls', numPartitions: 2 }] });
    return { broker, rill, bootstrap: `127.0.0.1:${broker.kafkaPort}` };
  }

  it('kcat produces and consumes over SSL; without the CA it cannot connect', async () => {
    const { bootstrap, rill, broker } = await sslKafkaBroker();
    const ssl = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.caFile}`];
    const p = await kcat(['-b', bootstrap, ...ssl, '-P', '-t', 'tls', '-K:'], 'a:one\nb:two\nc:three\n');
    expect(p.code, p.stderr).toBe(0);
    const c = await kcat(['-b', bootstrap, ...ssl, '-C', '-t', 'tls', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\n']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim().split('\n').sort()).toEqual(['a=one', 'b=two', 'c=three']);
    // The rill SDK on the PLAINTEXT rill listener sees the same records.
    const offsets = await rill.admin().describeTopics({ topics: ['tls'] });
    expect(offsets[0]!.partitions.reduce((n, p) => n + p.logEndOffset, 0)).toBe(3);
    expect(new Set(broker.connections().map((c) => c.principal))).toEqual(new Set(['User:ANONYMOUS']));

    const untrusting = await kcat(['-b', bootstrap, '-X', 'security.protocol=ssl', '-X', 'ssl.ca.location=' + certs.otherCaFile, '-L', '-m', '3'], '', 20_000);
    expect(untrusting.code).not.toBe(0);
    expect(untrusting.stderr).toMatch(/SSL|certificate/i);
    expect(broker.kafkaConnections().length).toBe(0);
  });

  it('KafkaJS with ssl: { ca } produces over SSL; DescribeConfigs answers the key password as sensitive, without its value', async () => {
    const { bootstrap, rill } = await sslKafkaBroker();
    const kafka = new Kafka({ clientId: 'kafkajs-tls', brokers: [bootstrap], ssl: { ca: [certs.ca] }, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    open.push(producer);
    await producer.send({ topic: 'tls', messages: [{ key: 'k', value: 'from kafkajs over tls', partition: 1 }] });
    const c = rill.consumer();
    c.assign([{ topic: 'tls', partition: 1, offset: 'earliest' }]);
    const seen: string[] = [];
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        void c.stop();
      },
    });
    expect(seen).toEqual(['from kafkajs over tls']);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({ resources: [{ type: 4, name: '0', configNames: ['ssl.key.password', 'kafka.listener.security.protocol'] }], includeSynonyms: false });
      const entries = new Map(described.resources[0]!.configEntries.map((e) => [e.configName, e]));
      expect(entries.get('ssl.key.password')).toMatchObject({ configValue: null, isSensitive: true });
      expect(entries.get('kafka.listener.security.protocol')).toMatchObject({ configValue: 'SSL', isSensitive: false });
    } finally {
      await admin.disconnect();
    }
  });

  it('ssl.client.auth=required: kcat with the client certificate is User:CN=app,O=acme, without it is refused', async () => {
    const { bootstrap, broker } = await sslKafkaBroker('required');
    const ssl = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.caFile}`];
    const refused = await kcat(['-b', bootstrap, ...ssl, '-L', '-m', '3'], '', 20_000);
    expect(refused.code).not.toBe(0);
    const withCert = [...ssl, '-X', `ssl.certificate.location=${certs.clientCertFile}`, '-X', `ssl.key.location=${certs.clientKeyFile}`];
    // -C without -e keeps kcat's connection open while the test reads the broker's view of it.
    const listing = kcat(['-b', bootstrap, ...withCert, '-C', '-t', 'tls', '-o', 'end', '-q'], '', 20_000);
    const deadline = Date.now() + 10_000;
    while (broker.kafkaConnections().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const principals = new Set(broker.kafkaConnections().map((c) => c.principal));
    await env.cleanup(); // closes the broker: kcat -C sees it go and exits
    await listing;
    expect(principals).toEqual(new Set(['User:CN=app,O=acme']));
  });
});
