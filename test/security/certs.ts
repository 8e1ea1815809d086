/**
 * Test certificates, made fresh per suite with the openssl CLI in a temp dir: a CA, a broker
 * certificate for 127.0.0.1/localhost signed by it (as a keystore file: key + chain, and as an
 * encrypted-key keystore), a client certificate `CN=app,O=acme` signed by the same CA, and a
 * second, untrusted CA with a client certificate of its own. EC P-256 keys: quick to make.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { BrokerConfig } from '../../broker/config.js';

export const KEY_PASSWORD = 'keystore-secret';

export interface TestCerts {
  dir: string;
  /** PEM file of the trusted CA (the truststore). */
  caFile: string;
  ca: string;
  /** Keystore: the broker's key, its certificate, then the CA's. */
  keystoreFile: string;
  /** The same with the key encrypted under KEY_PASSWORD. */
  encryptedKeystoreFile: string;
  /** A keystore whose certificate names only elsewhere.example (hostname checks fail on 127.0.0.1). */
  wrongHostKeystoreFile: string;
  brokerKey: string;
  brokerCert: string;
  /** Client certificate `CN=app,O=acme`, signed by the trusted CA. */
  clientKey: string;
  clientCert: string;
  clientKeyFile: string;
  clientCertFile: string;
  /** Another CA, not trusted by the broker, and a client certificate it signed. */
  otherCaFile: string;
  otherClientKey: string;
  otherClientCert: string;
  cleanup(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string, subject: string): void {
  openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject]);
}

function makeLeaf(dir: string, ca: string, name: string, subject: string, extFile: string | null, serial: number): void {
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(serial), '-out', `${name}.pem`, '-days', '2', ...(extFile !== null ? ['-extfile', extFile] : [])]);
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'rill-tls-test-'));
  const read = (f: string) => readFile(join(dir, f), 'utf8');
  await writeFile(join(dir, 'broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await writeFile(join(dir, 'elsewhere.ext'), 'subjectAltName=DNS:elsewhere.example\n');
  makeCa(dir, 'ca', '/CN=rill test CA');
  makeLeaf(dir, 'ca', 'broker', '/CN=localhost', 'broker.ext', 1);
  makeLeaf(dir, 'ca', 'client', '/O=acme/CN=app', null, 2);
  makeLeaf(dir, 'ca', 'elsewhere', '/CN=elsewhere.example', 'elsewhere.ext', 4);
  makeCa(dir, 'other-ca', '/CN=someone else');
  makeLeaf(dir, 'other-ca', 'other-client', '/O=acme/CN=app', null, 3);
  openssl(dir, ['pkcs8', '-topk8', '-in', 'broker.key', '-out', 'broker-enc.key', '-passout', `pass:${KEY_PASSWORD}`]);
  const [ca, brokerKey, brokerCert, encKey] = await Promise.all([read('ca.pem'), read('broker.key'), read('broker.pem'), read('broker-enc.key')]);
  await writeFile(join(dir, 'keystore.pem'), brokerKey + brokerCert + ca);
  await writeFile(join(dir, 'keystore-enc.pem'), encKey + brokerCert + ca);
  await writeFile(join(dir, 'keystore-elsewhere.pem'), (await read('elsewhere.key')) + (await read('elsewhere.pem')) + ca);
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    ca,
    keystoreFile: join(dir, 'keystore.pem'),
    encryptedKeystoreFile: join(dir, 'keystore-enc.pem'),
    wrongHostKeystoreFile: join(dir, 'keystore-elsewhere.pem'),
    brokerKey,
    brokerCert,
    clientKey: await read('client.key'),
    clientCert: await read('client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    clientCertFile: join(dir, 'client.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    otherClientKey: await read('other-client.key'),
    otherClientCert: await read('other-client.pem'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The broker config of an SSL rill listener with this keystore and truststore. */
export function sslBrokerConfig(certs: TestCerts, extra: Partial<BrokerConfig> = {}): Partial<BrokerConfig> {
  return {
    'listener.security.protocol': 'SSL',
    'ssl.keystore.location': certs.keystoreFile,
    'ssl.truststore.location': certs.caFile,
    ...extra,
  };
}

/** Makes the certificates once for the calling suite (beforeAll), hands them to `use`, removes them afterwards. */
export function suiteCerts(use: (certs: TestCerts) => void): void {
  let made: TestCerts | null = null;
  beforeAll(async () => {
    made = await makeTestCerts();
    use(made);
  });
  afterAll(() => made?.cleanup());
}
