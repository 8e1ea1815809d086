import { readdir, readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../protocol/record-batch.js';
import { LogManager } from '../../storage/log-manager.js';
import { HIGH_WATERMARK_CHECKPOINT_FILE } from '../../storage/log-file-names.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { batchOf, config, readAll, removeDir, tempDir } from './helpers.js';

/** A leader's batch: `count` records at `baseOffset`, written in `epoch`. */
function leaderBatch(baseOffset: number, count: number, epoch: number, producer?: { id: number; seq: number }): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ value: `v${baseOffset + i}`, key: `k${(baseOffset + i) % 3}`, timestamp: 1_700_000_000_000 + baseOffset + i }));
  return encodeBatch(records, {
    baseOffset,
    partitionLeaderEpoch: epoch,
    ...(producer === undefined ? {} : { producerId: producer.id, producerEpoch: 0, baseSequence: producer.seq }),
  });
}

describe('PartitionLog as a follower', () => {
  let dir: string;
  const logs: PartitionLog[] = [];
  const open = async (opts: { segmentBytes?: number; highWatermark?: number; recoveryPoint?: number | null } = {}): Promise<PartitionLog> => {
    const log = await PartitionLog.open({
      topic: 't', partition: 0, dir, config: config({ segmentBytes: opts.segmentBytes ?? 1024 * 1024, indexIntervalBytes: 64 }),
      recoveryPoint: opts.recoveryPoint ?? 0, ...(opts.highWatermark === undefined ? {} : { highWatermark: opts.highWatermark }),
    });
    logs.push(log);
    return log;
  };
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const l of logs.splice(0)) if (!l.isClosed) await l.close();
    await removeDir(dir);
  });

  it('appendAsFollower keeps the leader\'s offsets and epochs byte for byte and replays producer state', async () => {
    const log = await open();
    const batches = [leaderBatch(0, 3, 1, { id: 7, seq: 0 }), leaderBatch(3, 2, 1, { id: 7, seq: 3 }), leaderBatch(5, 4, 2)];
    await log.appendAsFollower(Buffer.concat(batches.slice(0, 2)));
    await log.appendAsFollower(batches[2]!);
    expect(log.logEndOffset).toBe(9);
    const { records } = await log.read(0, 1 << 20);
    expect(records.equals(Buffer.concat(batches))).toBe(true);
    expect(log.producerState(7)?.lastSequence).toBe(4);
    expect(log.epochEntries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 5 }]);
  });

  it('refuses a batch that overlaps the log end, and a buffer whose batches go backwards, losing nothing', async () => {
    const log = await open();
    await log.appendAsFollower(leaderBatch(0, 3, 1));
    await expect(log.appendAsFollower(leaderBatch(2, 1, 1))).rejects.toMatchObject({ errorName: 'CORRUPT_MESSAGE' });
    await expect(log.appendAsFollower(Buffer.concat([leaderBatch(5, 2, 1), leaderBatch(4, 1, 1)]))).rejects.toMatchObject({ errorName: 'CORRUPT_MESSAGE' });
    await expect(log.appendAsFollower(Buffer.from('nope'))).rejects.toMatchObject({ errorName: 'CORRUPT_MESSAGE' });
    expect(log.logEndOffset).toBe(3);
    // A gap the leader's compaction left is fine.
    await log.appendAsFollower(leaderBatch(10, 1, 1));
    expect(log.logEndOffset).toBe(11);
  });

  it('truncateTo cuts segments, indexes, producer state and epoch cache, and the log keeps working and reopens the same', async () => {
    const log = await open({ segmentBytes: 400 });
    let off = 0;
    for (let i = 0; i < 12; i++) {
      await log.appendAsFollower(leaderBatch(off, 3, i < 6 ? 1 : 3, { id: 5, seq: off }));
      off += 3;
    }
    expect(log.segmentCount).toBeGreaterThanOrEqual(3);
    expect(log.epochEntries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 18 }]);
    // Cut inside a batch (offset 13 is in [12, 14]): the whole batch goes.
    expect(await log.truncateTo(13)).toBe(12);
    expect(log.logEndOffset).toBe(12);
    expect(log.highWatermark).toBe(12);
    expect(log.epochEntries).toEqual([{ epoch: 1, startOffset: 0 }]);
    expect(log.producerState(5)?.lastSequence).toBe(11);
    expect((await readAll(log)).map((r) => r.offset)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(await log.truncateTo(20)).toBe(12);
    // The log goes on from the cut, in a new epoch.
    await log.appendAsFollower(leaderBatch(12, 2, 4));
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 12 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 1, endOffset: 12 });
    await log.close();
    const files = (await readdir(dir)).filter((f) => f.endsWith('.deleted'));
    expect(files).toEqual([]);
    const again = await open({ segmentBytes: 400, recoveryPoint: 0 });
    expect(again.logEndOffset).toBe(14);
    expect(again.epochEntries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 12 }]);
    expect((await readAll(again)).map((r) => r.value)).toEqual(Array.from({ length: 14 }, (_, i) => `v${i}`));
  });

  it('a truncation is on disk when truncateTo returns: a crash right after it (no flush, no clean shutdown) reopens to the cut log', async () => {
    const log = await open({ segmentBytes: 400 });
    for (let off = 0; off < 30; off += 3) await log.appendAsFollower(leaderBatch(off, 3, off < 15 ? 1 : 2));
    await log.flush();
    await log.truncateTo(15);
    await log.close({ flush: false });
    const again = await open({ segmentBytes: 400, recoveryPoint: 0 });
    expect(again.logEndOffset).toBe(15);
    expect(again.epochEntries).toEqual([{ epoch: 1, startOffset: 0 }]);
    expect((await readAll(again)).map((r) => r.offset)).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it('truncateTo below the first segment\'s base offset and below the log start empties the log and restarts it there', async () => {
    const log = await open({ segmentBytes: 400 });
    for (let off = 0; off < 30; off += 3) await log.appendAsFollower(leaderBatch(off, 3, 2));
    await log.deleteRecordsBefore(9);
    expect(await log.truncateTo(6)).toBe(6);
    expect(log.logStartOffset).toBe(6);
    expect(log.logEndOffset).toBe(6);
    expect(log.epochEntries).toEqual([]);
    await log.appendAsFollower(leaderBatch(6, 1, 3));
    expect((await readAll(log)).map((r) => r.offset)).toEqual([6]);
    // A follower below its leader's log start restarts there, past its own log end.
    expect(await log.truncateFullyAndStartAt(40)).toBe(40);
    expect([log.logStartOffset, log.logEndOffset, log.segmentBaseOffsets]).toEqual([40, 40, [40]]);
    await log.appendAsFollower(leaderBatch(40, 2, 5));
    expect((await readAll(log)).map((r) => r.offset)).toEqual([40, 41]);
  });

  it('a managed high watermark never moves back, bounds consumer reads, and the replica read goes to the log end', async () => {
    const log = await open({ highWatermark: 0 });
    await log.appendAsFollower(Buffer.concat([leaderBatch(0, 2, 1), leaderBatch(2, 2, 1), leaderBatch(4, 2, 1)]));
    expect(log.highWatermark).toBe(0);
    expect((await log.read(0, 1 << 20)).records.length).toBe(0);
    expect(log.updateHighWatermark(4)).toBe(true);
    expect(log.updateHighWatermark(3)).toBe(false);
    expect(log.highWatermark).toBe(4);
    const consumer = await log.read(0, 1 << 20);
    expect(consumer.highWatermark).toBe(4);
    expect(consumer.records.equals(Buffer.concat([leaderBatch(0, 2, 1), leaderBatch(2, 2, 1)]))).toBe(true);
    await expect(log.read(5, 100)).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    const replica = await log.read(4, 1 << 20, { isolation: 'logEnd' });
    expect(replica.records.equals(leaderBatch(4, 2, 1))).toBe(true);
    // Clamped to the log end.
    log.updateHighWatermark(100);
    expect(log.highWatermark).toBe(6);
    // Truncation brings it down with the log end.
    await log.truncateTo(2);
    expect(log.highWatermark).toBe(2);
  });

  it('a single broker\'s high watermark follows the log end and updateHighWatermark is refused', async () => {
    const log = await open();
    await log.append(batchOf(2, 'a'));
    expect(log.highWatermark).toBe(2);
    expect(log.isHighWatermarkManaged).toBe(false);
    expect(() => log.updateHighWatermark(1)).toThrow();
    log.manageHighWatermark(1);
    await log.append(batchOf(2, 'b'));
    expect(log.highWatermark).toBe(1);
    log.manageHighWatermark(null);
    expect(log.highWatermark).toBe(4);
  });
});

