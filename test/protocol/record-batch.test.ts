import { describe, expect, it } from 'vitest';
import { crc32c } from '../../protocol/crc32c.js';
import {
  ATTRIBUTES_POS,
  BASE_OFFSET_POS,
  BASE_SEQUENCE_POS,
  BASE_TIMESTAMP_POS,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_POS,
  CRC_POS,
  LAST_OFFSET_DELTA_POS,
  LOG_OVERHEAD,
  MAGIC_POS,
  MAX_TIMESTAMP_POS,
  PARTITION_LEADER_EPOCH_POS,
  PRODUCER_EPOCH_POS,
  PRODUCER_ID_POS,
  RECORDS_POS,
  RECORD_COUNT_POS,
  batchSize,
  compressionOf,
  decodeBatch,
  decodeBatches,
  encodeBatch,
  patchBaseOffset,
  readBatchHeader,
  setLogAppendTime,
  validateBatch,
  type Compression,
  type Record,
  type RecordHeader,
  type RecordInput,
} from '../../protocol/record-batch.js';
import { bytes, errorNameOf, rng } from './record-batch-fixtures.js';

function asBuffer(data: Buffer | string | null | undefined): Buffer | null {
  if (data === null || data === undefined) return null;
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** What decodeBatch should give back for `inputs` encoded at `baseOffset`. */
function expected(inputs: RecordInput[], baseOffset: number, now: number): unknown[] {
  return inputs.map((r, i) => ({
    offset: r.offset ?? baseOffset + i,
    timestamp: r.timestamp ?? now,
    key: asBuffer(r.key),
    value: asBuffer(r.value),
    headers: r.headers === undefined
      ? []
      : Array.isArray(r.headers)
        ? r.headers.map((h) => ({ key: h.key, value: h.value }))
        : Object.entries(r.headers).map(([key, value]) => ({ key, value: asBuffer(value) })),
  }));
}

/**
 * Compares decoded records with `expected(...)` field by field, Buffers with `equals`: deep
 * equality walks Buffers element by element, which takes seconds for MiB-sized values.
 */
function expectRecords(actual: Record[], wanted: unknown[]): void {
  const want = wanted as Record[];
  expect(actual.length).toBe(want.length);
  const same = (a: Buffer | null, b: Buffer | null): boolean => (a === null || b === null ? a === b : Buffer.isBuffer(a) && a.equals(b));
  for (let i = 0; i < want.length; i++) {
    const a = actual[i]!;
    const w = want[i]!;
    const where = `record ${i}`;
    expect([where, a.offset, a.timestamp]).toEqual([where, w.offset, w.timestamp]);
    expect([where, 'key', same(a.key, w.key)]).toEqual([where, 'key', true]);
    expect([where, 'value', same(a.value, w.value)]).toEqual([where, 'value', true]);
    expect([where, a.headers.map((h) => h.key)]).toEqual([where, w.headers.map((h) => h.key)]);
    for (let h = 0; h < w.headers.length; h++) {
      expect([where, 'header', h, same(a.headers[h]!.value, w.headers[h]!.value)]).toEqual([where, 'header', h, true]);
    }
    expect(Object.keys(a).sort()).toEqual(['headers', 'key', 'offset', 'timestamp', 'value']);
  }
}

const COMPRESSIONS: Compression[] = ['none', 'gzip'];

describe('header layout', () => {
  it('names every field position of Kafka RecordBatch v2', () => {
    expect([LOG_OVERHEAD, BATCH_HEADER_BYTES]).toEqual([12, 61]);
    expect([
      BASE_OFFSET_POS, BATCH_LENGTH_POS, PARTITION_LEADER_EPOCH_POS, MAGIC_POS, CRC_POS, ATTRIBUTES_POS,
      LAST_OFFSET_DELTA_POS, BASE_TIMESTAMP_POS, MAX_TIMESTAMP_POS, PRODUCER_ID_POS, PRODUCER_EPOCH_POS,
      BASE_SEQUENCE_POS, RECORD_COUNT_POS, RECORDS_POS,
    ]).toEqual([0, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61]);
  });

  it('writes each header field where the layout says, big-endian', () => {
    const buf = encodeBatch([{ value: 'v', timestamp: 1000 }, { value: 'w', timestamp: 1500 }], {
      baseOffset: 0x0102030405,
      partitionLeaderEpoch: 7,
      producerId: 0x0a0b0c0d0e,
      producerEpoch: 3,
      baseSequence: 99,
    });
    expect(buf.subarray(0, 8).toString('hex')).toBe('0000000102030405');
    expect(buf.readInt32BE(8)).toBe(buf.length - 12);
    expect(buf.readInt32BE(12)).toBe(7);
    expect(buf[16]).toBe(2);
    expect(buf.readUInt32BE(17)).toBe(crc32c(buf, 21));
    expect(buf.readInt16BE(21)).toBe(0);
    expect(buf.readInt32BE(23)).toBe(1);
    expect(buf.readBigInt64BE(27)).toBe(1000n);
    expect(buf.readBigInt64BE(35)).toBe(1500n);
    expect(buf.subarray(43, 51).toString('hex')).toBe('0000000a0b0c0d0e');
    expect(buf.readInt16BE(51)).toBe(3);
    expect(buf.readInt32BE(53)).toBe(99);
    expect(buf.readInt32BE(57)).toBe(2);
    // First record: length 7, attributes 0, timestampDelta 0, offsetDelta 0, key null (-1),
    // value length 1, 'v', no headers.
    expect(buf.subarray(61, 69).toString('hex')).toBe('0e00000001027600');
    // Second: timestampDelta 500 (zig-zag 1000 = e8 07), offsetDelta 1.
    expect(buf.subarray(69).toString('hex')).toBe('1000e807020102' + '77' + '00');
  });

  it('defaults to a Kafka producer without idempotence: ids, epochs and sequence -1', () => {
    const header = readBatchHeader(encodeBatch([{ value: 'x' }], { now: 5 }));
    expect(header).toMatchObject({ baseOffset: 0, partitionLeaderEpoch: -1, producerId: -1, producerEpoch: -1, baseSequence: -1, baseTimestamp: 5, maxTimestamp: 5, attributes: 0 });
  });

  it('round-trips extreme header values: -1, int16/int32 limits, 2^53 - 1', () => {
    const buf = encodeBatch([{ value: null }], {
      baseOffset: Number.MAX_SAFE_INTEGER,
      partitionLeaderEpoch: -2147483648,
      producerId: Number.MAX_SAFE_INTEGER,
      producerEpoch: 32767,
      baseSequence: 2147483647,
      now: -1,
    });
    const { header, records } = decodeBatch(buf);
    expect(header).toMatchObject({ baseOffset: Number.MAX_SAFE_INTEGER, partitionLeaderEpoch: -2147483648, producerId: Number.MAX_SAFE_INTEGER, producerEpoch: 32767, baseSequence: 2147483647, baseTimestamp: -1, maxTimestamp: -1 });
    expect(records[0]).toEqual({ offset: Number.MAX_SAFE_INTEGER, timestamp: -1, key: null, value: null, headers: [] });
    expect(buf.subarray(BASE_TIMESTAMP_POS, BASE_TIMESTAMP_POS + 8).toString('hex')).toBe('ffffffffffffffff');
  });

  it('sets the attribute bits for gzip, LogAppendTime, transactional and control', () => {
    const buf = encodeBatch([{ value: 'x', timestamp: 1 }], { compression: 'gzip', timestampType: 'logAppend', isTransactional: true, isControl: true, now: 77 });
    const header = readBatchHeader(buf);
    expect(header.attributes).toBe(1 | 8 | 16 | 32);
    expect(header.maxTimestamp).toBe(77);
  });
});

describe('encodeBatch / decodeBatch round trips', () => {
  // Sizes around every varint length boundary, up to 1 MiB.
  const SIZES = [0, 1, 63, 64, 127, 128, 8191, 8192, 16 * 1024];
  const nowMs = 1_700_000_000_000;

  for (const compression of COMPRESSIONS) {
    it(`keys, values and headers of every size class (${compression})`, () => {
      const inputs: RecordInput[] = [
        { key: null, value: null },
        { key: undefined, value: '' },
        { key: '', value: Buffer.alloc(0) },
      ];
      for (const size of SIZES) {
        inputs.push({ key: bytes(size, size), value: bytes(size, size + 1), headers: [{ key: 'h'.repeat(size), value: bytes(size, size + 2) }] });
        inputs.push({ key: 'k'.repeat(size), value: 'é'.repeat(size), headers: { [`h${size}`]: 'v'.repeat(size), null: Buffer.alloc(0) } });
      }
      inputs.push({ key: 'null header', value: 'x', headers: [{ key: 'tombstone', value: null }, { key: '', value: Buffer.from([0]) }] });
      const buf = encodeBatch(inputs, { compression, baseOffset: 1000, now: nowMs });
      const { header, records } = decodeBatch(buf);
      expect(header.recordCount).toBe(inputs.length);
      expect(header.lastOffsetDelta).toBe(inputs.length - 1);
      expectRecords(records, expected(inputs, 1000, nowMs));
      expect(readBatchHeader(buf)).toEqual(header);
      expect(batchSize(buf)).toBe(buf.length);
    });

    it(`1 MiB keys, values and header values (${compression})`, () => {
      const mib = bytes(1024 * 1024, 7);
      const inputs: RecordInput[] = [
        { key: mib, value: null },
        { key: null, value: mib },
        { value: 'small', headers: [{ key: 'big', value: mib }] },
        { key: mib.toString('latin1'), value: mib.toString('base64') },
      ];
      const buf = encodeBatch(inputs, { compression, now: nowMs });
      expectRecords(decodeBatch(buf).records, expected(inputs, 0, nowMs));
    });

    it(`10,000 records with timestamps going back and forth (${compression})`, () => {
      const random = rng(99);
      const inputs: RecordInput[] = [];
      for (let i = 0; i < 10_000; i++) {
        // Deltas from -2^40 to +2^40 ms around the base: negative, 1..6-byte varlongs.
        const delta = Math.floor((random() - 0.5) * 2 ** Math.floor(random() * 41));
        inputs.push({
          key: random() < 0.2 ? null : `key-${i}`,
          value: bytes(Math.floor(random() * 200), i),
          timestamp: nowMs + (i === 0 ? 0 : delta),
          ...(random() < 0.1 ? { headers: [{ key: `h${i}`, value: Buffer.from(String(i)) }] } : {}),
        });
      }
      const buf = encodeBatch(inputs, { compression, baseOffset: 2 ** 40, now: nowMs });
      const { header, records } = decodeBatch(buf);
      expectRecords(records, expected(inputs, 2 ** 40, nowMs));
      expect(header.baseTimestamp).toBe(nowMs);
      expect(header.maxTimestamp).toBe(Math.max(...inputs.map((r) => r.timestamp!)));
    });
  }

  it('writes multi-byte UTF-8 strings as UTF-8', () => {
    const { records } = decodeBatch(encodeBatch([{ key: 'ключ', value: '🔑 été', headers: { 'en-tête': 'ü' } }]));
    expect(records[0]!.key!.toString('utf8')).toBe('ключ');
    expect(records[0]!.value!.toString('hex')).toBe(Buffer.from('🔑 été', 'utf8').toString('hex'));
    expect(records[0]!.headers).toEqual([{ key: 'en-tête', value: Buffer.from('ü', 'utf8') }]);
  });

  it('decodes repeated and same-length header keys correctly', () => {
    const names = ['trace', 'trace', 'tracf', 'trace', 'span', '', 'span', 'é', 'e\u0301', 'trace'];
    const inputs: RecordInput[] = names.map((key, i) => ({ value: String(i), headers: [{ key, value: null }, { key: 'trace', value: Buffer.from([i]) }] }));
    const { records } = decodeBatch(encodeBatch(inputs));
    expect(records.map((r) => r.headers.map((h) => h.key))).toEqual(names.map((n) => [n, 'trace']));
    expect(records.map((r) => r.headers[1]!.value![0])).toEqual(names.map((_, i) => i));
  });

  it('keeps explicit offsets with gaps (compaction) and sets lastOffsetDelta to the last', () => {
    const inputs: RecordInput[] = [{ value: 'a', offset: 100 }, { value: 'b', offset: 103 }, { value: 'c', offset: 110 }];
    const buf = encodeBatch(inputs, { baseOffset: 100, now: 1 });
    const { header, records } = decodeBatch(buf);
    expect(header.lastOffsetDelta).toBe(10);
    expect(header.recordCount).toBe(3);
    expect(records.map((r) => r.offset)).toEqual([100, 103, 110]);
  });

  it('decodes keys and values as views into the input buffer, not copies', () => {
    const buf = encodeBatch([{ key: 'k', value: 'value' }]);
    const { records } = decodeBatch(buf);
    expect(records[0]!.value!.buffer).toBe(buf.buffer);
    buf[buf.length - 2] = 'E'.charCodeAt(0); // the value's last byte ('e'); the CRC no longer matters here
    expect(records[0]!.value!.toString()).toBe('valuE');
  });

  it('decodes a batch in the middle of a larger buffer at `pos`', () => {
    const a = encodeBatch([{ value: 'first' }], { baseOffset: 0 });
    const b = encodeBatch([{ value: 'second' }, { value: 'third' }], { baseOffset: 1, compression: 'gzip' });
    const all = Buffer.concat([Buffer.from('junk'), a, b]);
    expect(decodeBatch(all, 4 + a.length).records.map((r) => r.value!.toString())).toEqual(['second', 'third']);
    expect(validateBatch(all, 4).recordCount).toBe(1);
    expect(batchSize(all, 4)).toBe(a.length);
  });

  it('reports LogAppendTime batches with every record at maxTimestamp', () => {
    const buf = encodeBatch([{ value: 'a', timestamp: 10 }, { value: 'b', timestamp: 5 }], { timestampType: 'logAppend', now: 1234 });
    const { header, records } = decodeBatch(buf);
    expect(header.baseTimestamp).toBe(10);
    expect(header.maxTimestamp).toBe(1234);
    expect(records.map((r) => r.timestamp)).toEqual([1234, 1234]);
  });

  it('refuses what cannot be encoded, with table errors', () => {
    expect(errorNameOf(() => encodeBatch([]))).toBe('INVALID_RECORD');
    expect(errorNameOf(() => encodeBatch([{ value: 'a', timestamp: 1.5 }]))).toBe('INVALID_TIMESTAMP');
    expect(errorNameOf(() => encodeBatch([{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: Number.NaN }]))).toBe('INVALID_TIMESTAMP');
    expect(errorNameOf(() => encodeBatch([{ value: 'a', timestamp: -(2 ** 52) }, { value: 'b', timestamp: 2 ** 52 }]))).toBe('INVALID_TIMESTAMP');
    expect(errorNameOf(() => encodeBatch([{ value: 'a', offset: 5 }, { value: 'b', offset: 5 }], { baseOffset: 5 }))).toBe('INVALID_RECORD');
    expect(errorNameOf(() => encodeBatch([{ value: 'a', offset: 4 }], { baseOffset: 5 }))).toBe('INVALID_RECORD');
    expect(errorNameOf(() => encodeBatch([{ value: 42 as unknown as string }]))).toBe('INVALID_RECORD');
    expect(errorNameOf(() => encodeBatch([{ value: 'a', headers: [{ key: null as unknown as string, value: null }] }]))).toBe('INVALID_RECORD');
    expect(errorNameOf(() => encodeBatch([{ value: 'a', headers: [undefined as unknown as RecordHeader] }]))).toBe('INVALID_RECORD');
    expect(errorNameOf(() => encodeBatch([{ value: 'a' }, { value: 'b' }], { baseOffset: Number.MAX_SAFE_INTEGER }))).toBe('INVALID_RECORD');
    expect(errorNameOf(() => encodeBatch([{ value: 'a' }], { compression: 'brotli' as Compression }))).toBe('UNSUPPORTED_COMPRESSION_TYPE');
    expect(() => encodeBatch([{ value: 'a' }], { baseOffset: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeBatch([{ value: 'a' }], { producerEpoch: 40000 })).toThrow(RangeError);
  });
});

describe('patchBaseOffset', () => {
  it('rewrites the 8 bytes, keeps the CRC valid and shifts every record offset', () => {
    const buf = encodeBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }], { compression: 'gzip' });
    const crc = buf.readUInt32BE(CRC_POS);
    patchBaseOffset(buf, 0, 5_000_000_000_000);
    expect(buf.readUInt32BE(CRC_POS)).toBe(crc);
    expect(decodeBatch(buf).records.map((r) => r.offset)).toEqual([5_000_000_000_000, 5_000_000_000_001, 5_000_000_000_002]);
    patchBaseOffset(buf, 0, -1);
    expect(buf.subarray(0, 8).toString('hex')).toBe('ffffffffffffffff');
    expect(readBatchHeader(buf).baseOffset).toBe(-1);
  });

  it('patches a batch in place inside a larger buffer', () => {
    const a = encodeBatch([{ value: 'a' }]);
    const b = encodeBatch([{ value: 'b' }, { value: 'c' }]);
    const log = Buffer.concat([a, b]);
    patchBaseOffset(log, 0, 10);
    patchBaseOffset(log, a.length, 11);
    expect(decodeBatches(log).flatMap((d) => d.records.map((r) => r.offset))).toEqual([10, 11, 12]);
    expect(() => patchBaseOffset(log, 0, 2 ** 53)).toThrow(RangeError);
  });
});

