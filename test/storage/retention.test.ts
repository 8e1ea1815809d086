import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import { decodeBatches } from '../../protocol/record-batch.js';
import { LogManager } from '../../storage/log-manager.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import { bySize, byTime, byStartOffset } from '../../storage/retention.js';
import { batchOf, config, readAll, removeDir, tempDir } from './helpers.js';

describe('retention predicates', () => {
  const segs = [
    { baseOffset: 0, sizeBytes: 100, largestTimestampMs: 1000 },
    { baseOffset: 10, sizeBytes: 100, largestTimestampMs: 3000 },
    { baseOffset: 20, sizeBytes: 100, largestTimestampMs: 2000 },
    { baseOffset: 30, sizeBytes: 50, largestTimestampMs: 9000 },
  ];
  it('walk oldest first, stop at the first segment that stays, never take the last', () => {
    expect(byTime(segs, 1500, 4000)).toBe(1); // 3000 is not older than 2500: stop, even though 2000 would go
    expect(byTime(segs, 500, 10_000)).toBe(3);
    expect(byTime(segs, -1, 10_000)).toBe(0);
    expect(bySize(segs, 250)).toBe(1);
    expect(bySize(segs, 150)).toBe(2);
    expect(bySize(segs, 0)).toBe(3);
    expect(bySize(segs, -1)).toBe(0);
    expect(byStartOffset(segs, 20)).toBe(2);
    expect(byStartOffset(segs, 19)).toBe(1);
    expect(byStartOffset(segs, 1000)).toBe(3);
  });
});

