import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { incrementSequence } from '../../storage/producer-state.js';
import { batchOf, config, readAll, removeDir, tempDir } from './helpers.js';

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (err) {
    return err instanceof RillError ? err.errorName : String(err);
  }
}

describe('idempotent producers', () => {
  let dir: string;
  let log: PartitionLog;
  const open = (recoveryPoint: number | null): Promise<PartitionLog> =>
    PartitionLog.open({ topic: 'i', partition: 0, dir, config: config({ segmentBytes: 400 }), recoveryPoint });
  beforeEach(async () => {
    dir = await tempDir();
    log = await open(0);
  });
  afterEach(async () => {
    await log.close();
    await removeDir(dir);
  });

  it('dedupes retries of any of the last 5 batches, refuses gaps, accepts the next sequence', async () => {
    const pid = 1000;
    const originals = [];
    for (let i = 0; i < 6; i++) originals.push(await log.append(batchOf(3, `s${i}`, { producerId: pid, baseSequence: i * 3 })));
    // The last five are remembered: a retry answers with the original offsets and writes nothing.
    for (let i = 1; i < 6; i++) {
      const dup = await log.append(batchOf(3, `s${i}`, { producerId: pid, baseSequence: i * 3 }));
      expect(dup).toMatchObject({ duplicate: true, baseOffset: originals[i]!.baseOffset, lastOffset: originals[i]!.lastOffset });
    }
    expect(log.logEndOffset).toBe(18);
    // The first one fell out of the cache: it is neither a duplicate nor the next sequence.
    expect(await errorName(log.append(batchOf(3, 's0', { producerId: pid, baseSequence: 0 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(await errorName(log.append(batchOf(1, 'gap', { producerId: pid, baseSequence: 19 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(await errorName(log.append(batchOf(2, 'overlap', { producerId: pid, baseSequence: 16 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    const next = await log.append(batchOf(1, 'next', { producerId: pid, baseSequence: 18 }));
    expect(next).toMatchObject({ duplicate: false, baseOffset: 18 });
    expect(log.producerState(pid)).toMatchObject({ epoch: 0, lastSequence: 18 });
  });

  it('fences older epochs and requires a new epoch to start at 0', async () => {
    await log.append(batchOf(2, 'a', { producerId: 5, producerEpoch: 1, baseSequence: 0 }));
    expect(await errorName(log.append(batchOf(1, 'old', { producerId: 5, producerEpoch: 0, baseSequence: 2 })))).toBe('INVALID_PRODUCER_EPOCH');
    expect(await errorName(log.append(batchOf(1, 'bump', { producerId: 5, producerEpoch: 2, baseSequence: 4 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect((await log.append(batchOf(1, 'bump', { producerId: 5, producerEpoch: 2, baseSequence: 0 }))).baseOffset).toBe(2);
    expect(log.producerState(5)).toMatchObject({ epoch: 2, lastSequence: 0 });
    expect(await errorName(log.append(batchOf(1, 'old', { producerId: 5, producerEpoch: 1, baseSequence: 2 })))).toBe('INVALID_PRODUCER_EPOCH');
  });

  it('accepts any first sequence from an unknown producer and wraps sequences at 2^31-1', async () => {
    const max = 2 ** 31 - 1;
    await log.append(batchOf(2, 'w', { producerId: 9, baseSequence: max - 1 }));
    expect(log.producerState(9)!.lastSequence).toBe(max);
    expect(incrementSequence(max, 1)).toBe(0);
    expect((await log.append(batchOf(2, 'wrapped', { producerId: 9, baseSequence: 0 }))).duplicate).toBe(false);
    const crossing = await log.append(batchOf(3, 'x', { producerId: 10, baseSequence: max - 1 }));
    expect(log.producerState(10)!.lastSequence).toBe(0); // max-1, max, 0
    const dup = await log.append(batchOf(3, 'x', { producerId: 10, baseSequence: max - 1 }));
    expect(dup).toMatchObject({ duplicate: true, baseOffset: crossing.baseOffset });
  });

  it('checks several batches of one producer in one append against each other, all or nothing', async () => {
    const ok = Buffer.concat([batchOf(2, 'a', { producerId: 3, baseSequence: 0 }), batchOf(2, 'b', { producerId: 3, baseSequence: 2 })]);
    expect((await log.append(ok)).lastOffset).toBe(3);
    const bad = Buffer.concat([batchOf(1, 'c', { producerId: 3, baseSequence: 4 }), batchOf(1, 'd', { producerId: 3, baseSequence: 9 })]);
    expect(await errorName(log.append(bad))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(log.logEndOffset).toBe(4);
    expect(log.producerState(3)!.lastSequence).toBe(3);
  });

  it('survives a clean reopen and a crash (no close) with the same dedupe decisions', async () => {
    const first = await log.append(batchOf(2, 'a', { producerId: 42, producerEpoch: 3, baseSequence: 0 }));
    await log.append(batchOf(2, 'b', { producerId: 42, producerEpoch: 3, baseSequence: 2 }));
    await log.close();
    log = await open(null);
    expect(log.producerState(42)).toMatchObject({ epoch: 3, lastSequence: 3 });
    expect(await log.append(batchOf(2, 'a', { producerId: 42, producerEpoch: 3, baseSequence: 0 }))).toMatchObject({ duplicate: true, baseOffset: first.baseOffset });
    await log.append(batchOf(1, 'c', { producerId: 42, producerEpoch: 3, baseSequence: 4 }));
    // Crash: never closed; reopen with recovery from 0.
    const crashed = log;
    log = await open(0);
    expect(log.producerState(42)).toMatchObject({ epoch: 3, lastSequence: 4 });
    expect(await errorName(log.append(batchOf(1, 'gap', { producerId: 42, producerEpoch: 3, baseSequence: 6 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(await errorName(log.append(batchOf(1, 'old', { producerId: 42, producerEpoch: 2, baseSequence: 5 })))).toBe('INVALID_PRODUCER_EPOCH');
    expect((await log.append(batchOf(1, 'd', { producerId: 42, producerEpoch: 3, baseSequence: 5 }))).baseOffset).toBe(5);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['a-0', 'a-1', 'b-0', 'b-1', 'c-0', 'd-0']);
    await crashed.close({ flush: false });
  });
});
