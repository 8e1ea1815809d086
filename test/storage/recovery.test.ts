import { open as openFile, readFile, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartitionLog } from '../../storage/partition-log.js';
import { batchOf, config, readAll, removeDir, tempDir, type ReadRecord } from './helpers.js';

function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('crash recovery', () => {
  let dir: string;
  const opened: PartitionLog[] = [];
  const open = async (recoveryPoint: number | null, logger?: pino.Logger, overrides = {}): Promise<PartitionLog> => {
    const log = await PartitionLog.open({
      topic: 'r', partition: 0, dir, config: config({ segmentBytes: 1024, indexIntervalBytes: 100, ...overrides }), recoveryPoint, ...(logger ? { logger } : {}),
    });
    opened.push(log);
    return log;
  };
  /** Writes `n` batches and "crashes": the log is never closed (its fds are dropped unflushed). */
  const writeAndCrash = async (n: number): Promise<{ records: ReadRecord[]; sizes: number[] }> => {
    const log = await open(0);
    const sizes: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = batchOf(3, `v${i}`, { timestamp: 1000 * i });
      sizes.push(b.length);
      await log.append(b);
    }
    const records = await readAll(log);
    return { records, sizes };
  };
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const l of opened.splice(0)) await l.close({ flush: false });
    await removeDir(dir);
  });

  const logFiles = async (): Promise<string[]> => (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();

  it('a tail cut mid-batch reopens to exactly the valid prefix, logged at warn', async () => {
    const { records, sizes } = await writeAndCrash(10);
    const files = await logFiles();
    expect(files.length).toBe(1);
    const path = join(dir, files[0]!);
    const full = (await stat(path)).size;
    await truncate(path, full - Math.floor(sizes[9]! / 2));
    const { logger, lines } = capturingLogger();
    const log = await open(0, logger);
    expect(log.logEndOffset).toBe(27);
    expect(await readAll(log)).toEqual(records.slice(0, 27));
    const warn = lines.find((l) => l.msg === 'truncated a torn or corrupt log segment')!;
    expect(warn).toMatchObject({ topic: 'r', partition: 0, segment: 0, truncatedBytes: sizes[9]! - Math.floor(sizes[9]! / 2) });
    expect((await stat(path)).size).toBe(full - sizes[9]!);
    expect((await log.append(batchOf(1, 'after'))).baseOffset).toBe(27);
  });

  it('a flipped byte inside a batch cuts the log there, dropping the later segments too', async () => {
    const { records, sizes } = await writeAndCrash(40);
    const files = await logFiles();
    expect(files.length).toBeGreaterThan(3);
    // Flip a byte in the middle of the 3rd batch of the 2nd segment.
    const target = join(dir, files[1]!);
    const fh = await openFile(target, 'r+');
    const base = Number(files[1]!.slice(0, 20));
    const batchIndex = base / 3; // 3 records per batch
    const pos = sizes.slice(batchIndex, batchIndex + 2).reduce((a, b) => a + b, 0) + 30;
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, pos);
    one[0] = one[0]! ^ 0xff;
    await fh.write(one, 0, 1, pos);
    await fh.close();
    const { logger, lines } = capturingLogger();
    const log = await open(0, logger);
    const validEnd = base + 6;
    expect(log.logEndOffset).toBe(validEnd);
    expect(await readAll(log)).toEqual(records.slice(0, validEnd));
    expect(await logFiles()).toEqual(files.slice(0, 2));
    expect(lines.filter((l) => l.msg === 'dropped a log segment after a torn or corrupt one').length).toBe(files.length - 2);
    expect(lines.some((l) => l.msg === 'truncated a torn or corrupt log segment' && l.segment === base)).toBe(true);
  });

  it('recovers only from the segment holding the recovery point; earlier segments are trusted', async () => {
    const { records, sizes } = await writeAndCrash(40);
    const files = await logFiles();
    // Corrupt segment 0, but say the recovery point is in the last segment: segment 0 is not verified.
    const first = join(dir, files[0]!);
    const fh = await openFile(first, 'r+');
    await fh.write(Buffer.from([0xaa]), 0, 1, sizes[0]! + 40); // inside batch 1's records
    await fh.close();
    const lastBase = Number(files[files.length - 1]!.slice(0, 20));
    const log = await open(lastBase + 1);
    expect(log.logEndOffset).toBe(records.length);
  });

  it('a clean shutdown skips verification (headers scan only) and keeps everything', async () => {
    const log = await open(0);
    for (let i = 0; i < 20; i++) await log.append(batchOf(2, `c${i}`));
    const before = await readAll(log);
    await log.close();
    opened.splice(0);
    const again = await open(null);
    expect(await readAll(again)).toEqual(before);
  });

  it('a structurally broken header below the recovery point triggers a verify from that segment', async () => {
    const { records, sizes } = await writeAndCrash(40);
    const files = await logFiles();
    const seg1 = join(dir, files[1]!);
    const fh = await openFile(seg1, 'r+');
    const lenPos = sizes[Number(files[1]!.slice(0, 20)) / 3]! + 8; // batchLength of the 2nd batch
    await fh.write(Buffer.from([0x7f, 0, 0, 0]), 0, 4, lenPos);
    await fh.close();
    const { logger, lines } = capturingLogger();
    const log = await open(null, logger);
    const base = Number(files[1]!.slice(0, 20));
    expect(log.logEndOffset).toBe(base + 3);
    expect(await readAll(log)).toEqual(records.slice(0, base + 3));
    expect(lines.some((l) => String(l.msg).includes('verifying from this segment'))).toBe(true);
  });

  it('rebuilds deleted, truncated or corrupted .index/.timeindex files on open, even after a clean shutdown', async () => {
    const log = await open(0);
    for (let i = 0; i < 60; i++) await log.append(batchOf(2, `x${i}`, { timestamp: 10_000 + i * 10 }));
    const before = await readAll(log);
    await log.close();
    opened.splice(0);
    const idx = (await readdir(dir)).filter((f) => f.endsWith('.index')).sort();
    const tidx = (await readdir(dir)).filter((f) => f.endsWith('.timeindex')).sort();
    expect(idx.length).toBeGreaterThan(2);
    const originalIndex = await readFile(join(dir, idx[0]!));
    const originalTime = await readFile(join(dir, tidx[1]!));
    expect(originalIndex.length).toBeGreaterThan(0);
    await unlink(join(dir, idx[0]!)); // missing
    await writeFile(join(dir, tidx[1]!), originalTime.subarray(0, originalTime.length - 5)); // wrong size multiple
    const bad = Buffer.from(await readFile(join(dir, idx[2]!)));
    bad.writeUInt32BE(bad.readUInt32BE(4) + 1, 4); // position off by one: points inside a batch
    await writeFile(join(dir, idx[2]!), bad);
    const goodBefore = await readFile(join(dir, idx[2]!.replace('.index', '.timeindex')));
    const pastEnd = Buffer.from(await readFile(join(dir, idx[2]!.replace('.index', '.timeindex'))));

    const { logger, lines } = capturingLogger();
    const again = await open(null, logger);
    expect(lines.filter((l) => l.msg === 'rebuilt an index file that failed its checks').length).toBe(3);
    expect(await readFile(join(dir, idx[0]!))).toEqual(originalIndex);
    expect(await readFile(join(dir, tidx[1]!))).toEqual(originalTime);
    expect((await readFile(join(dir, idx[2]!))).readUInt32BE(4)).toBe(bad.readUInt32BE(4) - 1);
    expect(await readFile(join(dir, idx[2]!.replace('.index', '.timeindex')))).toEqual(goodBefore);
    expect(await readAll(again)).toEqual(before);
    for (const r of before.filter((_, i) => i % 7 === 0)) {
      expect(await again.offsetForTimestamp(r.timestamp)).toEqual({ offset: r.offset, timestamp: r.timestamp });
    }
    await again.close();
    opened.splice(0);

    // Non-monotonic time index entries are refused too.
    const tpath = join(dir, idx[2]!.replace('.index', '.timeindex'));
    expect(pastEnd.length).toBeGreaterThanOrEqual(24);
    pastEnd.writeBigInt64BE(0n, 12);
    await writeFile(tpath, pastEnd);
    const cap = capturingLogger();
    const third = await open(null, cap.logger);
    expect(cap.lines.filter((l) => l.msg === 'rebuilt an index file that failed its checks').length).toBe(1);
    expect(await readFile(tpath)).toEqual(goodBefore);
    expect(await readAll(third)).toEqual(before);
  });
});
