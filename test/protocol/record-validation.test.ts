/**
 * The record-framing walker (protocol/record-validation.ts): well-formed batches (rill's and
 * Kafka's own, uncompressed and gzip) pass; every kind of malformed record behind a valid CRC
 * is found, with a reason that names the record and what is wrong.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../protocol/crc32c.js';
import { ErrorCode, RillError } from '../../protocol/errors.js';
import {
  ATTRIBUTES_POS,
  CRC_POS,
  LAST_OFFSET_DELTA_POS,
  RECORDS_POS,
  RECORD_COUNT_POS,
  encodeBatch,
  readBatchHeader,
  validateBatch,
  type RecordInput,
} from '../../protocol/record-batch.js';
import {
  PRODUCED_BATCH_RULES,
  PRODUCED_COMPACTED_BATCH_RULES,
  STORED_BATCH_RULES,
  checkBatchRecords,
  describeBatchCorruption,
  type FramingRules,
} from '../../protocol/record-validation.js';
import { readVarint, writeVarint } from '../../protocol/varint.js';

const FIXTURES = new URL('../fixtures/kafka-record-batches/', import.meta.url);

/** The walk of a batch whose header passes validateBatch (the CRC is always made right). */
function check(batch: Buffer, rules: Readonly<FramingRules> = PRODUCED_BATCH_RULES): string | null {
  return checkBatchRecords(batch, 0, validateBatch(batch), rules);
}

/** `batch` with its records replaced by `records` (gzip-compressed when asked), header fields fixed and the CRC recomputed. */
function withRecords(batch: Buffer, records: Buffer, opts: { recordCount?: number; lastOffsetDelta?: number; gzip?: boolean } = {}): Buffer {
  const body = opts.gzip === true ? gzipSync(records) : records;
  const out = Buffer.concat([batch.subarray(0, RECORDS_POS), body]);
  out.writeInt32BE(out.length - 12, 8);
  if (opts.gzip === true) out.writeInt16BE((out.readInt16BE(ATTRIBUTES_POS) & ~7) | 1, ATTRIBUTES_POS);
  if (opts.recordCount !== undefined) out.writeInt32BE(opts.recordCount, RECORD_COUNT_POS);
  if (opts.lastOffsetDelta !== undefined) out.writeInt32BE(opts.lastOffsetDelta, LAST_OFFSET_DELTA_POS);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES_POS, out.length), CRC_POS);
  return out;
}

/** The uncompressed records of an uncompressed batch. */
function recordsOf(batch: Buffer): Buffer {
  return Buffer.from(batch.subarray(RECORDS_POS));
}

/** Rewrites the varint at `pos` of `buf` by `change`, which must keep its encoded size. */
function bumpVarint(buf: Buffer, pos: number, change: (v: number) => number): Buffer {
  const cursor = { pos };
  const old = readVarint(buf, cursor);
  const end = writeVarint(buf, pos, change(old));
  expect(end).toBe(cursor.pos);
  return buf;
}

/**
 * Positions of record 0's fields in `records` (keyLength etc. are the varints' positions),
 * found by reading them the way the format says.
 */
function fieldsOf(records: Buffer, at = 0): { length: number; attributes: number; offsetDelta: number; keyLength: number; valueLength: number; headerCount: number; end: number } {
  const c = { pos: at };
  const length = c.pos;
  const bodyBytes = readVarint(records, c);
  const bodyStart = c.pos;
  const attributes = c.pos++;
  // timestampDelta: 1 byte in these tests (records share the base timestamp)
  c.pos++;
  const offsetDelta = c.pos;
  readVarint(records, c);
  const keyLength = c.pos;
  const keyBytes = readVarint(records, c);
  c.pos += Math.max(0, keyBytes);
  const valueLength = c.pos;
  const valueBytes = readVarint(records, c);
  c.pos += Math.max(0, valueBytes);
  return { length, attributes, offsetDelta, keyLength, valueLength, headerCount: c.pos, end: bodyStart + bodyBytes };
}

