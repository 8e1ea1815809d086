import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBatches, encodeBatch } from '../../protocol/record-batch.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { batchOf, config, removeDir, tempDir } from './helpers.js';

/** [baseOffset, partitionLeaderEpoch] of every batch of the log, read back from disk. */
async function epochsOnDisk(log: PartitionLog): Promise<Array<[number, number]>> {
  const { records } = await log.read(0, 1024 * 1024);
  // decodeBatches checks every CRC: the stamp must leave it valid.
  return decodeBatches(records).map((b) => [b.header.baseOffset, b.header.partitionLeaderEpoch]);
}

describe('PartitionLog leader epoch', () => {
  let dir: string;
  const logs: PartitionLog[] = [];
  const open = async (leaderEpoch?: number, recoveryPoint: number | null = 0): Promise<PartitionLog> => {
    const log = await PartitionLog.open({ topic: 't', partition: 0, dir, config: config(), recoveryPoint, ...(leaderEpoch === undefined ? {} : { leaderEpoch }) });
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

  it('stamps the log\'s epoch (default 0) over the producer\'s -1 on every batch of an append', async () => {
    const log = await open();
    expect(log.leaderEpoch).toBe(0);
    const two = Buffer.concat([batchOf(2, 'a'), batchOf(3, 'b', { compression: 'gzip' })]);
    expect(decodeBatches(two).map((b) => b.header.partitionLeaderEpoch)).toEqual([-1, -1]);
    await log.append(two);
    expect(await epochsOnDisk(log)).toEqual([[0, 0], [2, 0]]);
  });

  it('a new epoch applies to later appends only, and an epoch passed at open is used', async () => {
    const first = await open(3);
    await first.append(batchOf(1, 'a'));
    first.setLeaderEpoch(4);
    await first.append(encodeBatch([{ value: 'b' }], { partitionLeaderEpoch: 1 }));
    await first.close();
    const reopened = await open(9, null);
    expect(reopened.leaderEpoch).toBe(9);
    await reopened.append(batchOf(1, 'c'));
    expect(await epochsOnDisk(reopened)).toEqual([[0, 3], [1, 4], [2, 9]]);
  });

  it('stampLeaderEpoch: false (the replication path) stores the epoch the batch carries', async () => {
    const log = await open(7);
    await log.append(encodeBatch([{ value: 'x' }, { value: 'y' }], { partitionLeaderEpoch: 2 }), { stampLeaderEpoch: false });
    await log.append(batchOf(1, 'z'), { stampLeaderEpoch: false });
    await log.append(batchOf(1, 'w'));
    expect(await epochsOnDisk(log)).toEqual([[0, 2], [2, -1], [3, 7]]);
  });

  it('refuses an epoch outside 0 .. 2^31 - 1', async () => {
    const log = await open();
    for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) expect(() => log.setLeaderEpoch(bad)).toThrow(RangeError);
    await expect(open(-2)).rejects.toThrow(RangeError);
    expect(log.leaderEpoch).toBe(0);
  });
});