describe('LogManager replication-offset-checkpoint', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('is absent for a single broker, and carries managed high watermarks across a restart', async () => {
    const mgr = await LogManager.open({ dataDir: dir, defaultConfig: config() });
    const a = await mgr.create('t', 0, config());
    const b = await mgr.create('t', 1, config());
    await a.append(batchOf(3, 'a'));
    await b.append(batchOf(3, 'b'));
    await mgr.writeCheckpoints();
    expect((await readdir(dir)).includes(HIGH_WATERMARK_CHECKPOINT_FILE)).toBe(false);
    a.manageHighWatermark(2);
    await mgr.close();
    expect(await readFile(`${dir}/${HIGH_WATERMARK_CHECKPOINT_FILE}`, 'utf8')).toBe('0\n1\nt 0 2\n');
    const again = await LogManager.open({ dataDir: dir, defaultConfig: config() });
    expect(again.get('t', 0)!.highWatermark).toBe(2);
    expect(again.get('t', 0)!.isHighWatermarkManaged).toBe(true);
    expect(again.get('t', 1)!.highWatermark).toBe(3);
    await again.close();
  });

  it('is rewritten on its own schedule while a high watermark is managed', async () => {
    const mgr = await LogManager.open({ dataDir: dir, defaultConfig: config(), highWatermarkCheckpointIntervalMs: 10 });
    const a = await mgr.create('t', 0, config());
    await a.append(batchOf(5, 'a'));
    a.manageHighWatermark(1);
    a.updateHighWatermark(4);
    const path = `${dir}/${HIGH_WATERMARK_CHECKPOINT_FILE}`;
    const deadline = Date.now() + 10_000;
    let text = '';
    while (!text.includes('t 0 4') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      text = await readFile(path, 'utf8').catch(() => '');
    }
    expect(text).toBe('0\n1\nt 0 4\n');
    await mgr.close();
  });
});
