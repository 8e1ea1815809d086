/**
 * TLS on the rill listener with the rill SDK: produce and consume over SSL, a client that does
 * not trust the broker's CA (or speaks plain TCP) refused while the broker stays up, client
 * authentication (required / requested) and the principal each connection gets, read where an
 * operator reads it: `broker.connections()` and the debug "connection principal" log line.
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, TlsHandshakeError, type ConsumedMessage } from '../../client/index.js';
import { requireTool } from '../helpers/outside-tools.js';
import { TestEnv, waitFor } from '../integration/harness.js';
import { KEY_PASSWORD, sslBrokerConfig, suiteCerts, type TestCerts } from './certs.js';

const hasOpenssl = requireTool('openssl');

/** A pino logger at debug whose JSON lines land in `lines`. */
function capturingLogger(lines: Array<Record<string, unknown>>) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.length > 0) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'debug' }, sink);
}

async function handshakeFailures(broker: { context: { metrics: { registry: { getSingleMetricAsString(name: string): Promise<string> } } } }): Promise<number> {
  const text = await broker.context.metrics.registry.getSingleMetricAsString('rill_tls_handshake_failures_total');
  const m = /rill_tls_handshake_failures_total\{listener="rill"[^}]*\} (\d+)/.exec(text);
  return m === null ? 0 : Number(m[1]);
}

