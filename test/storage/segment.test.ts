/**
 * Segment on real files: writing whole batches, reading bytes back, locating the batch that holds
 * an offset (checked against a plain array of the batches written), rolling and truncating.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import { batchSize, encodeBatch, patchBaseOffset, readLastOffset, validateBatch } from '../../protocol/record-batch.js';
import { HEADER_SCAN_CHUNK_BYTES, Segment } from '../../storage/segment.js';
import { removeDir, tempDir } from './helpers.js';

interface Written {
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
}

describe('Segment', () => {
  let dir: string;
  let seg: Segment | null = null;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await seg?.close();
    seg = null;
    await removeDir(dir);
  });

  /** Writes batches of `counts[i]` records (values of `valueBytes[i]` bytes) from offset `baseOffset`. */
  async function fill(baseOffset: number, counts: number[], valueBytes: (i: number) => number): Promise<Written[]> {
    seg = await Segment.create(dir, baseOffset);
    const written: Written[] = [];
    let offset = baseOffset;
    for (let i = 0; i < counts.length; i++) {
      const records = Array.from({ length: counts[i]! }, (_, r) => ({ value: Buffer.alloc(valueBytes(i), r) }));
      const buf = encodeBatch(records, { now: 1_000 + i });
      patchBaseOffset(buf, 0, offset);
      const b = { position: seg.sizeBytes, sizeBytes: buf.length, baseOffset: offset, lastOffset: readLastOffset(buf), maxTimestamp: 1_000 + i };
      await seg.writeSingleWriter([buf], buf.length);
      seg.commitWriteSingleWriter(buf.length);
      seg.observeBatchSingleWriter(b, 512, 0);
      written.push(b);
      offset = b.lastOffset + 1;
    }
    return written;
  }

  it('locates the first batch ending at or after every offset, across scan-chunk boundaries', async () => {
    // Mostly small batches, some larger than the 16 KiB header-scan chunk.
    const counts = Array.from({ length: 60 }, (_, i) => 1 + (i % 5));
    const written = await fill(1000, counts, (i) => (i % 9 === 4 ? HEADER_SCAN_CHUNK_BYTES + 100 : 30 + i));
    const last = written[written.length - 1]!;
    expect(seg!.nextOffset).toBe(last.lastOffset + 1);
    for (let target = 990; target <= last.lastOffset + 2; target++) {
      const expected = written.find((b) => b.lastOffset >= target) ?? null;
      const found = await seg!.locateBatch(target, seg!.sizeBytes);
      expect(found, `offset ${target}`).toEqual(expected === null ? null : { position: expected.position, sizeBytes: expected.sizeBytes, baseOffset: expected.baseOffset, lastOffset: expected.lastOffset });
    }
  });

  it('sees only the first endBytes bytes', async () => {
    const written = await fill(0, [2, 2, 2, 2], () => 10);
    const cut = written[2]!.position;
    expect(await seg!.locateBatch(written[1]!.baseOffset, cut)).toMatchObject({ baseOffset: written[1]!.baseOffset });
    expect(await seg!.locateBatch(written[2]!.baseOffset, cut)).toBeNull();
    // A cut inside a batch hides that batch too.
    expect(await seg!.locateBatch(written[2]!.baseOffset, cut + 20)).toBeNull();
  });

  it('reads whole batches back byte for byte', async () => {
    const written = await fill(50, [3, 1, 4], (i) => 100 * (i + 1));
    for (const b of written) {
      const bytes = await seg!.readAt(b.position, b.sizeBytes);
      expect(batchSize(bytes)).toBe(b.sizeBytes);
      expect(validateBatch(bytes).baseOffset).toBe(b.baseOffset);
    }
    // Past the end: what is there.
    expect((await seg!.readAt(written[2]!.position, 1 << 20)).length).toBe(written[2]!.sizeBytes);
  });

  it('answers KAFKA_STORAGE_ERROR for a batch header whose length is impossible', async () => {
    const written = await fill(0, [1, 1], () => 10);
    await seg!.writeSingleWriter([Buffer.alloc(61, 0)], 61); // batchLength 0 at the end
    seg!.commitWriteSingleWriter(61);
    const err = await seg!.locateBatch(written[1]!.lastOffset + 1, seg!.sizeBytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('KAFKA_STORAGE_ERROR');
  });

  it('rolls on size, on the relative-offset limit and on age, never when empty', async () => {
    const empty = await Segment.create(dir, 500);
    expect(empty.shouldRoll(10_000, 2 ** 40, 100, 0, 1e12)).toBe(false); // empty: never
    await empty.close();
    await fill(0, [1], () => 10);
    const s = seg!;
    const size = s.sizeBytes;
    expect(s.shouldRoll(100, 5, size + 100, 1e9, 0)).toBe(false);
    expect(s.shouldRoll(101, 5, size + 100, 1e9, 0)).toBe(true);
    expect(s.shouldRoll(1, 2 ** 32 - 1, 1e9, 1e9, 0)).toBe(false);
    expect(s.shouldRoll(1, 2 ** 32, 1e9, 1e9, 0)).toBe(true);
    expect(s.shouldRoll(1, 5, 1e9, 1_000, 1_000)).toBe(false);
    expect(s.shouldRoll(1, 5, 1e9, 1_000, 1_001)).toBe(true);
  });

  it('truncates to a batch boundary', async () => {
    const written = await fill(0, [1, 1, 1], () => 10);
    await seg!.truncateTo(written[1]!.position);
    expect(seg!.sizeBytes).toBe(written[1]!.position);
    expect(await seg!.locateBatch(written[1]!.baseOffset, seg!.sizeBytes)).toBeNull();
    expect(await seg!.locateBatch(0, seg!.sizeBytes)).toMatchObject({ baseOffset: 0 });
  });
});