const NOW = 1_700_000_000_000;
const one = (): Buffer => encodeBatch([{ key: 'k', value: 'value', timestamp: NOW }]);
const three = (): Buffer => encodeBatch([0, 1, 2].map((i): RecordInput => ({ key: `k${i}`, value: `v${i}`, timestamp: NOW, headers: [{ key: 'h', value: Buffer.from('x') }] })));

describe('record framing: well-formed batches pass', () => {
  it("rill's own batches: null keys and values, headers with null values, wide timestamp deltas, gzip", () => {
    const records: RecordInput[] = [
      { key: null, value: null, timestamp: NOW },
      { key: '', value: '', timestamp: NOW - 5_000_000_000, headers: [{ key: 'a', value: null }, { key: '', value: Buffer.alloc(300, 1) }] },
      { key: 'k'.repeat(200), value: Buffer.alloc(70_000, 2), timestamp: NOW + 1 },
    ];
    for (const compression of ['none', 'gzip'] as const) {
      const batch = encodeBatch(records, { compression });
      for (const rules of [PRODUCED_BATCH_RULES, STORED_BATCH_RULES]) expect(check(batch, rules)).toBeNull();
      expect(describeBatchCorruption(batch, 0)).toBeNull();
    }
    expect(check(encodeBatch([{ key: 'k', value: 'v' }], { compression: 'gzip' }), PRODUCED_COMPACTED_BATCH_RULES)).toBeNull();
  });

  it('a batch with offset gaps (compaction) passes as stored, not as produced', () => {
    const gappy = encodeBatch([{ value: 'a', offset: 0 }, { value: 'b', offset: 5 }]);
    expect(check(gappy, STORED_BATCH_RULES)).toBeNull();
    expect(check(gappy, PRODUCED_BATCH_RULES)).toBe('record 1: offsetDelta 5, expected 1 (a produced batch\'s offsets are consecutive)');
    // Compaction may drop the last record and keep lastOffsetDelta.
    const trimmed = withRecords(gappy, recordsOf(encodeBatch([{ value: 'a' }])), { recordCount: 1 });
    expect(check(trimmed, STORED_BATCH_RULES)).toBeNull();
  });

  it("Kafka's batches (test/fixtures/kafka-record-batches) pass, gzip ones after decompressing", () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    let checked = 0;
    for (const file of files) {
      const batches = JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Array<{ hex: string }>;
      for (const { hex } of batches) {
        const batch = Buffer.from(hex, 'hex');
        expect(check(batch, STORED_BATCH_RULES), file).toBeNull();
        expect(check(batch, PRODUCED_BATCH_RULES), file).toBeNull();
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});

describe('record framing: malformed records behind a valid CRC are found', () => {
  it("the issue's batch: record length + 1, CRC recomputed", () => {
    const records = recordsOf(one());
    const bad = withRecords(one(), bumpVarint(records, 0, (v) => v + 1));
    const left = records.length - 1;
    expect(check(bad)).toBe(`record 0: length ${left + 1} does not fit the ${left} bytes left`);
    expect(check(bad, STORED_BATCH_RULES)).toBe(`record 0: length ${left + 1} does not fit the ${left} bytes left`);
    // What a consumer reports: the same reason, the batch's position nowhere in it.
    expect(describeBatchCorruption(Buffer.concat([one(), bad]), one().length)).toBe(`record 0: length ${left + 1} does not fit the ${left} bytes left`);
  });

  it('a length one short: the fields overrun the record', () => {
    const records = recordsOf(one());
    expect(check(withRecords(one(), bumpVarint(records, 0, (v) => v - 1)))).toMatch(/^record 0: its header count varint runs past the end of the record$/);
  });

  it('a length too long in the middle of a batch: the fields end before it', () => {
    const batch = three();
    const records = recordsOf(batch);
    const f = fieldsOf(records);
    const second = fieldsOf(records, f.end);
    // Record 0 claims one more byte; give it one (an extra header byte) at its end.
    const grown = Buffer.concat([records.subarray(0, f.end), Buffer.from([0]), records.subarray(f.end)]);
    bumpVarint(grown, 0, (v) => v + 1);
    expect(check(withRecords(batch, grown))).toMatch(/^record 0: its fields take \d+ bytes, its length says \d+$/);
    expect(second.end).toBeGreaterThan(f.end);
  });

  it('a negative or too small length', () => {
    const records = recordsOf(one());
    expect(check(withRecords(one(), bumpVarint(Buffer.from(records), 0, () => -3)))).toMatch(/^record 0: length -3 is below/);
    const tiny = Buffer.from([writeByte(2), 0, 0, ...records]);
    expect(check(withRecords(one(), tiny))).toBe("record 0: length 2 is below a record's smallest body, 6 bytes");
  });

  it('key and value lengths: below -1, or past the record', () => {
    const records = recordsOf(one());
    const f = fieldsOf(records);
    expect(check(withRecords(one(), bumpVarint(Buffer.from(records), f.keyLength, () => -2)))).toBe('record 0: key length -2 is invalid');
    expect(check(withRecords(one(), bumpVarint(Buffer.from(records), f.keyLength, () => 40)))).toMatch(/^record 0: key length 40 does not fit the \d+ bytes left in the record$/);
    expect(check(withRecords(one(), bumpVarint(Buffer.from(records), f.valueLength, () => -7)))).toBe('record 0: value length -7 is invalid');
    const leftAfterValueLength = f.end - (f.valueLength + 1);
    expect(check(withRecords(one(), bumpVarint(Buffer.from(records), f.valueLength, () => 40)))).toBe(`record 0: value length 40 does not fit the ${leftAfterValueLength} bytes left in the record`);
  });

  it('a null key on a compacted topic', () => {
    const batch = encodeBatch([{ key: 'a', value: '1' }, { key: null, value: '2' }]);
    expect(check(batch, PRODUCED_COMPACTED_BATCH_RULES)).toBe('record 1: null key; a compacted topic needs a key on every record');
    expect(check(batch, PRODUCED_BATCH_RULES)).toBeNull();
  });

  it('headers: a negative count, a count past the record, a null key, a value past the record', () => {
    const batch = three();
    const records = recordsOf(batch);
    const f = fieldsOf(records);
    expect(check(withRecords(batch, bumpVarint(Buffer.from(records), f.headerCount, () => -1)))).toMatch(/^record 0: header count -1 does not fit/);
    expect(check(withRecords(batch, bumpVarint(Buffer.from(records), f.headerCount, () => 9)))).toMatch(/^record 0: header count 9 does not fit the 4 bytes left in the record$/);
    const headerKey = f.headerCount + 1;
    expect(check(withRecords(batch, bumpVarint(Buffer.from(records), headerKey, () => -1)))).toBe('record 0: header 0 key length -1 does not fit the 3 bytes left in the record (header keys are never null)');
    const headerValue = headerKey + 2;
    expect(check(withRecords(batch, bumpVarint(Buffer.from(records), headerValue, () => 2)))).toBe('record 0: header 0 value length 2 does not fit the 1 bytes left in the record');
    expect(check(withRecords(batch, bumpVarint(Buffer.from(records), headerValue, () => -5)))).toBe('record 0: header 0 value length -5 is invalid');
  });

  it('offsetDelta: not the index (produced), not increasing or past lastOffsetDelta (stored), last one not lastOffsetDelta', () => {
    const batch = three();
    const records = recordsOf(batch);
    const second = fieldsOf(records, fieldsOf(records).end);
    const repeated = bumpVarint(Buffer.from(records), second.offsetDelta, () => 0);
    expect(check(withRecords(batch, repeated))).toBe("record 1: offsetDelta 0, expected 1 (a produced batch's offsets are consecutive)");
    expect(check(withRecords(batch, repeated), STORED_BATCH_RULES)).toBe('record 1: offsetDelta 0 is not above 0 and at most lastOffsetDelta 2');
    const beyond = withRecords(batch, bumpVarint(Buffer.from(records), second.offsetDelta, () => 9));
    expect(check(beyond, STORED_BATCH_RULES)).toBe('record 1: offsetDelta 9 is not above 0 and at most lastOffsetDelta 2');
    // Two records where the header says lastOffsetDelta 2: consecutive offsets end at 1.
    const two = withRecords(batch, records.subarray(0, second.end), { recordCount: 2 });
    expect(check(two)).toBe("the last record's offsetDelta 1 is not lastOffsetDelta 2");
    expect(check(two, STORED_BATCH_RULES)).toBeNull();
  });

  it('recordCount: more records claimed than present, fewer than present, bytes after the last', () => {
    const batch = three();
    const records = recordsOf(batch);
    expect(check(withRecords(batch, records, { recordCount: 3, lastOffsetDelta: 3 }), STORED_BATCH_RULES)).toBeNull();
    expect(check(withRecords(batch, records, { recordCount: 4, lastOffsetDelta: 3 }))).toBe('record 3: no bytes left, the batch claims 4 records');
    const firstEnd = fieldsOf(records).end;
    expect(check(withRecords(batch, records, { recordCount: 1, lastOffsetDelta: 0 }))).toBe(`${records.length - firstEnd} bytes follow the last of its 1 records`);
    expect(check(withRecords(batch, Buffer.concat([records, Buffer.from([0])])))).toBe('1 bytes follow the last of its 3 records');
  });

  it('malformed varints: past the end, longer than 5 bytes, a timestampDelta that is not a safe integer', () => {
    const records = recordsOf(one());
    const f = fieldsOf(records);
    const cut = withRecords(one(), Buffer.concat([records, Buffer.from([0x80])]), { recordCount: 2, lastOffsetDelta: 1 });
    expect(check(cut)).toBe('record 1: its length varint runs past the end of the records');
    const overlong = Buffer.from(records);
    overlong.fill(0xff, f.offsetDelta, f.offsetDelta + 5);
    expect(check(withRecords(one(), overlong))).toBe('record 0: its offsetDelta varint is longer than 5 bytes');
    // A 10-byte varlong of 2^62: far beyond 2^53.
    const wide = Buffer.concat([Buffer.from([0]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), records.subarray(f.offsetDelta, f.end)]);
    const rec = Buffer.concat([Buffer.alloc(1), wide]);
    writeVarint(rec, 0, wide.length);
    expect(check(withRecords(one(), rec))).toBe('record 0: its timestampDelta varlong does not fit a safe integer (|n| <= 2^53 - 1)');
  });

  it('gzip batches are walked after decompressing; data that does not decompress throws CORRUPT_MESSAGE', () => {
    const records = recordsOf(one());
    const left = records.length - 1;
    const bad = withRecords(one(), bumpVarint(Buffer.from(records), 0, (v) => v + 1), { gzip: true });
    expect(readBatchHeader(bad).attributes & 7).toBe(1);
    expect(check(bad)).toBe(`record 0: length ${left + 1} does not fit the ${left} bytes left`);
    expect(check(withRecords(one(), records, { gzip: true }))).toBeNull();
    const garbage = withRecords(one(), Buffer.from('not gzip at all'));
    garbage.writeInt16BE(1, ATTRIBUTES_POS);
    garbage.writeUInt32BE(crc32c(garbage, ATTRIBUTES_POS, garbage.length), CRC_POS);
    let thrown: unknown;
    try {
      check(garbage);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RillError);
    expect((thrown as RillError).code).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(describeBatchCorruption(garbage, 0)).toMatch(/^gzip records do not decompress/);
  });

  it('describeBatchCorruption reports header trouble (a bad CRC) without the position in the buffer', () => {
    const batch = Buffer.concat([one(), one()]);
    batch[batch.length - 1]! ^= 0xff;
    expect(describeBatchCorruption(batch, one().length)).toMatch(/^fails its CRC-32C check: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}$/);
    expect(describeBatchCorruption(batch, 0)).toBeNull();
  });
});

/** The one-byte varint of a small non-negative `n`. */
function writeByte(n: number): number {
  const b = Buffer.alloc(1);
  writeVarint(b, 0, n);
  return b[0]!;
}
