/**
 * startBroker() and its data dir: one broker per dir (a second is refused, the first keeps
 * serving), the lock goes with close(), and the ports are bound before the disk is touched.
 */
import { existsSync } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker } from '../../broker/index.js';
import { RillError } from '../../protocol/errors.js';
import { Fixture, batch, createTopic, produce, readAll, testLogger } from './harness.js';

const fx = new Fixture();
const blockers: Server[] = [];
afterEach(async () => {
  for (const s of blockers.splice(0)) await new Promise((r) => s.close(r));
  await fx.cleanup();
});

async function busyPort(): Promise<number> {
  const s = createServer();
  blockers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

describe('data dir lock (startBroker)', () => {
  it('refuses a second broker on a locked dir, naming the holder; the first keeps serving', async () => {
    const dataDir = await fx.tempDir();
    const first = await fx.broker({ dataDir });
    const client = await fx.client(first);
    await createTopic(client, 't', 1);
    expect((await produce(client, 't', 0, batch(['before']))).errorCode).toBe(0);

    const err = await startBroker({ dataDir, port: 0, logger: testLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('DATA_DIR_LOCKED');
    expect((err as RillError).message).toBe(`data dir ${await realpath(dataDir)} is locked by another broker (pid ${process.pid} on host ${hostname()}, port ${first.port})`);

    // The refused broker changed nothing: the first one's writes keep their offsets.
    expect((await produce(client, 't', 0, batch(['after']))).baseOffset).toBe(1);
    expect((await readAll(client, 't', 0)).map((r) => r.value)).toEqual(['before', 'after']);
  });

  it('releases the lock in close(): the same process can start a broker on the dir again', async () => {
    const dataDir = await fx.tempDir();
    const first = await startBroker({ dataDir, port: 0, logger: testLogger });
    expect(existsSync(join(dataDir, '.lock'))).toBe(true);
    await first.close();
    expect(existsSync(join(dataDir, '.lock'))).toBe(false);
    expect(existsSync(join(dataDir, '.rill-clean-shutdown'))).toBe(true);
    const second = await fx.broker({ dataDir });
    expect(second.port).toBeGreaterThan(0);
  });

  it('releases the lock after a start that failed past the lock (another node id)', async () => {
    const dataDir = await fx.tempDir();
    await (await startBroker({ dataDir, port: 0, logger: testLogger, 'node.id': 1 })).close();
    await expect(startBroker({ dataDir, port: 0, logger: testLogger, 'node.id': 2 })).rejects.toThrow(/node id 1/);
    await fx.broker({ dataDir, 'node.id': 1 });
  });

  it('a busy port fails the start before anything is created on disk', async () => {
    const parent = await fx.tempDir();
    const dataDir = join(parent, 'never');
    const port = await busyPort();
    const err = await startBroker({ dataDir, port, logger: testLogger }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    expect((err as Error).message).toBe(`port: cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)`);
    expect(existsSync(dataDir)).toBe(false);

    // The same for a busy metrics port, and the broker port bound before it is let go.
    const metricsErr = await startBroker({ dataDir, port: 0, 'metrics.port': port, logger: testLogger }).catch((e: unknown) => e);
    expect((metricsErr as Error).message).toBe(`metrics.port: cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)`);
    expect(existsSync(dataDir)).toBe(false);
    expect(await readdir(parent)).toEqual([]);
  });

  it('a connection made while the broker is still opening its logs is served once it is open', async () => {
    const dataDir = await fx.tempDir();
    const seed = await startBroker({ dataDir, port: 0, logger: testLogger });
    const seeder = await fx.client(seed);
    await createTopic(seeder, 'many', 40);
    await seeder.close();
    await seed.close();
    const port = await busyPort();
    await new Promise((r) => blockers.pop()!.close(r));

    const starting = startBroker({ dataDir, port, logger: testLogger });
    // Connect as soon as the port is bound (before the 40 + 10 logs are open, most of the time).
    let early: Awaited<ReturnType<typeof fx.client>> | null = null;
    for (let attempt = 0; attempt < 2000 && early === null; attempt++) {
      early = await fx.client({ port }, 'early').catch(() => null);
      if (early === null) await new Promise((r) => setTimeout(r, 1));
    }
    const broker = await starting;
    try {
      expect(early).not.toBeNull();
      const meta = await early!.request('Metadata', { topics: ['many'], allowAutoTopicCreation: false });
      expect(meta.topics[0]!.partitions).toHaveLength(40);
    } finally {
      await early?.close();
      await broker.close();
    }
  });

  it('a locked dir fails the start with the broker port let go again', async () => {
    const dataDir = await fx.tempDir();
    await fx.broker({ dataDir });
    const port = await busyPort();
    await new Promise((r) => blockers.pop()!.close(r));
    await expect(startBroker({ dataDir, port, logger: testLogger })).rejects.toThrow(/is locked by another broker/);
    // The refused start closed its listener: the port is free for a broker on another dir.
    const other = await fx.broker({ port });
    expect(other.port).toBe(port);
  });
});
