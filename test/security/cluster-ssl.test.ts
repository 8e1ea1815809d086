/**
 * Three brokers and a real etcd with every rill listener SSL and ssl.client.auth=required: the
 * followers fetch from the leader over TLS, presenting the keystore's certificate (refused
 * otherwise), so acks=all produces complete and every replica ends with the records. The
 * leader's connections from the followers carry the broker certificate's principal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterEnv, type ClusterBroker } from '../cluster/broker-harness.js';
import { waitFor } from '../cluster/etcd.js';
import { requireTool } from '../helpers/outside-tools.js';
import { makeTestCerts, sslBrokerConfig, type TestCerts } from './certs.js';

const ready = requireTool('openssl') && requireTool('etcd');

describe.skipIf(!ready)('a 3-broker cluster over SSL', () => {
  const env = new ClusterEnv();
  let certs: TestCerts;
  let brokers: ClusterBroker[];

  beforeAll(async () => {
    certs = await makeTestCerts();
    await env.start();
    brokers = await env.brokersUp(3, sslBrokerConfig(certs, { 'ssl.client.auth': 'required' }));
  }, 60_000);
  afterAll(async () => {
    await env.cleanup();
    await certs?.cleanup();
  }, 60_000);

  it('replicates over TLS: acks=all produces succeed and every replica holds the records', async () => {
    const rill = env.client(
      brokers.map((b) => b.port),
      { ssl: { ca: certs.ca, key: certs.clientKey, cert: certs.clientCert } },
    );
    await rill.admin().createTopics({ topics: [{ topic: 'replicated', numPartitions: 2, replicationFactor: 3 }] });
    const producer = rill.producer({ acks: 'all' });
    await producer.send({ topic: 'replicated', messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    for (const partition of [0, 1]) {
      const ends = await waitFor(`partition ${partition} replicated everywhere`, () => {
        const e = brokers.map((b) => b.context.logs.get('replicated', partition)?.logEndOffset ?? -1);
        return e.every((x) => x === e[0] && x > 0) ? e : undefined;
      });
      expect(new Set(ends).size).toBe(1);
    }
    // The followers' fetch connections at each leader are the brokers' certificate (CN=localhost).
    const peers = brokers.flatMap((b) => b.connections().map((c) => c.principal));
    expect(peers).toContain('User:CN=localhost');
    expect(new Set(peers)).toEqual(new Set(['User:CN=localhost', 'User:CN=app,O=acme']));
  });
});