describe('retention on logs', () => {
  let dir: string;
  let mgr: LogManager;
  const openManager = (): Promise<LogManager> => LogManager.open({ dataDir: dir, retentionCheckIntervalMs: 3_600_000, cleanerIntervalMs: 3_600_000 });
  beforeEach(async () => {
    dir = await tempDir();
    mgr = await openManager();
  });
  afterEach(async () => {
    await mgr.close();
    await removeDir(dir);
  });

  async function fill(log: PartitionLog, batches: number, ts0: number): Promise<void> {
    for (let i = 0; i < batches; i++) await log.append(batchOf(2, `r${i}`, { timestamp: ts0 + i * 1000 }));
  }

  it('deletes closed segments older than retention.ms, advances the log start, answers OFFSET_OUT_OF_RANGE below it', async () => {
    const log = await mgr.create('ret.time', 0, config({ segmentBytes: 400, retentionMs: 10_000 }));
    const ts0 = 1_600_000_000_000;
    await fill(log, 40, ts0);
    const before = await readAll(log);
    const segmentsBefore = log.segmentCount;
    expect(segmentsBefore).toBeGreaterThan(5);
    // At ts0 + 20.5 s, segments whose newest record is older than ts0 + 10.5 s go.
    const now = ts0 + 20_500;
    await mgr.runRetention(now);
    expect(log.segmentCount).toBeLessThan(segmentsBefore);
    const start = log.logStartOffset;
    expect(start).toBeGreaterThan(0);
    const kept = before.filter((r) => r.offset >= start);
    // Everything whose segment was deleted is older than the cut; the first kept segment has a record newer than it.
    expect(before.filter((r) => r.offset < start).every((r) => r.timestamp < now - 10_000)).toBe(true);
    expect(await readAll(log)).toEqual(kept);
    await expect(log.read(start - 1, 1000)).rejects.toSatisfy((e: unknown) => e instanceof RillError && e.errorName === 'OFFSET_OUT_OF_RANGE');
    // The active segment is never deleted, however old.
    await mgr.runRetention(ts0 + 10_000_000);
    expect(log.segmentCount).toBe(1);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets[0]);
    const files = (await readdir(log.dir)).filter((f) => f.endsWith('.log'));
    expect(files.length).toBe(1);
    // The log start offset is checkpointed and survives a reopen.
    const expectedStart = log.logStartOffset;
    await mgr.close();
    const text = await readFile(join(dir, 'log-start-offset-checkpoint'), 'utf8');
    expect(text).toContain(`ret.time 0 ${expectedStart}`);
    mgr = await openManager();
    expect(mgr.get('ret.time', 0)!.logStartOffset).toBe(expectedStart);
  });

  it('deletes the oldest closed segments while the log stays at least retention.bytes', async () => {
    const log = await mgr.create('ret-size', 0, config({ segmentBytes: 500, retentionBytes: 1500 }));
    await fill(log, 60, Date.now());
    const sizeBefore = log.sizeBytes;
    expect(sizeBefore).toBeGreaterThan(3000);
    await mgr.runRetention();
    expect(log.sizeBytes).toBeGreaterThanOrEqual(1500);
    // One more deletion would have gone below retention.bytes.
    const firstSegmentBytes = (await log.read(log.logStartOffset, 10_000_000)).records.length;
    expect(log.sizeBytes - firstSegmentBytes).toBeLessThan(1500);
    const all = await readAll(log);
    expect(all[0]!.offset).toBe(log.logStartOffset);
    expect(all[all.length - 1]!.offset).toBe(log.logEndOffset - 1);
  });

  it('deleteRecordsBefore moves the start inside a segment and deletes the segments wholly below', async () => {
    const log = await mgr.create('dr', 0, config({ segmentBytes: 400 }));
    await fill(log, 30, Date.now());
    const second = log.segmentBaseOffsets[2]!;
    expect(await log.deleteRecordsBefore(second + 1)).toBe(second + 1);
    expect(log.segmentBaseOffsets[0]).toBe(second);
    expect(log.logStartOffset).toBe(second + 1);
    await expect(log.read(second, 1000)).rejects.toThrow(/outside/);
    const r = await log.read(second + 1, 1000);
    expect(decodeBatches(r.records)[0]!.records.some((x) => x.offset === second + 1)).toBe(true);
    await expect(log.deleteRecordsBefore(log.highWatermark + 1)).rejects.toThrow(/high watermark/);
  });

  it('a read racing a segment deletion completes with the right bytes or a clean OFFSET_OUT_OF_RANGE', async () => {
    const log = await mgr.create('race', 0, config({ segmentBytes: 64 * 1024, retentionMs: 1 }));
    const payload = 'p'.repeat(2000);
    for (let i = 0; i < 200; i++) await log.append(batchOf(3, `${payload}${i}`, { timestamp: 1000 + i }));
    const reference = new Map<number, Buffer>();
    for (const base of log.segmentBaseOffsets) reference.set(base, Buffer.from((await log.read(base, 64 * 1024)).records));
    expect(log.segmentCount).toBeGreaterThan(4);

    // Real races: reads of every closed segment in flight while retention deletes them all.
    const bases = log.segmentBaseOffsets.slice(0, -1);
    const reads = bases.map((b) => log.read(b, 64 * 1024).then(
      (r) => ({ base: b, bytes: r.records, error: null as string | null }),
      (e: unknown) => ({ base: b, bytes: null as Buffer | null, error: e instanceof RillError ? e.errorName : String(e) }),
    ));
    const retention = mgr.runRetention(1_000_000);
    const outcomes = await Promise.all(reads);
    await retention;
    expect(log.segmentCount).toBe(1);
    for (const o of outcomes) {
      if (o.error !== null) expect(o.error).toBe('OFFSET_OUT_OF_RANGE');
      else expect(o.bytes!.equals(reference.get(o.base)!)).toBe(true);
    }

    // Deterministic: a reader holding a segment (as read() does) keeps its fd across the delete.
    for (let i = 0; i < 100; i++) await log.append(batchOf(3, `${payload}x${i}`, { timestamp: 2000 + i }));
    const held = log.closedSegments()[0]!;
    const heldBytes = await held.readAt(0, held.sizeBytes);
    held.retain();
    await mgr.runRetention(1_000_000);
    expect(log.logStartOffset).toBeGreaterThan(held.baseOffset);
    const names = await readdir(log.dir);
    expect(names).toContain(`${String(held.baseOffset).padStart(20, '0')}.log.deleted`);
    expect((await held.readAt(0, held.sizeBytes)).equals(heldBytes)).toBe(true);
    held.release();
    await held.close();
    // The last release unlinks the .deleted files (asynchronously: give it a few turns).
    const deletedName = `${String(held.baseOffset).padStart(20, '0')}.log.deleted`;
    for (let i = 0; i < 200 && (await readdir(log.dir)).includes(deletedName); i++) await new Promise((r) => setImmediate(r));
    expect(await readdir(log.dir)).not.toContain(deletedName);
    await expect(log.read(held.baseOffset, 100)).rejects.toThrow(/outside/);
  });
});
