/**
 * Test harness for the client and integration suites: real brokers on 127.0.0.1 port 0 in temp
 * dirs, SDK clients pointed at them, and cleanup of all of it in afterEach.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startBroker, type BrokerHandle, type StartBrokerOptions } from '../../broker/index.js';
import { Rill, type RillConfig } from '../../client/index.js';

/** Logs in tests: silent unless RILL_TEST_LOG=debug|info|warn is set. */
export const testLogger = pino({ level: process.env.RILL_TEST_LOG ?? 'silent' }, pino.destination(2));

export class TestEnv {
  private readonly dirs: string[] = [];
  private readonly brokers = new Set<BrokerHandle>();
  private readonly clients: Rill[] = [];

  async tempDir(prefix = 'rill-client-test-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** A broker on 127.0.0.1 (port 0 unless given), in a fresh temp dir unless `dataDir` is given. */
  async broker(options: Partial<StartBrokerOptions> = {}): Promise<BrokerHandle & { dataDir: string }> {
    const dataDir = options.dataDir ?? (await this.tempDir());
    const broker = await startBroker({ port: 0, host: '127.0.0.1', logger: testLogger, ...options, dataDir });
    this.brokers.add(broker);
    return Object.assign(broker, { dataDir });
  }

  /** Closes a broker (gracefully) and forgets it. */
  async stop(broker: BrokerHandle): Promise<void> {
    this.brokers.delete(broker);
    await broker.close();
  }

  client(port: number, config: Partial<RillConfig> = {}): Rill {
    const rill = new Rill({ brokers: [`127.0.0.1:${port}`], clientId: 'test', logger: testLogger, ...config });
    this.clients.push(rill);
    return rill;
  }

  async cleanup(): Promise<void> {
    // Taken first: a cleanup still running after its hook timed out must not touch the next test's.
    const clients = this.clients.splice(0);
    const brokers = [...this.brokers];
    this.brokers.clear();
    const dirs = this.dirs.splice(0);
    for (const c of clients) await c.close().catch(() => undefined);
    for (const b of brokers) await b.close().catch(() => undefined);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
