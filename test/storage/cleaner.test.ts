import { copyFile, mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch, type Compression } from '../../protocol/record-batch.js';
import { LogManager } from '../../storage/log-manager.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { config, readAll, removeDir, tempDir, type ReadRecord } from './helpers.js';

const T0 = 1_700_000_000_000;

interface Op {
  key: string | null;
  value: string | null;
}

/** Appends `ops` as batches of `perBatch` records, timestamps T0 + index. */
async function appendOps(log: PartitionLog, ops: Op[], perBatch: number, compression: Compression = 'none'): Promise<void> {
  for (let i = 0; i < ops.length; i += perBatch) {
    const slice = ops.slice(i, i + perBatch);
    await log.append(encodeBatch(slice.map((o, k) => ({ key: o.key, value: o.value, timestamp: T0 + i + k })), { compression }));
  }
}

/** What compaction must leave: latest per key (tombstones per `dropTombstones`), null keys, in offset order. */
function expectedAfter(all: ReadRecord[], compactedBelow: number, dropTombstones: boolean): ReadRecord[] {
  const latest = new Map<string, number>();
  for (const r of all) if (r.key !== null && r.offset < compactedBelow) latest.set(r.key, r.offset);
  return all.filter((r) => {
    if (r.offset >= compactedBelow || r.key === null) return true;
    if (latest.get(r.key) !== r.offset) return false;
    return !(dropTombstones && r.value === null);
  });
}

/** Updates, null keys and tombstones; keys dead0 and dead1 end with a tombstone followed by filler. */
function workload(n: number, keys: number): Op[] {
  const ops: Op[] = [{ key: 'dead0', value: 'alive' }, { key: 'dead1', value: 'alive' }];
  for (let i = 0; i < n; i++) {
    if (i % 17 === 5) ops.push({ key: null, value: `nokey-${i}` });
    else if (i % 11 === 3) ops.push({ key: `k${i % keys}`, value: null });
    else ops.push({ key: `k${i % keys}`, value: `v${i}` });
  }
  ops.push({ key: 'dead0', value: null }, { key: 'dead1', value: null });
  for (let i = 0; i < 60; i++) ops.push({ key: `filler${i}`, value: `f${i}` });
  return ops;
}

