/**
 * The in-memory tail (storage/tail-cache.ts) answers exactly what the file would: every read
 * served from it is compared with the same read on the same directory reopened (a fresh log
 * has an empty cache, so it reads the file), after appends, segment rolls, follower
 * truncation, retention and a write too large to cache.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../protocol/record-batch.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { APPEND_MAX_BYTES, TailCache } from '../../storage/tail-cache.js';
import { batchOf, config, readAll, removeDir, tempDir } from './helpers.js';

interface Query {
  from: number;
  maxBytes: number;
  minOneBatch: boolean;
}

interface Answer {
  records: string;
  error: string | null;
}

/** A leader's batch at `baseOffset` (for appendAsFollower), `tag` in every value. */
function leaderBatch(baseOffset: number, count: number, epoch: number, tag: string): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ value: `${tag}-${baseOffset + i}`, timestamp: 1_700_000_000_000 + baseOffset + i }));
  return encodeBatch(records, { baseOffset, partitionLeaderEpoch: epoch });
}

async function answer(log: PartitionLog, q: Query): Promise<Answer> {
  try {
    const r = await log.read(q.from, q.maxBytes, { minOneBatch: q.minOneBatch, isolation: 'logEnd' });
    return { records: r.records.toString('hex'), error: null };
  } catch (err) {
    return { records: '', error: (err as { errorName?: string }).errorName ?? String(err) };
  }
}

/** Every offset from start - 1 to end + 1, with byte limits from tiny to large. */
function queries(log: PartitionLog): Query[] {
  const out: Query[] = [];
  for (let from = Math.max(0, log.logStartOffset - 1); from <= log.logEndOffset + 1; from++) {
    for (const maxBytes of [1, 90, 300, 1000, 1 << 20]) {
      out.push({ from, maxBytes, minOneBatch: true });
      if (maxBytes < 1000) out.push({ from, maxBytes, minOneBatch: false });
    }
  }
  return out;
}