describe('setLogAppendTime', () => {
  it('sets the timestamp type bit and maxTimestamp, and re-seals the CRC', () => {
    for (const compression of COMPRESSIONS) {
      const buf = encodeBatch([{ value: 'a', timestamp: 100 }, { value: 'b', timestamp: 200 }], { compression, isTransactional: true });
      const log = Buffer.concat([Buffer.alloc(3), buf]);
      setLogAppendTime(log, 3, 999_999);
      const { header, records } = decodeBatch(log, 3);
      expect(header.attributes).toBe((compression === 'gzip' ? 1 : 0) | 8 | 16);
      expect(header.maxTimestamp).toBe(999_999);
      expect(header.baseTimestamp).toBe(100);
      expect(records.map((r) => r.timestamp)).toEqual([999_999, 999_999]);
    }
  });

  it('refuses a batch that does not fit the buffer', () => {
    const buf = encodeBatch([{ value: 'a' }]);
    expect(errorNameOf(() => setLogAppendTime(buf.subarray(0, buf.length - 1), 0, 1))).toBe('CORRUPT_MESSAGE');
  });
});

describe('compressionOf', () => {
  it('maps codecs 0-4 to their names and 5-7 to CORRUPT_MESSAGE', () => {
    expect([0, 1, 2, 3, 4].map(compressionOf)).toEqual(['none', 'gzip', 'snappy', 'lz4', 'zstd']);
    expect(compressionOf(0x38 | 1)).toBe('gzip');
    for (const codec of [5, 6, 7]) expect(errorNameOf(() => compressionOf(codec))).toBe('CORRUPT_MESSAGE');
  });

  it('makes decodeBatch refuse a batch whose codec bits say snappy but whose records are not snappy', () => {
    const snappy = Buffer.from(encodeBatch([{ value: 'a' }]));
    snappy.writeInt16BE(2, ATTRIBUTES_POS);
    snappy.writeUInt32BE(crc32c(snappy, ATTRIBUTES_POS), CRC_POS);
    expect(validateBatch(snappy).attributes).toBe(2);
    expect(errorNameOf(() => decodeBatch(snappy))).toBe('CORRUPT_MESSAGE');
  });
});

