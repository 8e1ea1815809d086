import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../protocol/record-batch.js';
import { LEADER_EPOCH_CHECKPOINT_FILE, LeaderEpochCache, parseLeaderEpochCheckpoint } from '../../storage/leader-epoch-cache.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { batchOf, config, removeDir, tempDir } from './helpers.js';

describe('LeaderEpochCache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('assigns only newer epochs and answers endOffsetFor as KIP-101/279 define', () => {
    const c = new LeaderEpochCache(dir);
    expect(c.endOffsetFor(0, 10)).toEqual({ epoch: -1, endOffset: -1 });
    expect(c.assign(1, 0)).toBe(true);
    expect(c.assign(1, 5)).toBe(false);
    expect(c.assign(0, 6)).toBe(false);
    c.assign(3, 10);
    c.assign(6, 25);
    expect(c.all).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }, { epoch: 6, startOffset: 25 }]);
    expect(c.endOffsetFor(0, 40)).toEqual({ epoch: -1, endOffset: -1 });
    expect(c.endOffsetFor(1, 40)).toEqual({ epoch: 1, endOffset: 10 });
    // An epoch this log never saw: the largest known epoch below it, ending where the next starts.
    expect(c.endOffsetFor(2, 40)).toEqual({ epoch: 1, endOffset: 10 });
    expect(c.endOffsetFor(5, 40)).toEqual({ epoch: 3, endOffset: 25 });
    expect(c.endOffsetFor(6, 40)).toEqual({ epoch: 6, endOffset: 40 });
    expect(c.endOffsetFor(9, 40)).toEqual({ epoch: 6, endOffset: 40 });
  });

  it('a newer epoch starting at or before existing entries replaces them', () => {
    const c = new LeaderEpochCache(dir);
    c.assign(1, 0);
    c.assign(2, 10);
    c.assign(4, 10);
    expect(c.all).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 10 }]);
  });

  it('truncateFromEnd and truncateFromStart', () => {
    const c = new LeaderEpochCache(dir);
    c.assign(1, 0);
    c.assign(2, 10);
    c.assign(3, 20);
    c.truncateFromEnd(20);
    expect(c.all.map((e) => e.epoch)).toEqual([1, 2]);
    c.truncateFromStart(15);
    expect(c.all).toEqual([{ epoch: 2, startOffset: 15 }]);
    c.truncateFromStart(5);
    expect(c.all).toEqual([{ epoch: 2, startOffset: 15 }]);
  });

  it('persists atomically in the documented text format and loads it back; a corrupt file is ignored', async () => {
    const c = new LeaderEpochCache(dir);
    c.assign(0, 0);
    c.assign(7, 1520);
    await c.persist();
    const text = await readFile(`${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`, 'utf8');
    expect(text).toBe('0\n2\n0 0\n7 1520\n');
    const back = new LeaderEpochCache(dir);
    expect(await back.load()).toBeNull();
    expect(back.all).toEqual(c.all);
    await writeFile(`${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`, '0\n3\n0 0\n');
    const bad = new LeaderEpochCache(dir);
    expect(await bad.load()).toMatch(/count/);
    expect(bad.all).toEqual([]);
    expect(parseLeaderEpochCheckpoint('0\n2\n5 10\n4 20\n')).toMatch(/increase/);
    expect(parseLeaderEpochCheckpoint('1\n0\n')).toMatch(/version/);
  });
});

describe('PartitionLog keeps the epoch cache in step', () => {
  let dir: string;
  const logs: PartitionLog[] = [];
  const open = async (opts: { leaderEpoch?: number; recoveryPoint?: number | null } = {}): Promise<PartitionLog> => {
    const log = await PartitionLog.open({ topic: 't', partition: 0, dir, config: config({ segmentBytes: 300 }), recoveryPoint: opts.recoveryPoint ?? 0, leaderEpoch: opts.leaderEpoch ?? 0 });
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

  it('leader appends assign each new epoch at its first batch; the file survives a reopen, and a lost file is rebuilt from the log', async () => {
    const log = await open({ leaderEpoch: 2 });
    await log.append(batchOf(3, 'a'));
    await log.append(batchOf(2, 'b'));
    log.setLeaderEpoch(5);
    await log.append(batchOf(1, 'c'));
    expect(log.epochEntries).toEqual([{ epoch: 2, startOffset: 0 }, { epoch: 5, startOffset: 5 }]);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 5 });
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 6 });
    await log.close();
    expect(await readFile(`${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`, 'utf8')).toBe('0\n2\n2 0\n5 5\n');
    await writeFile(`${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`, 'garbage');
    const again = await open({ recoveryPoint: null });
    expect(again.epochEntries).toEqual([{ epoch: 2, startOffset: 0 }, { epoch: 5, startOffset: 5 }]);
  });

  it('retention moves the first entry to the new log start', async () => {
    const log = await open({ leaderEpoch: 1 });
    for (let i = 0; i < 6; i++) await log.append(batchOf(2, `x${i}`));
    log.setLeaderEpoch(3);
    await log.append(batchOf(2, 'y'));
    expect(log.segmentCount).toBeGreaterThan(2);
    const start = await log.deleteRecordsBefore(log.segmentBaseOffsets[1]!);
    expect(log.epochEntries[0]).toEqual({ epoch: 1, startOffset: start });
    expect(log.epochEntries[1]).toEqual({ epoch: 3, startOffset: 12 });
  });

  it('appendAsFollower records the epochs the batches carry', async () => {
    const log = await open({ leaderEpoch: 9 });
    const b0 = encodeBatch([{ value: 'a' }, { value: 'b' }], { baseOffset: 0, partitionLeaderEpoch: 1 });
    const b1 = encodeBatch([{ value: 'c' }], { baseOffset: 2, partitionLeaderEpoch: 4 });
    await log.appendAsFollower(Buffer.concat([b0, b1]));
    expect(log.epochEntries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 2 }]);
    expect(log.logEndOffset).toBe(3);
  });
});