describe.skipIf(!hasOpenssl)('TLS on the rill listener', () => {
  const env = new TestEnv();
  let certs: TestCerts;
  suiteCerts((made) => (certs = made));
  afterEach(() => env.cleanup());

  const noRetry = { retries: 0, initialBackoffMs: 10, maxBackoffMs: 10 };

  it('the SDK produces and consumes over SSL; the connection is User:ANONYMOUS without a client certificate', async () => {
    const broker = await env.broker(sslBrokerConfig(certs));
    const rill = env.client(broker.port, { ssl: { ca: certs.ca } });
    await rill.admin().createTopics({ topics: [{ topic: 'secure', numPartitions: 2 }] });
    const producer = rill.producer();
    await producer.send({ topic: 'secure', messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    const consumer = rill.consumer({ groupId: 'g-secure' });
    await consumer.subscribe({ topics: ['secure'], fromBeginning: true });
    const seen: ConsumedMessage[] = [];
    const running = consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message);
        if (seen.length === 20) void consumer.stop();
      },
    });
    await running;
    expect(seen.map((m) => m.value?.toString()).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
    const principals = new Set(broker.connections().map((c) => c.principal));
    expect(principals).toEqual(new Set(['User:ANONYMOUS']));
  });

  it('a client that does not trust the CA fails with a TLS error naming the cause; the broker stays up and counts it', async () => {
    const broker = await env.broker(sslBrokerConfig(certs));
    const untrusting = env.client(broker.port, { ssl: true, retry: noRetry, connectionTimeoutMs: 5_000 });
    const err = await untrusting.admin().listTopics().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/TLS connection to 127\.0\.0\.1:\d+ failed: .*(self[- ]signed certificate|unable to (get|verify))/);
    // Plain TCP to the SSL port: no answer it can read, a clear connection error, nothing crashes.
    const plain = env.client(broker.port, { retry: noRetry, connectionTimeoutMs: 2_000 });
    await expect(plain.admin().listTopics()).rejects.toBeInstanceOf(Error);
    await waitFor(async () => (await handshakeFailures(broker)) >= 2, 5_000, 'two handshake failures counted');
    // The broker still serves a client that trusts its CA.
    const good = env.client(broker.port, { ssl: { ca: certs.ca } });
    expect(await good.admin().listTopics()).toEqual(expect.any(Array));
  });

  it('a TLS refusal is not retried: untrusted or misnamed certificate, refused client certificate or TLS version', async () => {
    // Retries with a 30 s backoff: a refusal that were retried would still be waiting after 10 s.
    const patient = { retries: 20, initialBackoffMs: 30_000, maxBackoffMs: 30_000 };
    const outcome = (p: Promise<unknown>): Promise<unknown> =>
      Promise.race([p.then(() => 'answered', (e: unknown) => e), new Promise((r) => setTimeout(() => r('still retrying after 10 s'), 10_000))]);
    const broker = await env.broker(sslBrokerConfig(certs));
    const refusals: Array<[string, Promise<unknown>]> = [
      ['untrusted CA', outcome(env.client(broker.port, { ssl: true, retry: patient }).admin().listTopics())],
    ];
    const misnamed = await env.broker(sslBrokerConfig(certs, { 'ssl.keystore.location': certs.wrongHostKeystoreFile }));
    refusals.push(['certificate for another host', outcome(env.client(misnamed.port, { ssl: { ca: certs.ca }, retry: patient }).admin().listTopics())]);
    const required = await env.broker(sslBrokerConfig(certs, { 'ssl.client.auth': 'required' }));
    refusals.push(['no client certificate', outcome(env.client(required.port, { ssl: { ca: certs.ca }, retry: patient }).admin().listTopics())]);
    const modern = await env.broker(sslBrokerConfig(certs, { 'ssl.enabled.protocols': 'TLSv1.3' }));
    refusals.push(['TLS version', outcome(env.client(modern.port, { ssl: { ca: certs.ca, maxVersion: 'TLSv1.2' }, retry: patient }).admin().listTopics())]);
    for (const [what, pending] of refusals) {
      const err = await pending;
      expect(err, what).toBeInstanceOf(TlsHandshakeError);
      expect(err, what).toBeInstanceOf(ConnectionError);
      expect((err as TlsHandshakeError).retriable, what).toBe(false);
      expect((err as TlsHandshakeError).errorName, what).toBe('TLS_HANDSHAKE_FAILED');
    }
    // The brokers serve a client that is configured right.
    expect(await env.client(broker.port, { ssl: { ca: certs.ca } }).admin().listTopics()).toEqual(expect.any(Array));
  });

  it('a connection still in its handshake counts against max.connections; the handshake is not needed to close it', async () => {
    const broker = await env.broker(sslBrokerConfig(certs, { 'max.connections': 1 }));
    // A TCP client that never sends a ClientHello holds the one connection slot.
    const stalled = net.connect({ host: '127.0.0.1', port: broker.port });
    stalled.on('error', () => undefined);
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()));
    await new Promise((r) => setTimeout(r, 50));
    const refused = env.client(broker.port, { ssl: { ca: certs.ca }, retry: noRetry });
    await expect(refused.admin().listTopics()).rejects.toBeInstanceOf(ConnectionError);
    const text = await broker.context.metrics.registry.getSingleMetricAsString('rill_connections_refused_total');
    expect(text).toMatch(/rill_connections_refused_total\{[^}]*\} 1/);
    stalled.destroy();
    await waitFor(async () => (await handshakeFailures(broker)) === 1, 5_000, 'the stalled handshake counted as failed');
    const admitted = env.client(broker.port, { ssl: { ca: certs.ca } });
    expect(await admitted.admin().listTopics()).toEqual(expect.any(Array));
  });

  it('the SDK checks the host name by default: a certificate for another name is refused', async () => {
    const broker = await env.broker(sslBrokerConfig(certs, { 'ssl.keystore.location': certs.wrongHostKeystoreFile }));
    const strict = env.client(broker.port, { ssl: { ca: certs.ca }, retry: noRetry });
    await expect(strict.admin().listTopics()).rejects.toThrow(/TLS connection to 127\.0\.0\.1:\d+ failed: .*(does not match|altnames)/i);
    // Told which name the certificate must carry, the same client gets in.
    const named = env.client(broker.port, { ssl: { ca: certs.ca, checkServerIdentity: (_host, cert) => tls.checkServerIdentity('elsewhere.example', cert) } });
    expect(await named.admin().listTopics()).toEqual(expect.any(Array));
  });

  it('ssl.client.auth=required refuses a client without a certificate and gives User:CN=app,O=acme to one with it', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const broker = await env.broker({ ...sslBrokerConfig(certs, { 'ssl.client.auth': 'required' }), logger: capturingLogger(lines) });
    const anonymous = env.client(broker.port, { ssl: { ca: certs.ca }, retry: noRetry });
    await expect(anonymous.admin().listTopics()).rejects.toBeInstanceOf(ConnectionError);
    const foreign = env.client(broker.port, { ssl: { ca: certs.ca, key: certs.otherClientKey, cert: certs.otherClientCert }, retry: noRetry });
    await expect(foreign.admin().listTopics()).rejects.toBeInstanceOf(ConnectionError);
    expect(broker.connections()).toEqual([]);
    await waitFor(async () => (await handshakeFailures(broker)) >= 2, 5_000, 'two refused clients counted');

    const app = env.client(broker.port, { ssl: { ca: certs.ca, key: certs.clientKey, cert: certs.clientCert } });
    expect(await app.admin().listTopics()).toEqual(expect.any(Array));
    const principals = broker.connections().map((c) => c.principal);
    expect(principals.length).toBeGreaterThan(0);
    expect(new Set(principals)).toEqual(new Set(['User:CN=app,O=acme']));
    const logged = lines.filter((l) => l.msg === 'connection principal').map((l) => l.principal);
    expect(new Set(logged)).toEqual(new Set(['User:CN=app,O=acme']));
    expect(lines.some((l) => l.msg === 'TLS handshake failed; connection closed')).toBe(true);
  });

  it('ssl.client.auth=requested lets a client without a certificate in as ANONYMOUS, refuses an unverified one', async () => {
    const broker = await env.broker(sslBrokerConfig(certs, { 'ssl.client.auth': 'requested' }));
    const anonymous = env.client(broker.port, { ssl: { ca: certs.ca } });
    expect(await anonymous.admin().listTopics()).toEqual(expect.any(Array));
    expect(new Set(broker.connections().map((c) => c.principal))).toEqual(new Set(['User:ANONYMOUS']));
    const foreign = env.client(broker.port, { ssl: { ca: certs.ca, key: certs.otherClientKey, cert: certs.otherClientCert }, retry: noRetry });
    await expect(foreign.admin().listTopics()).rejects.toBeInstanceOf(ConnectionError);
    const app = env.client(broker.port, { ssl: { ca: certs.ca, key: certs.clientKey, cert: certs.clientCert } });
    expect(await app.admin().listTopics()).toEqual(expect.any(Array));
    expect(new Set(broker.connections().map((c) => c.principal))).toEqual(new Set(['User:ANONYMOUS', 'User:CN=app,O=acme']));
  });

  it('ssl.enabled.protocols=TLSv1.3 refuses a TLSv1.2-only client; ssl.cipher.suites is what gets negotiated', async () => {
    const broker = await env.broker(sslBrokerConfig(certs, { 'ssl.enabled.protocols': 'TLSv1.3', 'ssl.cipher.suites': 'TLS_CHACHA20_POLY1305_SHA256' }));
    const old = env.client(broker.port, { ssl: { ca: certs.ca, maxVersion: 'TLSv1.2' }, retry: noRetry });
    await expect(old.admin().listTopics()).rejects.toThrow(/TLS connection to .* failed: .*(protocol version|alert)/i);
    const negotiated = await new Promise<{ protocol: string | null; cipher: string }>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: broker.port, ca: certs.ca }, () => {
        resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().standardName });
        socket.destroy();
      });
      socket.once('error', reject);
    });
    expect(negotiated).toEqual({ protocol: 'TLSv1.3', cipher: 'TLS_CHACHA20_POLY1305_SHA256' });
  });

  it('an encrypted key opens with ssl.key.password; PEM text keys work', async () => {
    const broker = await env.broker(sslBrokerConfig(certs, { 'ssl.keystore.location': certs.encryptedKeystoreFile, 'ssl.key.password': KEY_PASSWORD }));
    expect(await env.client(broker.port, { ssl: { ca: certs.ca } }).admin().listTopics()).toEqual(expect.any(Array));
    const fromText = await env.broker({ 'listener.security.protocol': 'SSL', 'ssl.keystore.key': certs.brokerKey, 'ssl.keystore.certificate.chain': certs.brokerCert, 'ssl.truststore.certificates': certs.ca });
    expect(await env.client(fromText.port, { ssl: { ca: certs.ca } }).admin().listTopics()).toEqual(expect.any(Array));
  });
});
