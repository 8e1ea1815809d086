/**
 * ListOffsets by timestamp over a log holding a poisoned batch (valid CRC, a malformed record),
 * at storage level: the lookup answers from batch headers and never fails. A timestamp that
 * lands on the poisoned batch answers its baseOffset with its header maxTimestamp.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMaxTimestamp } from '../../protocol/record-batch.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { poisonedBatch } from '../helpers/poisoned-batch.js';
import { batchOf, config, removeDir, tempDir } from './helpers.js';

describe('offsetForTimestamp over a poisoned batch', () => {
  let dir: string;
  const logs: PartitionLog[] = [];
  const open = async (overrides = {}): Promise<PartitionLog> => {
    const log = await PartitionLog.open({ topic: 't', partition: 0, dir, config: config(overrides), recoveryPoint: 0 });
    logs.push(log);
    return log;
  };
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const l of logs.splice(0)) await l.close();
    await removeDir(dir);
  });

  /**
   * Offsets 0-2 (ts 1000-1002), 3-4 (2000-2001), the poisoned batch at 5 (its header
   * maxTimestamp is the wall clock, `poisonTs`), 6-8 (poisonTs + 1000..), 9-10 (poisonTs + 2000..).
   */
  async function poisonedLog(overrides = {}): Promise<{ log: PartitionLog; poisonTs: number }> {
    const log = await open(overrides);
    const poison = poisonedBatch();
    const poisonTs = readMaxTimestamp(poison);
    await log.append(batchOf(3, 'a', { timestamp: 1000 }));
    await log.append(batchOf(2, 'b', { timestamp: 2000 }));
    expect((await log.append(poison)).baseOffset).toBe(5);
    await log.append(batchOf(3, 'c', { timestamp: poisonTs + 1000 }));
    await log.append(batchOf(2, 'd', { timestamp: poisonTs + 2000 }));
    return { log, poisonTs };
  }

  /** [target, expected answer] for timestamps before, inside and after the poisoned batch. */
  function cases(poisonTs: number): Array<[number, { offset: number; timestamp: number } | null]> {
    return [
      [0, { offset: 0, timestamp: 1000 }],
      [1001, { offset: 1, timestamp: 1001 }],
      [1500, { offset: 3, timestamp: 2000 }],
      [2001, { offset: 4, timestamp: 2001 }],
      // Past every good record before it: the first batch that may hold it is the poisoned one.
      [2002, { offset: 5, timestamp: poisonTs }],
      [poisonTs - 1, { offset: 5, timestamp: poisonTs }],
      [poisonTs, { offset: 5, timestamp: poisonTs }],
      // Batches after it are found from their headers without decoding the poisoned one.
      [poisonTs + 1, { offset: 6, timestamp: poisonTs + 1000 }],
      [poisonTs + 1002, { offset: 8, timestamp: poisonTs + 1002 }],
      [poisonTs + 1500, { offset: 9, timestamp: poisonTs + 2000 }],
      [poisonTs + 2001, { offset: 10, timestamp: poisonTs + 2001 }],
      [poisonTs + 2002, null],
    ];
  }

  it('answers timestamps before, inside and after it in one segment', async () => {
    const { log, poisonTs } = await poisonedLog();
    expect(log.segmentCount).toBe(1);
    for (const [target, want] of cases(poisonTs)) expect(await log.offsetForTimestamp(target), `target ${target}`).toEqual(want);
  });

  it('answers the same across segments, with time index entries, and after a reopen', async () => {
    const { log, poisonTs } = await poisonedLog({ segmentBytes: 200, indexIntervalBytes: 1 });
    expect(log.segmentCount).toBeGreaterThan(2);
    for (const [target, want] of cases(poisonTs)) expect(await log.offsetForTimestamp(target), `target ${target}`).toEqual(want);
    await log.close();
    logs.splice(logs.indexOf(log), 1);
    const again = await open({ segmentBytes: 200, indexIntervalBytes: 1 });
    expect(again.logEndOffset).toBe(11);
    for (const [target, want] of cases(poisonTs)) expect(await again.offsetForTimestamp(target), `target ${target} after reopen`).toEqual(want);
  });

  it('never answers the poisoned batch once the log start moved past it', async () => {
    const { log, poisonTs } = await poisonedLog();
    await log.deleteRecordsBefore(6);
    expect(await log.offsetForTimestamp(2002)).toEqual({ offset: 6, timestamp: poisonTs + 1000 });
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 6, timestamp: poisonTs + 1000 });
  });
});
