import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import { decodeBatches, readBatchHeader } from '../../protocol/record-batch.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { batchOf, config, readAll, removeDir, tempDir } from './helpers.js';

async function rejectsWith(p: Promise<unknown>, name: string): Promise<RillError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe(name);
    return err as RillError;
  }
  throw new Error(`expected ${name}, got success`);
}

describe('PartitionLog append and read', () => {
  let dir: string;
  const logs: PartitionLog[] = [];
  const open = async (overrides = {}, recoveryPoint: number | null = 0): Promise<PartitionLog> => {
    const log = await PartitionLog.open({ topic: 't', partition: 0, dir, config: config(overrides), recoveryPoint });
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

  it('assigns offsets from the log end across many segment rolls and reads every offset back', async () => {
    const log = await open({ segmentBytes: 1024, indexIntervalBytes: 128 });
    const expected: Array<{ offset: number; value: string }> = [];
    for (let i = 0; i < 120; i++) {
      const count = 1 + (i % 4);
      const r = await log.append(batchOf(count, `b${i}`));
      expect(r.baseOffset).toBe(expected.length);
      expect(r.lastOffset).toBe(expected.length + count - 1);
      expect(r.duplicate).toBe(false);
      for (let k = 0; k < count; k++) expected.push({ offset: expected.length, value: `b${i}-${k}` });
    }
    expect(log.logEndOffset).toBe(expected.length);
    expect(log.segmentCount).toBeGreaterThan(10);
    expect(log.stats.rolls).toBe(log.segmentCount - 1);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
    expect(files[0]).toBe('00000000000000000000.log');
    expect(files.every((f) => /^\d{20}\.log$/.test(f))).toBe(true);

    // Every offset: the first batch returned holds it, and batches come back whole.
    for (let off = 0; off < expected.length; off++) {
      const r = await log.read(off, 200);
      const batches = decodeBatches(r.records);
      expect(batches.length).toBeGreaterThan(0);
      const first = batches[0]!.header;
      expect(first.baseOffset).toBeLessThanOrEqual(off);
      expect(first.baseOffset + first.lastOffsetDelta).toBeGreaterThanOrEqual(off);
      const rec = batches[0]!.records.find((x) => x.offset === off)!;
      expect(rec.value!.toString()).toBe(expected[off]!.value);
      let size = 0;
      for (const b of batches) size += 12 + b.header.batchLength;
      expect(size).toBe(r.records.length);
    }
    const all = await readAll(log);
    expect(all.map((r) => [r.offset, r.value])).toEqual(expected.map((e) => [e.offset, e.value]));
  });

  it('answers the log end with an empty read and offsets outside [start, end] with OFFSET_OUT_OF_RANGE', async () => {
    const log = await open();
    await log.append(batchOf(3, 'a'));
    const atEnd = await log.read(3, 1000);
    expect(atEnd.records.length).toBe(0);
    expect(atEnd.logEndOffset).toBe(3);
    expect(atEnd.highWatermark).toBe(3);
    await rejectsWith(log.read(4, 1000), 'OFFSET_OUT_OF_RANGE');
    await rejectsWith(log.read(-1, 1000), 'OFFSET_OUT_OF_RANGE');
  });

  it('returns the first batch even when larger than maxBytes, unless minOneBatch is false, and trims partial batches', async () => {
    const log = await open();
    const big = batchOf(50, 'x'.repeat(40));
    await log.append(big);
    await log.append(batchOf(1, 'small'));
    const r = await log.read(0, 10);
    expect(r.records.length).toBe(big.length);
    const none = await log.read(0, 10, { minOneBatch: false });
    expect(none.records.length).toBe(0);
    const partial = await log.read(0, big.length + 20);
    expect(partial.records.length).toBe(big.length);
    // The same from a sequential reader's remembered position (offset 50 follows the big batch).
    await log.append(big);
    const second = await log.read(50, 10);
    expect(decodeBatches(second.records).map((b) => b.header.baseOffset)).toEqual([50]);
    expect((await log.read(51, 10)).records.length).toBe(big.length);
    expect((await log.read(51, 10, { minOneBatch: false })).records.length).toBe(0);
    expect((await log.read(51, big.length * 2)).records.length).toBe(big.length);
  });

  it('coalesces concurrent appends into few writes, in call order', async () => {
    const log = await open();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(batchOf(2, `c${i}`))));
    results.forEach((r, i) => expect(r.baseOffset).toBe(i * 2));
    expect(log.stats.writes).toBeLessThan(50);
    const all = await readAll(log);
    expect(all.map((r) => r.value)).toEqual(Array.from({ length: 50 }, (_, i) => [`c${i}-0`, `c${i}-1`]).flat());
  });

  it('appends several concatenated batches in one call', async () => {
    const log = await open({ segmentBytes: 300 });
    const r = await log.append(Buffer.concat([batchOf(2, 'a'), batchOf(3, 'b'), batchOf(1, 'c')]));
    expect([r.baseOffset, r.lastOffset]).toEqual([0, 5]);
    expect((await readAll(log)).map((x) => x.value)).toEqual(['a-0', 'a-1', 'b-0', 'b-1', 'b-2', 'c-0']);
  });

  it('refuses a batch above max.message.bytes and malformed input, and keeps going', async () => {
    const log = await open({ maxMessageBytes: 200 });
    await rejectsWith(log.append(batchOf(20, 'too-large-value')), 'MESSAGE_TOO_LARGE');
    const bad = batchOf(1, 'a');
    bad[16] = 1; // magic
    await rejectsWith(log.append(bad), 'CORRUPT_MESSAGE');
    await rejectsWith(log.append(batchOf(1, 'a').subarray(0, 40)), 'CORRUPT_MESSAGE');
    const ok = await log.append(batchOf(1, 'fine'));
    expect(ok.baseOffset).toBe(0);
  });

  it('stamps LogAppendTime when configured', async () => {
    const log = await open({ messageTimestampType: 'LogAppendTime' });
    const before = Date.now();
    const r = await log.append(batchOf(2, 'a', { timestamp: 1000 }));
    expect(r.logAppendTimeMs).toBeGreaterThanOrEqual(before);
    const batch = decodeBatches((await log.read(0, 1000)).records)[0]!;
    expect(batch.header.maxTimestamp).toBe(r.logAppendTimeMs);
    expect(batch.records.map((x) => x.timestamp)).toEqual([r.logAppendTimeMs, r.logAppendTimeMs]);
  });

  it('rolls by segment.ms', async () => {
    const log = await open({ segmentMs: 1 });
    await log.append(batchOf(1, 'a'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await log.append(batchOf(1, 'b'));
    expect(log.segmentCount).toBe(2);
    expect(log.segmentBaseOffsets).toEqual([0, 1]);
  });

  it('finds the first offset at or after a timestamp, at record level, across segments', async () => {
    const log = await open({ segmentBytes: 600, indexIntervalBytes: 100 });
    // Timestamps not monotonic across batches: 1000.., 5000.., 3000.., 7000..
    const starts = [1000, 5000, 3000, 7000, 9000, 8000, 12000];
    for (const [i, ts] of starts.entries()) await log.append(batchOf(5, `t${i}`, { timestamp: ts }));
    const records = await readAll(log);
    for (const target of [0, 1000, 1003, 1005, 2999, 3000, 3004, 4000, 5002, 6000, 7004, 8001, 9003, 11000, 12004]) {
      const want = records.find((r) => r.timestamp >= target);
      const got = await log.offsetForTimestamp(target);
      expect(got, `target ${target}`).toEqual(want === undefined ? null : { offset: want.offset, timestamp: want.timestamp });
    }
    expect(await log.offsetForTimestamp(12005)).toBeNull();
  });

  it('reopens after close with the same contents and continues the offsets', async () => {
    const log = await open({ segmentBytes: 500 });
    for (let i = 0; i < 30; i++) await log.append(batchOf(2, `r${i}`));
    const before = await readAll(log);
    await log.close();
    logs.splice(0);
    const again = await open({ segmentBytes: 500 }, null);
    expect(again.logEndOffset).toBe(60);
    expect(await readAll(again)).toEqual(before);
    const r = await again.append(batchOf(1, 'next'));
    expect(r.baseOffset).toBe(60);
  });

  it('puts the log in a failed state after a failed write: appends reject with KAFKA_STORAGE_ERROR until reopened', async () => {
    const log = await open();
    await log.append(batchOf(1, 'before'));
    // Make the next write fail: close the active segment's fd underneath the log.
    await log.activeSegment.close();
    await rejectsWith(log.append(batchOf(1, 'lost')), 'KAFKA_STORAGE_ERROR');
    expect(log.isFailed).toBe(true);
    await rejectsWith(log.append(batchOf(1, 'refused')), 'KAFKA_STORAGE_ERROR');
    await log.close();
    logs.splice(0);
    const reopened = await open({}, log.recoveryPoint);
    expect((await readAll(reopened)).map((r) => r.value)).toEqual(['before-0']);
    expect((await reopened.append(batchOf(1, 'after'))).baseOffset).toBe(1);
  });

  it('patches baseOffset in place without touching the CRC-covered bytes', async () => {
    const log = await open();
    await log.append(batchOf(4, 'a'));
    const b = batchOf(1, 'b');
    const crcBefore = readBatchHeader(b).crc;
    await log.append(b);
    expect(readBatchHeader(b).baseOffset).toBe(4);
    expect(readBatchHeader(b).crc).toBe(crcBefore);
  });
});
