/**
 * A disk that fails (here: a segment file that is really /dev/full, so every write returns
 * ENOSPC) fails that partition with KAFKA_STORAGE_ERROR and a log line; the broker and the
 * other partitions keep working.
 */
import { existsSync } from 'node:fs';
import { rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { Fixture, batch, createTopic, produce, readAll } from '../broker/harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('storage errors', () => {
  it.runIf(existsSync('/dev/full'))('ENOSPC on one partition → KAFKA_STORAGE_ERROR there, everything else keeps working', async () => {
    const dataDir = await fx.tempDir();
    let broker = await fx.broker({ dataDir });
    let client = await fx.client(broker);
    await createTopic(client, 't', 2);
    await client.close();
    await broker.close();
    // Partition 0's (empty) active segment becomes /dev/full.
    const segment = join(dataDir, 't-0', '00000000000000000000.log');
    await rm(segment);
    await symlink('/dev/full', segment);

    broker = await fx.broker({ dataDir });
    client = await fx.client(broker);
    const failed = await produce(client, 't', 0, batch(['lost']));
    expect(failed.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(failed.errorMessage).toMatch(/ENOSPC|failed/);
    // The failed partition keeps refusing, with the same clear error, and does not wedge the connection.
    expect((await produce(client, 't', 0, batch(['again']))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(client, 't', 1, batch(['fine']))).errorCode).toBe(0);
    expect((await readAll(client, 't', 1)).map((r) => r.value)).toEqual(['fine']);
    const meta = await client.request('Metadata', { topics: ['t'], allowAutoTopicCreation: false });
    expect(meta.topics[0]!.errorCode).toBe(0);
    // close() still completes (the failed log is closed without a flush, and no clean marker is claimed for it).
    await client.close();
    await broker.close();
  });
});
