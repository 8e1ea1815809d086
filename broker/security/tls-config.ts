/**
 * The broker's `ssl.*` keys (Kafka's names, PEM only) turned into node:tls options, once, at
 * start: `checkSecurityConfig` is the pure part of validateBrokerConfig (enums, which keys go
 * together); `loadBrokerTls` reads the PEM files and builds a SecureContext, so a missing file,
 * a key that is not a key, a wrong `ssl.key.password` or a key that does not match its
 * certificate fails the start with INVALID_CONFIG naming the key, before any port is bound or
 * anything is created on disk.
 *
 * One keystore and one truststore serve both listeners and the broker's own dials to other
 * brokers (replica fetching), as Kafka's listener-less `ssl.*` keys do.
 */
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { rillError } from '../../protocol/errors.js';
import type { BrokerConfig } from '../config.js';
import type { SecurityProtocol } from './principal.js';

export type ClientAuth = 'none' | 'requested' | 'required';

const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL'];
const CLIENT_AUTH: readonly ClientAuth[] = ['none', 'requested', 'required'];
/** Node's floor is TLSv1.2 (older ones need a lowered OpenSSL security level): rill refuses them. */
const TLS_VERSIONS: readonly tls.SecureVersion[] = ['TLSv1.2', 'TLSv1.3'];

/** How long a client has to finish its TLS handshake before its connection is closed. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface BrokerTls {
  /** For tls.createServer: the keystore, the truststore, client auth, versions and ciphers. */
  readonly server: tls.TlsOptions;
  /** For tls.connect to another broker: the same certificate presented, peers checked against the truststore. */
  readonly peer: tls.ConnectionOptions;
  readonly clientAuth: ClientAuth;
}

type SecurityKeys = Pick<
  BrokerConfig,
  | 'listener.security.protocol'
  | 'kafka.listener.security.protocol'
  | 'ssl.keystore.type'
  | 'ssl.keystore.location'
  | 'ssl.keystore.key'
  | 'ssl.keystore.certificate.chain'
  | 'ssl.key.password'
  | 'ssl.truststore.type'
  | 'ssl.truststore.location'
  | 'ssl.truststore.certificates'
  | 'ssl.client.auth'
  | 'ssl.enabled.protocols'
  | 'ssl.cipher.suites'
  | 'ssl.endpoint.identification.algorithm'
>;

function oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw rillError('INVALID_CONFIG', `${key}: expected one of ${allowed.join('|')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function listenerProtocol(config: SecurityKeys, listener: 'rill' | 'kafka'): SecurityProtocol {
  const key = listener === 'rill' ? 'listener.security.protocol' : 'kafka.listener.security.protocol';
  return oneOf(key, config[key], PROTOCOLS);
}

function enabledProtocols(value: string): tls.SecureVersion[] {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw rillError('INVALID_CONFIG', 'ssl.enabled.protocols: must name at least one of TLSv1.2, TLSv1.3');
  return list.map((v) => oneOf('ssl.enabled.protocols', v, TLS_VERSIONS));
}

/** The cross-key rules, without touching files: called from validateBrokerConfig. */
export function checkSecurityConfig(config: SecurityKeys): void {
  const rill = listenerProtocol(config, 'rill');
  const kafka = listenerProtocol(config, 'kafka');
  oneOf('ssl.client.auth', config['ssl.client.auth'], CLIENT_AUTH);
  oneOf('ssl.keystore.type', config['ssl.keystore.type'], ['PEM']);
  oneOf('ssl.truststore.type', config['ssl.truststore.type'], ['PEM']);
  enabledProtocols(config['ssl.enabled.protocols']);
  const algorithm = config['ssl.endpoint.identification.algorithm'];
  if (algorithm !== null && algorithm !== '') oneOf('ssl.endpoint.identification.algorithm', algorithm, ['https']);
  const location = config['ssl.keystore.location'];
  const key = config['ssl.keystore.key'];
  const chain = config['ssl.keystore.certificate.chain'];
  if (location !== null && (key !== null || chain !== null)) {
    throw rillError('INVALID_CONFIG', 'ssl.keystore.location: give either a keystore file or ssl.keystore.key with ssl.keystore.certificate.chain, not both');
  }
  if ((key === null) !== (chain === null)) {
    throw rillError('INVALID_CONFIG', 'ssl.keystore.key: ssl.keystore.key and ssl.keystore.certificate.chain go together');
  }
  if (config['ssl.truststore.location'] !== null && config['ssl.truststore.certificates'] !== null) {
    throw rillError('INVALID_CONFIG', 'ssl.truststore.location: give either a truststore file or ssl.truststore.certificates, not both');
  }
  if ((rill === 'SSL' || kafka === 'SSL') && location === null && key === null) {
    const which = rill === 'SSL' ? 'listener.security.protocol' : 'kafka.listener.security.protocol';
    throw rillError('INVALID_CONFIG', `${which}: SSL needs a keystore: ssl.keystore.location, or ssl.keystore.key with ssl.keystore.certificate.chain`);
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The PEM blocks of `text` whose label ends with `suffix` ('PRIVATE KEY', 'CERTIFICATE'). */
function pemBlocks(text: string, suffix: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) if (m[1]!.endsWith(suffix)) out.push(m[0]);
  return out;
}

async function readPem(key: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw rillError('INVALID_CONFIG', `${key}: cannot read ${path} (${e.code ?? e.message})`);
  }
}

function certificates(key: string, where: string, text: string): string[] {
  const certs = pemBlocks(text, 'CERTIFICATE');
  if (certs.length === 0) throw rillError('INVALID_CONFIG', `${key}: no PEM certificate in ${where}`);
  for (const pem of certs) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw rillError('INVALID_CONFIG', `${key}: a certificate in ${where} cannot be parsed (${(err as Error).message})`);
    }
  }
  return certs;
}

/** Why createSecureContext refused the keystore, in the operator's words. */
function keystoreProblem(message: string, hasPassword: boolean): string {
  if (/bad decrypt|bad password|wrong password/i.test(message)) return 'ssl.key.password: wrong password for the private key';
  if (/interrupted or cancelled|passphrase|no password/i.test(message) && !hasPassword) return 'ssl.key.password: the private key is encrypted and no password was given';
  if (/key values mismatch|KEY_VALUES_MISMATCH/i.test(message)) return 'ssl.keystore: the private key does not match the first certificate of the chain';
  return `ssl.keystore: the private key cannot be used (${message})`;
}

/** Reads the keystore and truststore named in `config`; null when no listener is SSL. */
export async function loadBrokerTls(config: SecurityKeys): Promise<BrokerTls | null> {
  checkSecurityConfig(config);
  if (listenerProtocol(config, 'rill') !== 'SSL' && listenerProtocol(config, 'kafka') !== 'SSL') return null;

  const location = config['ssl.keystore.location'];
  const keyKey = location !== null ? 'ssl.keystore.location' : 'ssl.keystore.key';
  const keystoreWhere = location ?? 'ssl.keystore.key';
  const keyText = location !== null ? await readPem('ssl.keystore.location', location) : config['ssl.keystore.key']!;
  const keys = pemBlocks(keyText, 'PRIVATE KEY');
  if (keys.length !== 1) throw rillError('INVALID_CONFIG', `${keyKey}: expected one PEM private key in ${keystoreWhere}, found ${keys.length}`);
  const chain =
    location !== null
      ? certificates('ssl.keystore.location', location, keyText)
      : certificates('ssl.keystore.certificate.chain', 'ssl.keystore.certificate.chain', config['ssl.keystore.certificate.chain']!);

  let ca: string[] | undefined;
  const trustLocation = config['ssl.truststore.location'];
  if (trustLocation !== null) ca = certificates('ssl.truststore.location', trustLocation, await readPem('ssl.truststore.location', trustLocation));
  else if (config['ssl.truststore.certificates'] !== null) ca = certificates('ssl.truststore.certificates', 'ssl.truststore.certificates', config['ssl.truststore.certificates']);

  const versions = enabledProtocols(config['ssl.enabled.protocols']);
  const ordered = TLS_VERSIONS.filter((v) => versions.includes(v));
  const common: tls.SecureContextOptions = {
    key: keys[0]!,
    cert: chain.join('\n'),
    ...(config['ssl.key.password'] !== null ? { passphrase: config['ssl.key.password'] } : {}),
    ...(ca !== undefined ? { ca } : {}),
    minVersion: ordered[0]!,
    maxVersion: ordered[ordered.length - 1]!,
    ...(config['ssl.cipher.suites'] !== null ? { ciphers: config['ssl.cipher.suites'].split(',').map((s) => s.trim()).join(':') } : {}),
  };
  try {
    tls.createSecureContext(common);
  } catch (err) {
    const message = (err as Error).message;
    if (/cipher/i.test(message) && common.ciphers !== undefined) throw rillError('INVALID_CONFIG', `ssl.cipher.suites: ${message}`);
    throw rillError('INVALID_CONFIG', keystoreProblem(message, config['ssl.key.password'] !== null));
  }
  const clientAuth = config['ssl.client.auth'] as ClientAuth;
  const algorithm = config['ssl.endpoint.identification.algorithm'];
  const verifyHostname = algorithm !== null && algorithm !== '';
  return {
    // 'requested' lets a client without a certificate in; one that presents a certificate the
    // truststore does not verify is closed by the listener (broker/server.ts), as Kafka's
    // wantClientAuth handshake fails it.
    server: { ...common, requestCert: clientAuth !== 'none', rejectUnauthorized: clientAuth === 'required', handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
    peer: { ...common, rejectUnauthorized: true, ...(verifyHostname ? {} : { checkServerIdentity: () => undefined }) },
    clientAuth,
  };
}
