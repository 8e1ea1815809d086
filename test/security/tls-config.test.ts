/**
 * The `ssl.*` keys at start: a missing file, a wrong or missing key password, a key that does
 * not match its certificate, an SSL listener without a keystore and unknown enum values fail
 * startBroker with INVALID_CONFIG naming the key — before any port is bound and with nothing
 * created on disk. DescribeConfigs never shows the secrets; the principal's subject DN is in
 * Kafka's (RFC 2253) order.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type StartBrokerOptions } from '../../broker/index.js';
import { HIDDEN_CONFIG_VALUE, brokerConfigToStrings, resolveBrokerConfig } from '../../broker/config.js';
import { defaultPrincipalBuilder, subjectDn } from '../../broker/security/principal.js';
import { RillError } from '../../protocol/errors.js';
import { requireTool } from '../helpers/outside-tools.js';
import { testLogger } from '../integration/harness.js';
import { KEY_PASSWORD, makeTestCerts, type TestCerts } from './certs.js';

const hasOpenssl = requireTool('openssl');

describe('ssl.* config rules (no files read)', () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ 'listener.security.protocol': 'TLS' }, /^listener\.security\.protocol: expected one of PLAINTEXT\|SSL/],
    [{ 'kafka.listener.security.protocol': 'SASL_SSL' }, /^kafka\.listener\.security\.protocol: expected one of PLAINTEXT\|SSL/],
    [{ 'ssl.client.auth': 'always' }, /^ssl\.client\.auth: expected one of none\|requested\|required/],
    [{ 'ssl.keystore.type': 'JKS' }, /^ssl\.keystore\.type: expected one of PEM/],
    [{ 'ssl.enabled.protocols': 'TLSv1.1,TLSv1.2' }, /^ssl\.enabled\.protocols: expected one of TLSv1\.2\|TLSv1\.3, got "TLSv1\.1"/],
    [{ 'listener.security.protocol': 'SSL' }, /^listener\.security\.protocol: SSL needs a keystore/],
    [{ 'kafka.listener.security.protocol': 'SSL' }, /^kafka\.listener\.security\.protocol: SSL needs a keystore/],
    [{ 'ssl.keystore.key': 'x' }, /ssl\.keystore\.key and ssl\.keystore\.certificate\.chain go together/],
    [{ 'ssl.keystore.location': '/k.pem', 'ssl.keystore.key': 'x', 'ssl.keystore.certificate.chain': 'y' }, /either a keystore file or ssl\.keystore\.key/],
  ];
  it.each(bad)('%o is refused', (config, message) => {
    let err: unknown;
    try {
      resolveBrokerConfig(config);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('INVALID_CONFIG');
    expect((err as Error).message).toMatch(message);
  });

  it('DescribeConfigs shows a set secret as hidden, an unset one as null', () => {
    const strings = brokerConfigToStrings(resolveBrokerConfig({ 'ssl.key.password': 'hunter2' }));
    expect(strings['ssl.key.password']).toBe(HIDDEN_CONFIG_VALUE);
    expect(strings['ssl.keystore.key']).toBeNull();
    expect(strings['listener.security.protocol']).toBe('PLAINTEXT');
  });
});

describe.skipIf(!hasOpenssl)('ssl.* files at start', () => {
  let certs: TestCerts;
  let root: string;
  beforeAll(async () => {
    certs = await makeTestCerts();
    root = await mkdtemp(join(tmpdir(), 'rill-tls-start-'));
    await writeFile(join(root, 'mismatch.pem'), certs.clientKey + certs.brokerCert);
    await writeFile(join(root, 'no-key.pem'), certs.brokerCert);
    await writeFile(join(root, 'garbage.pem'), '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' + certs.brokerCert);
  });
  afterAll(async () => {
    await certs?.cleanup();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  async function refused(options: Partial<StartBrokerOptions>): Promise<RillError> {
    const dataDir = join(root, `never-${Math.random().toString(36).slice(2)}`);
    const err = await startBroker({ host: '127.0.0.1', port: 0, logger: testLogger, 'listener.security.protocol': 'SSL', ...options, dataDir }).then(
      async (b) => {
        await b.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('INVALID_CONFIG');
    // Nothing on disk: the data dir was never created.
    await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
    return err as RillError;
  }

  it('a missing keystore or truststore file names the key and the path', async () => {
    expect((await refused({ 'ssl.keystore.location': join(root, 'absent.pem') })).message).toMatch(/^ssl\.keystore\.location: cannot read .*absent\.pem \(ENOENT\)/);
    expect((await refused({ 'ssl.keystore.location': certs.keystoreFile, 'ssl.truststore.location': join(root, 'nope.pem') })).message).toMatch(/^ssl\.truststore\.location: cannot read .*nope\.pem/);
  });

  it('a wrong or missing password, a mismatched key, a file without a key or with a broken one', async () => {
    expect((await refused({ 'ssl.keystore.location': certs.encryptedKeystoreFile, 'ssl.key.password': 'not-it' })).message).toBe('ssl.key.password: wrong password for the private key');
    expect((await refused({ 'ssl.keystore.location': certs.encryptedKeystoreFile })).message).toMatch(/^ssl\.key\.password: /);
    expect((await refused({ 'ssl.keystore.location': join(root, 'mismatch.pem') })).message).toBe('ssl.keystore: the private key does not match the first certificate of the chain');
    expect((await refused({ 'ssl.keystore.location': join(root, 'no-key.pem') })).message).toMatch(/^ssl\.keystore\.location: expected one PEM private key in .*no-key\.pem, found 0/);
    expect((await refused({ 'ssl.keystore.location': join(root, 'garbage.pem') })).message).toMatch(/^ssl\.keystore: the private key cannot be used/);
    expect((await refused({ 'ssl.keystore.location': certs.keystoreFile, 'ssl.cipher.suites': 'NO-SUCH-CIPHER' })).message).toMatch(/^ssl\.cipher\.suites: /);
  });

  it('the Kafka listener alone can be SSL; the good keystore starts', async () => {
    const dataDir = join(root, 'ok');
    const b = await startBroker({ host: '127.0.0.1', port: 0, kafkaPort: 0, logger: testLogger, 'kafka.listener.security.protocol': 'SSL', 'ssl.keystore.location': certs.encryptedKeystoreFile, 'ssl.key.password': KEY_PASSWORD, dataDir });
    await b.close();
  });

  it('the principal of a certificate is its subject in RFC 2253 order', () => {
    const cert = new X509Certificate(certs.clientCert);
    expect(subjectDn(cert)).toBe('CN=app,O=acme');
    const context = { listener: 'rill', securityProtocol: 'SSL', clientHost: '127.0.0.1', clientPort: 1 } as const;
    expect(defaultPrincipalBuilder.build({ ...context, peerCertificate: cert }).toString()).toBe('User:CN=app,O=acme');
    expect(defaultPrincipalBuilder.build({ ...context, peerCertificate: null }).toString()).toBe('User:ANONYMOUS');
    expect(defaultPrincipalBuilder.build({ ...context, securityProtocol: 'PLAINTEXT', peerCertificate: null }).toString()).toBe('User:ANONYMOUS');
  });
});