describe('tail cache of a partition log', () => {
  let dir: string;
  const logs: PartitionLog[] = [];
  const open = async (segmentBytes = 1 << 20): Promise<PartitionLog> => {
    const log = await PartitionLog.open({ topic: 't', partition: 0, dir, config: config({ segmentBytes, indexIntervalBytes: 64 }), recoveryPoint: null });
    logs.push(log);
    return log;
  };
  /** Answers of `log` (cache included) against the same directory reopened (file only). */
  const expectSameAsFile = async (log: PartitionLog, segmentBytes: number): Promise<number> => {
    const qs = queries(log);
    const before = log.stats.tailReads;
    const cached: Answer[] = [];
    for (const q of qs) cached.push(await answer(log, q));
    const servedFromTail = log.stats.tailReads - before;
    const start = log.logStartOffset;
    await log.close();
    const reopened = await PartitionLog.open({ topic: 't', partition: 0, dir, config: config({ segmentBytes, indexIntervalBytes: 64 }), recoveryPoint: null, logStartOffset: start });
    logs.push(reopened);
    const fromFile: Answer[] = [];
    for (const q of qs) fromFile.push(await answer(reopened, q));
    expect(reopened.stats.tailReads).toBe(0);
    for (let i = 0; i < qs.length; i++) expect(cached[i], JSON.stringify(qs[i])).toEqual(fromFile[i]);
    return servedFromTail;
  };

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const l of logs.splice(0)) if (!l.isClosed) await l.close();
    await removeDir(dir);
  });

  it('serves tailing reads from memory, byte for byte what the file holds, across segment rolls', async () => {
    const segmentBytes = 600;
    const log = await open(segmentBytes);
    for (let i = 0; i < 12; i++) await log.append(batchOf(1 + (i % 3), `a${i}`));
    // A burst in one tick: several appends in one write.
    await Promise.all([log.append(batchOf(2, 'b0')), log.append(batchOf(1, 'b1')), log.append(batchOf(3, 'b2'))]);
    expect(log.segmentCount).toBeGreaterThan(1);
    const r = await log.read(log.logEndOffset - 1, 1 << 20);
    expect(r.records.length).toBeGreaterThan(0);
    expect(log.stats.tailReads).toBe(1);
    expect(await expectSameAsFile(log, segmentBytes)).toBeGreaterThan(50);
  });

  it('is exact after a follower truncation: the cut batches are never served, new ones are', async () => {
    const log = await open();
    await log.appendAsFollower(leaderBatch(0, 3, 1, 'old'));
    await log.appendAsFollower(leaderBatch(3, 2, 1, 'old'));
    await log.appendAsFollower(leaderBatch(5, 4, 1, 'old'));
    expect((await log.read(5, 1 << 20, { isolation: 'logEnd' })).records.toString()).toContain('old-8');
    await log.truncateTo(4);
    expect(log.logEndOffset).toBe(3);
    await expect(log.read(5, 1 << 20, { isolation: 'logEnd' })).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    await log.appendAsFollower(leaderBatch(3, 3, 2, 'new'));
    const tail = (await log.read(3, 1 << 20, { isolation: 'logEnd' })).records.toString();
    expect(tail).toContain('new-5');
    expect(tail).not.toContain('old');
    expect((await readAll(log, 0)).map((x) => x.value)).toEqual(['old-0', 'old-1', 'old-2', 'new-3', 'new-4', 'new-5']);
    await expectSameAsFile(log, 1 << 20);
  });

  it('is exact after truncateFullyAndStartAt and after retention moved the log start', async () => {
    const segmentBytes = 400;
    const log = await open(segmentBytes);
    for (let i = 0; i < 10; i++) await log.append(batchOf(2, `r${i}`));
    await log.deleteRecordsBefore(7);
    await expect(log.read(6, 1 << 20)).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    expect((await readAll(log, 7)).map((x) => x.offset)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    await expectSameAsFile(log, segmentBytes);
    const again = logs[logs.length - 1]!;
    for (let i = 0; i < 3; i++) await again.append(batchOf(1, `s${i}`));
    await again.truncateFullyAndStartAt(40);
    await expect(again.read(21, 1 << 20, { isolation: 'logEnd' })).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    await again.appendAsFollower(leaderBatch(40, 2, 3, 'fresh'));
    expect((await readAll(again, 40)).map((x) => x.value)).toEqual(['fresh-40', 'fresh-41']);
  });

  it('a write larger than the cap empties it, so nothing stale or partial is served after it', async () => {
    const log = await open();
    for (let i = 0; i < 5; i++) await log.append(batchOf(1, `small${i}`));
    const big = Buffer.alloc(APPEND_MAX_BYTES, 'x').toString();
    await log.append(encodeBatch([{ value: big }]));
    await log.append(batchOf(1, 'after'));
    const reads = log.stats.tailReads;
    // Offsets 0..5 are only in the file now; 6 is cached.
    expect((await log.read(2, 1 << 20)).records.toString()).toContain('small2');
    expect(log.stats.tailReads).toBe(reads);
    expect((await log.read(6, 1 << 20)).records.toString()).toContain('after-0');
    expect(log.stats.tailReads).toBe(reads + 1);
    await expectSameAsFile(log, 1 << 20);
  });

  it('keeps each partition and the shared budget within their byte bounds', () => {
    const budget = { maxBytes: 1000, usedBytes: 0 };
    const a = new TailCache(budget, 600, 256);
    const b = new TailCache(budget, 600, 256);
    const batches = Array.from({ length: 10 }, (_, i) => encodeBatch([{ value: 'v'.repeat(150), timestamp: 1_700_000_000_000 }], { baseOffset: i }));
    const batch = (i: number): Buffer => batches[i]!;
    const size = batch(0).length;
    for (let i = 0; i < 10; i++) a.onWritten([batch(i)], size, 0, i, i + 1);
    expect(a.sizeBytes).toBeLessThanOrEqual(600);
    expect(a.firstOffset).toBe(10 - a.entryCount);
    for (let i = 0; i < 10; i++) b.onWritten([batch(i)], size, 0, i, i + 1);
    expect(budget.usedBytes).toBe(a.sizeBytes + b.sizeBytes);
    expect(budget.usedBytes).toBeLessThanOrEqual(1000);
    expect(a.read(9, 1 << 20, true, 10)!.equals(batch(9))).toBe(true);
    expect(a.read(0, 1 << 20, true, 10)).toBeNull();
    a.clear();
    b.clear();
    expect(budget.usedBytes).toBe(0);
    // Small writes share a slab; a read is a copy, untouched when the slab is written again.
    const c = new TailCache(budget, 600, 600);
    c.onWritten([batch(0)], size, 0, 0, 1);
    c.onWritten([batch(1)], size, 0, 1, 2);
    const both = c.read(0, 1 << 20, true, 2)!;
    expect(both.equals(Buffer.concat([batch(0), batch(1)]))).toBe(true);
    expect(c.sizeBytes).toBe(600);
    expect(budget.usedBytes).toBe(600);
    // A partition of two slabs: writing on evicts whole slabs, which come back as the spare.
    const d = new TailCache({ maxBytes: 1 << 20, usedBytes: 0 }, 2 * 256, 256);
    for (let i = 0; i < 10; i++) d.onWritten([batch(i)], size, 0, i, i + 1);
    const early = d.read(9, 1 << 20, true, 10)!;
    expect(d.sizeBytes).toBe(512);
    for (let i = 0; i < 4; i++) d.onWritten([batches[i]!], size, 0, 10 + i, 11 + i);
    expect(early.equals(batch(9))).toBe(true);
    expect(d.sizeBytes).toBe(512);
    c.clear();
    d.clear();
    expect(budget.usedBytes).toBe(0);
  });
  it('keeps answering exactly while its ring of entries wraps and grows, one segment per read', () => {
    const budget = { maxBytes: 1 << 20, usedBytes: 0 };
    const cache = new TailCache(budget, 4000, 512);
    const batches: Buffer[] = [];
    const segmentOf: number[] = [];
    let segment = 0;
    for (let i = 0; i < 300; i++) {
      // Writes of one or two batches, growing and shrinking, a new segment every 70 offsets.
      const two = i % 5 === 3;
      const first = batches.length;
      if (first - segment >= 70) segment = first;
      const chunk: Buffer[] = [];
      for (let j = 0; j < (two ? 2 : 1); j++) {
        const b = encodeBatch([{ value: 'x'.repeat(20 + ((i * 37) % 90)), timestamp: 1_700_000_000_000 }], { baseOffset: batches.length });
        batches.push(b);
        segmentOf.push(segment);
        chunk.push(b);
      }
      cache.onWritten(chunk, chunk[0]!.length + (chunk[1]?.length ?? 0), segment, first, batches.length);
      expect(cache.sizeBytes).toBeLessThanOrEqual(4000);
      const from = cache.firstOffset;
      expect(from).toBeGreaterThan(i > 60 ? 0 : -1);
      // Every offset the cache holds: the batches from it to the end of its segment.
      for (const at of [from, Math.floor((from + batches.length) / 2), batches.length - 1]) {
        let end = at;
        while (end < batches.length && segmentOf[end] === segmentOf[at]) end++;
        expect(cache.read(at, 1 << 20, true, batches.length)!.equals(Buffer.concat(batches.slice(at, end))), `write ${i}, offset ${at}`).toBe(true);
      }
      expect(cache.read(from - 1, 1 << 20, true, batches.length)).toBeNull();
      expect(cache.read(batches.length, 1 << 20, true, batches.length)).toBeNull();
    }
    expect(budget.usedBytes).toBe(cache.sizeBytes);
    cache.clear();
    expect(budget.usedBytes).toBe(0);
    expect(cache.entryCount).toBe(0);
    expect(cache.read(299, 1 << 20, true, 300)).toBeNull();
  });
  it('allocates no slab once full under steady writes, small or above a slab: emptied slabs come back', () => {
    for (const valueBytes of [3_000, 10_000]) {
      const cache = new TailCache({ maxBytes: 1 << 20, usedBytes: 0 }, 64 * 1024, 8 * 1024);
      const write = (i: number): Buffer => {
        const b = encodeBatch([{ value: String(i % 10).repeat(valueBytes), timestamp: 1_700_000_000_000 }], { baseOffset: i });
        cache.onWritten([b], b.length, 0, i, i + 1);
        return b;
      };
      for (let i = 0; i < 40; i++) write(i);
      const warm = cache.slabAllocations;
      let last: Buffer = Buffer.alloc(0);
      for (let i = 40; i < 200; i++) last = write(i);
      expect(cache.slabAllocations, `${valueBytes}-byte values`).toBe(warm);
      expect(cache.sizeBytes).toBeLessThanOrEqual(64 * 1024);
      expect(cache.read(199, 1 << 20, true, 200)!.equals(last)).toBe(true);
    }
  });
});