describe('decodeBatches', () => {
  const batches = [
    encodeBatch([{ value: 'a' }, { value: 'b' }], { baseOffset: 0 }),
    encodeBatch([{ value: 'c' }], { baseOffset: 2, compression: 'gzip' }),
    encodeBatch([{ value: 'd' }, { value: 'e' }, { value: 'f' }], { baseOffset: 3 }),
  ];
  const all = Buffer.concat(batches);

  it('decodes concatenated batches in order', () => {
    const decoded = decodeBatches(all);
    expect(decoded.flatMap((d) => d.records.map((r) => `${r.offset}:${r.value!.toString()}`))).toEqual(['0:a', '1:b', '2:c', '3:d', '4:e', '5:f']);
    expect(decodeBatches(Buffer.alloc(0))).toEqual([]);
  });

  it('ignores a trailing partial batch cut at any byte', () => {
    const fullBefore = batches[0]!.length + batches[1]!.length;
    for (let length = fullBefore; length < all.length; length++) {
      expect(decodeBatches(all.subarray(0, length))).toHaveLength(2);
    }
  });

  it('throws on corruption instead of skipping it', () => {
    const bad = Buffer.from(all);
    bad[batches[0]!.length + RECORDS_POS] ^= 0xff;
    expect(errorNameOf(() => decodeBatches(bad))).toBe('CORRUPT_MESSAGE');
    const short = Buffer.from(all);
    short.writeInt32BE(10, batches[0]!.length + BATCH_LENGTH_POS);
    expect(errorNameOf(() => decodeBatches(short))).toBe('CORRUPT_MESSAGE');
  });
});
