/**
 * The `rill` command against an SSL broker, as an operator runs it (the compiled CLI as a child
 * process): `--ssl-ca` for topics/produce/consume, `--ssl-cert`/`--ssl-key` for a broker that
 * requires client certificates, one-line errors for a missing CA file or plain TCP; and
 * `rill broker start --set ssl...` refusing a keystore it cannot read, with nothing on disk.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/outside-tools.js';
import { isOneLineError, rill } from '../integration/cli-run.js';
import { TestEnv } from '../integration/harness.js';
import { sslBrokerConfig, suiteCerts, type TestCerts } from './certs.js';

const hasOpenssl = requireTool('openssl');

describe.skipIf(!hasOpenssl)('rill CLI over SSL', () => {
  const env = new TestEnv();
  let certs: TestCerts;
  suiteCerts((made) => (certs = made));
  afterEach(() => env.cleanup());

  it('--ssl-ca: create, produce and consume; without it, one error line', async () => {
    const broker = await env.broker(sslBrokerConfig(certs));
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    const ssl = ['--ssl-ca', certs.caFile];
    const created = await rill([...brokers, ...ssl, 'topics', 'create', 'cli-tls', '--partitions', '1']);
    expect(created.code, created.stderr).toBe(0);
    const produced = await rill([...brokers, ...ssl, 'produce', 'cli-tls', '--key-separator', ':'], 'k1:hello\nk2:world\n');
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await rill([...brokers, ...ssl, 'consume', 'cli-tls', '--from-beginning', '--max-messages', '2']);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout).toContain('hello');
    expect(consumed.stdout).toContain('world');

    const untrusted = await rill([...brokers, '--ssl', 'topics', 'list']);
    expect(isOneLineError(untrusted), untrusted.stderr).toBe(true);
    expect(untrusted.stderr).toMatch(/TLS connection to 127\.0\.0\.1:\d+ failed/);
    const missing = await rill([...brokers, '--ssl-ca', join(certs.dir, 'absent.pem'), 'topics', 'list']);
    expect(isOneLineError(missing), missing.stderr).toBe(true);
    expect(missing.stderr).toMatch(/--ssl-ca: cannot read .*absent\.pem \(ENOENT\)/);
  });

  it('--ssl-cert and --ssl-key for ssl.client.auth=required', async () => {
    const broker = await env.broker(sslBrokerConfig(certs, { 'ssl.client.auth': 'required' }));
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    const listed = await rill([...brokers, '--ssl-ca', certs.caFile, '--ssl-cert', certs.clientCertFile, '--ssl-key', certs.clientKeyFile, 'topics', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    const half = await rill([...brokers, '--ssl-ca', certs.caFile, '--ssl-cert', certs.clientCertFile, 'topics', 'list']);
    expect(isOneLineError(half), half.stderr).toBe(true);
    expect(half.stderr).toMatch(/--ssl-cert and --ssl-key go together/);
  });

  it('rill broker start with an unreadable keystore: one "cannot start" line, exit 1, no data dir', async () => {
    const dataDir = join(certs.dir, 'never-created');
    const r = await rill(['broker', 'start', '--port', '0', '--data-dir', dataDir, '--set', 'listener.security.protocol=SSL', '--set', `ssl.keystore.location=${join(certs.dir, 'nope.pem')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rill broker: cannot start: ssl\.keystore\.location: cannot read .*nope\.pem \(ENOENT\)\n$/);
    await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
