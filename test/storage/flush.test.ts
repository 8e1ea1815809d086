import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartitionLog } from '../../storage/partition-log.js';
import { batchOf, config, removeDir, tempDir } from './helpers.js';

describe('flush policies', () => {
  let dir: string;
  let log: PartitionLog | undefined;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await log?.close();
    log = undefined;
    await removeDir(dir);
  });

  it('flush always (flush.messages=1): an append resolves only after an fdatasync covering it', async () => {
    log = await PartitionLog.open({ topic: 'f', partition: 0, dir, config: config({ flushMessages: 1 }), recoveryPoint: 0 });
    const l = log;
    for (let i = 0; i < 5; i++) {
      const fsyncsBefore = l.stats.fsyncs;
      const r = await l.append(batchOf(1, `a${i}`));
      expect(l.durableEndOffset).toBeGreaterThan(r.lastOffset);
      expect(l.stats.fsyncs).toBe(fsyncsBefore + 1);
    }
  });

  it('flush always group-commits: many concurrent appends share fdatasyncs', async () => {
    log = await PartitionLog.open({ topic: 'f', partition: 0, dir, config: config({ flushMessages: 1 }), recoveryPoint: 0 });
    const l = log;
    const n = 200;
    const durableAtResolve: number[] = [];
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => l.append(batchOf(1, `g${i}`)).then((r) => {
        durableAtResolve.push(l.durableEndOffset);
        return r;
      })),
    );
    results.forEach((r, i) => {
      expect(r.baseOffset).toBe(i);
    });
    // Each append resolved after an fdatasync that covered it.
    const sorted = [...results].sort((a, b) => a.lastOffset - b.lastOffset);
    expect(durableAtResolve.length).toBe(n);
    expect(Math.min(...durableAtResolve)).toBeGreaterThan(sorted[0]!.lastOffset);
    expect(l.durableEndOffset).toBe(n);
    expect(l.stats.fsyncs).toBeGreaterThanOrEqual(1);
    expect(l.stats.fsyncs).toBeLessThan(n / 4);
  });

  it('flush.messages=N: the append that brings the unflushed count to N waits for the fdatasync', async () => {
    log = await PartitionLog.open({ topic: 'f', partition: 0, dir, config: config({ flushMessages: 10 }), recoveryPoint: 0 });
    await log.append(batchOf(4, 'a'));
    await log.append(batchOf(4, 'b'));
    expect(log.stats.fsyncs).toBe(0);
    expect(log.durableEndOffset).toBe(0);
    const r = await log.append(batchOf(4, 'c'));
    expect(log.stats.fsyncs).toBe(1);
    expect(log.durableEndOffset).toBeGreaterThan(r.lastOffset);
  });

  it('flush.ms: flushIfDue flushes only once unflushed data is older than flush.ms', async () => {
    log = await PartitionLog.open({ topic: 'f', partition: 0, dir, config: config({ flushMs: 60_000 }), recoveryPoint: 0 });
    await log.append(batchOf(3, 'a'));
    expect(await log.flushIfDue(Date.now())).toBe(false);
    expect(log.recoveryPoint).toBe(0);
    expect(await log.flushIfDue(Date.now() + 61_000)).toBe(true);
    expect(log.durableEndOffset).toBe(3);
    expect(log.recoveryPoint).toBe(3);
    expect(await log.flushIfDue(Date.now() + 200_000)).toBe(false);
  });

  it('a duplicate of a batch still waiting for its fdatasync resolves only after it', async () => {
    log = await PartitionLog.open({ topic: 'f', partition: 0, dir, config: config({ flushMessages: 1 }), recoveryPoint: 0 });
    const l = log;
    const first = l.append(batchOf(2, 'p', { producerId: 7, baseSequence: 0 }));
    const dup = l.append(batchOf(2, 'p', { producerId: 7, baseSequence: 0 }));
    const [a, b] = await Promise.all([first, dup]);
    expect(b.duplicate).toBe(true);
    expect([b.baseOffset, b.lastOffset]).toEqual([a.baseOffset, a.lastOffset]);
    expect(l.durableEndOffset).toBeGreaterThan(b.lastOffset);
    expect(l.logEndOffset).toBe(2);
  });
});
