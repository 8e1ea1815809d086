/**
 * An append settles only once no write refers to its bytes: the broker reuses a produce
 * request's buffer as soon as its append settles (broker/frame-buffer-pool.ts). When the log
 * fails while a group is being written (a background flush failing, here simulated by calling
 * the log's fail() at that moment), the group is rejected after its writev returned, not at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../protocol/record-batch.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { SYNC_WRITE_MAX_BYTES } from '../../storage/segment.js';
import { config, removeDir, tempDir } from './helpers.js';

/** The writer's internals this test steps through (not part of the log's API). */
interface WriterInternals {
  writingGroup: unknown[];
  fail(err: Error): void;
}

describe('append lifetime', () => {
  let dir: string;
  let log: PartitionLog;
  beforeEach(async () => {
    dir = await tempDir();
    log = await PartitionLog.open({ topic: 't', partition: 0, dir, config: config(), recoveryPoint: null });
  });
  afterEach(async () => {
    if (!log.isClosed) await log.close({ flush: false });
    await removeDir(dir);
  });

  it('a log that fails during a write rejects that write\'s appends only after the write returned', async () => {
    // Over the synchronous-write bound, so the writev is in flight on the threadpool.
    const big = encodeBatch([{ value: Buffer.alloc(SYNC_WRITE_MAX_BYTES * 2, 0x61) }]);
    const settled = log.append(big).then(
      () => ({ ok: true as const, writes: log.stats.writes }),
      (err: unknown) => ({ ok: false as const, err: err as { errorName?: string }, writes: log.stats.writes }),
    );
    const internals = log as unknown as WriterInternals;
    // The writer loop starts from a microtask and issues its writev before yielding to I/O.
    for (let i = 0; i < 50 && internals.writingGroup.length === 0; i++) await Promise.resolve();
    expect(internals.writingGroup.length).toBe(1);
    internals.fail(new Error('simulated background flush failure'));
    const r = await settled;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.err.errorName).toBe('KAFKA_STORAGE_ERROR');
    // The write had returned (and was counted) before the append was answered.
    expect(r.writes).toBe(1);
    await expect(log.append(encodeBatch([{ value: 'later' }]))).rejects.toMatchObject({ errorName: 'KAFKA_STORAGE_ERROR' });
  });
});