describe('compaction', () => {
  let dir: string;
  let mgr: LogManager;
  beforeEach(async () => {
    dir = await tempDir();
    mgr = await LogManager.open({ dataDir: dir, retentionCheckIntervalMs: 3_600_000, cleanerIntervalMs: 3_600_000 });
  });
  afterEach(async () => {
    await mgr.close();
    await removeDir(dir);
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`keeps the latest record per key with its offset and order (${compression})`, async () => {
      const log = await mgr.create('compact', 0, config({ cleanupPolicy: 'compact', segmentBytes: 700, deleteRetentionMs: 3_600_000 }));
      await appendOps(log, workload(300, 13), 4, compression);
      const before = await readAll(log);
      const leo = log.logEndOffset;
      const activeBase = log.activeSegment.baseOffset;
      const segments = log.segmentCount;
      const sizeBefore = log.sizeBytes;
      await mgr.runCompaction(T0 + 1000);
      const after = await readAll(log);
      // Tombstones are younger than delete.retention.ms: kept.
      expect(after).toEqual(expectedAfter(before, activeBase, false));
      expect(after.filter((r) => r.offset < activeBase && r.value === null).map((r) => r.key)).toEqual(expect.arrayContaining(['dead0', 'dead1']));
      expect(log.logEndOffset).toBe(leo);
      expect(log.activeSegment.baseOffset).toBe(activeBase);
      expect(log.segmentCount).toBeLessThanOrEqual(segments);
      expect(log.sizeBytes).toBeLessThan(sizeBefore);
      // Reading from every original offset still works (gaps included).
      for (const r of before) {
        const got = await log.read(r.offset, 100);
        expect(got.records.length).toBeGreaterThan(0);
      }
      // A second pass with nothing new changes nothing.
      const sizeOnce = log.sizeBytes;
      await mgr.runCompaction(T0 + 2000);
      expect(log.sizeBytes).toBe(sizeOnce);
      // Survives a clean reopen.
      await mgr.close();
      mgr = await LogManager.open({ dataDir: dir, retentionCheckIntervalMs: 3_600_000, cleanerIntervalMs: 3_600_000 });
      expect(await readAll(mgr.get('compact', 0)!)).toEqual(after);
    });
  }

  it('drops tombstones once older than delete.retention.ms, and not before', async () => {
    const log = await mgr.create('tomb', 0, config({ cleanupPolicy: 'compact', segmentBytes: 600, deleteRetentionMs: 10_000 }));
    await appendOps(log, workload(200, 7), 3);
    const before = await readAll(log);
    const activeBase = log.activeSegment.baseOffset;
    await mgr.runCompaction(T0 + 5_000);
    const kept = await readAll(log);
    expect(kept).toEqual(expectedAfter(before, activeBase, false));
    expect(kept.filter((r) => r.offset < activeBase).some((r) => r.value === null)).toBe(true);
    await mgr.runCompaction(T0 + 60_000);
    const dropped = await readAll(log);
    expect(dropped).toEqual(expectedAfter(before, activeBase, true));
    expect(dropped.filter((r) => r.offset < activeBase).some((r) => r.value === null)).toBe(false);
  });

  it('leaves segments younger than min.compaction.lag.ms alone', async () => {
    const log = await mgr.create('lag', 0, config({ cleanupPolicy: 'compact', segmentBytes: 600, minCompactionLagMs: 1_000_000 }));
    await appendOps(log, workload(100, 3), 3);
    const before = await readAll(log);
    await mgr.runCompaction(T0 + 1000);
    expect(await readAll(log)).toEqual(before);
  });

  it('leaves delete-policy topics alone', async () => {
    const log = await mgr.create('plain', 0, config({ segmentBytes: 600 }));
    await appendOps(log, workload(100, 3), 3);
    const before = await readAll(log);
    await mgr.runCompaction(T0 + 1000);
    expect(await readAll(log)).toEqual(before);
  });

  it('is crash-safe: leftover .cleaned files are discarded, leftover .swap files are completed on open', async () => {
    const log = await mgr.create('swap', 0, config({ cleanupPolicy: 'compact', segmentBytes: 700, deleteRetentionMs: 3_600_000 }));
    await appendOps(log, workload(250, 9), 4);
    const before = await readAll(log);
    // Snapshot of the uncompacted partition, as a crash before or during the swap would find it.
    const snapshot = join(dir, 'snapshot');
    await mkdir(snapshot);
    await log.flush();
    for (const f of await readdir(log.dir)) await copyFile(join(log.dir, f), join(snapshot, f));
    const oldBases = log.segmentBaseOffsets;
    await mgr.runCompaction(T0 + 1000);
    const compacted = await readAll(log);
    expect(compacted.length).toBeLessThan(before.length);
    const cleanedBases = log.segmentBaseOffsets.filter((b) => !oldBases.includes(b) || b < log.activeSegment.baseOffset);
    const cleanedFirst = cleanedBases[0]!;
    const name = (b: number, ext: string): string => `${String(b).padStart(20, '0')}.${ext}`;

    const openCopy = async (setup: (d: string) => Promise<void>): Promise<ReadRecord[]> => {
      const d = join(dir, `copy-${Math.random().toString(36).slice(2)}`, 'swap-0');
      await mkdir(d, { recursive: true });
      for (const f of await readdir(snapshot)) await copyFile(join(snapshot, f), join(d, f));
      await setup(d);
      const reopened = await PartitionLog.open({ topic: 'swap', partition: 0, dir: d, config: log.config, recoveryPoint: 0 });
      try {
        const files = await readdir(d);
        expect(files.filter((f) => /\.(cleaned|swap|deleted)$/.test(f))).toEqual([]);
        return await readAll(reopened);
      } finally {
        await reopened.close();
      }
    };

    // Crash before the commit point: .cleaned output next to the old segments → discarded.
    expect(await openCopy(async (d) => {
      for (const ext of ['log', 'index', 'timeindex']) await copyFile(join(log.dir, name(cleanedFirst, ext)), join(d, `${name(cleanedFirst, ext)}.cleaned`));
    })).toEqual(before);

    // Crash right after the commit point: .swap files next to all old segments → swap completed.
    expect(await openCopy(async (d) => {
      for (const ext of ['log', 'index', 'timeindex']) await copyFile(join(log.dir, name(cleanedFirst, ext)), join(d, `${name(cleanedFirst, ext)}.swap`));
    })).toEqual(compacted.filter((r) => r.offset < log.segmentBaseOffsets[1]!).concat(before.filter((r) => r.offset >= log.segmentBaseOffsets[1]!)));

    // Crash while the old segments were being renamed to .deleted: some are gone, some .deleted.
    expect(await openCopy(async (d) => {
      for (const ext of ['log', 'index', 'timeindex']) await copyFile(join(log.dir, name(cleanedFirst, ext)), join(d, `${name(cleanedFirst, ext)}.swap`));
      await rename(join(d, name(oldBases[0]!, 'log')), join(d, `${name(oldBases[0]!, 'log')}.deleted`));
      await unlink(join(d, name(oldBases[1]!, 'index')));
    })).toEqual(compacted.filter((r) => r.offset < log.segmentBaseOffsets[1]!).concat(before.filter((r) => r.offset >= log.segmentBaseOffsets[1]!)));
  });
});
