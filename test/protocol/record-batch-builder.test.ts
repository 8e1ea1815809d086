import { describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import { RecordBatchBuilder, type BuilderHeaders } from '../../protocol/record-batch-builder.js';
import { RECORDS_POS, decodeBatch, encodeBatch, readBatchHeader, type RecordInput } from '../../protocol/record-batch.js';

const T0 = 1_700_000_000_000;

/** Records of every shape the builder takes: Buffer/string/Uint8Array/null keys and values, both header forms. */
function sampleRecords(): Array<{ input: RecordInput; headers: BuilderHeaders; timestamp: number }> {
  const out: Array<{ input: RecordInput; headers: BuilderHeaders; timestamp: number }> = [];
  for (let i = 0; i < 300; i++) {
    const timestamp = T0 + ((i * 7919) % 5000) - 2500; // earlier and later than the first
    const key = i % 4 === 0 ? null : i % 4 === 1 ? `key-${i}` : i % 4 === 2 ? Buffer.from(`k${i}`) : 'ключ-ü-' + i;
    const value = i % 5 === 0 ? null : i % 5 === 1 ? 'v'.repeat(i) : i % 5 === 2 ? 'ünïcødé ✓ '.repeat(i % 7) : i % 5 === 3 ? new Uint8Array(Buffer.alloc(i, i & 0xff)) : Buffer.alloc(i * 3, 0x61);
    let headers: BuilderHeaders;
    if (i % 3 === 1) headers = [{ key: 'trace', value: Buffer.from(`t${i}`) }, { key: '', value: null }];
    else if (i % 3 === 2) headers = { 'content-type': 'text/ü', empty: Buffer.alloc(0) };
    out.push({ input: { key, value: value as Buffer | string | null, timestamp, ...(headers !== undefined ? { headers: headers as RecordInput['headers'] } : {}) }, headers, timestamp });
  }
  return out;
}

describe('RecordBatchBuilder', () => {
  it('builds exactly the bytes encodeBatch writes for the same records, growing from a small buffer', () => {
    const records = sampleRecords();
    const builder = new RecordBatchBuilder(Buffer.alloc(RECORDS_POS), 1 << 20);
    for (const r of records) builder.append(r.timestamp, r.input.key ?? null, r.input.value, r.headers);
    expect(builder.recordCount).toBe(records.length);
    const opts = { producerId: 42, producerEpoch: 3, baseSequence: 1000 };
    const built = builder.build({ ...opts, compression: 'none' });
    const expected = encodeBatch(records.map((r) => r.input), { ...opts, compression: 'none' });
    expect(built.length).toBe(builder.sizeBytes);
    expect(built.equals(expected)).toBe(true);
    // And it decodes back to what went in.
    const decoded = decodeBatch(built);
    expect(decoded.header).toMatchObject({ producerId: 42, producerEpoch: 3, baseSequence: 1000, recordCount: 300, lastOffsetDelta: 299 });
    expect(decoded.records[2]!.key!.toString()).toBe('k2');
    expect(decoded.records[12]!.value!.toString()).toBe('ünïcødé ✓ '.repeat(5));
    expect(decoded.records[1]!.headers).toEqual([
      { key: 'trace', value: Buffer.from('t1') },
      { key: '', value: null },
    ]);
  });

  it('compresses the records section with each codec and leaves the pooled buffer reusable', () => {
    const records = sampleRecords().slice(0, 50);
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const buffer = Buffer.alloc(64 * 1024);
      const builder = new RecordBatchBuilder(buffer, 64 * 1024);
      for (const r of records) builder.append(r.timestamp, r.input.key ?? null, r.input.value, r.headers);
      const built = builder.build({ compression });
      expect(built.buffer === buffer.buffer && built.byteOffset === buffer.byteOffset).toBe(false);
      buffer.fill(0xee); // the next batch overwrites the buffer: the sealed batch must not care
      const decoded = decodeBatch(built);
      const plain = decodeBatch(encodeBatch(records.map((r) => r.input)));
      expect(decoded.records).toEqual(plain.records);
      expect(readBatchHeader(built).attributes & 7).toBeGreaterThan(0);
    }
  });

  it('stops doubling at preferredBytes and goes past it only for a record that needs it', () => {
    const builder = new RecordBatchBuilder(Buffer.alloc(100), 1000);
    const sizes = new Set<number>();
    for (let i = 0; i < 55; i++) {
      builder.append(T0, null, Buffer.alloc(10, i), null);
      sizes.add(builder.buffer.length);
    }
    expect([...sizes]).toEqual([100, 200, 400, 800, 1000]);
    builder.append(T0, null, Buffer.alloc(3000), null);
    expect(builder.buffer.length).toBe(builder.sizeBytes);
    const values = decodeBatch(builder.build()).records.map((r) => r.value!);
    expect(values.map((v) => v.length)).toEqual([...Array<number>(55).fill(10), 3000]);
    expect(values[54]!.equals(Buffer.alloc(10, 54))).toBe(true);
  });

  it('refuses a bad record before writing anything: the batch stays as it was', () => {
    const builder = new RecordBatchBuilder(Buffer.alloc(4096), 4096);
    builder.append(T0, Buffer.from('a'), 'first', null);
    const before = Buffer.from(builder.buffer.subarray(0, builder.sizeBytes));
    const bad: Array<() => void> = [
      () => builder.append(T0, null, 12 as unknown as string, null),
      () => builder.append(T0, { k: 1 } as unknown as Buffer, 'v', null),
      () => builder.append(T0, null, 'v', [{ key: 7 as unknown as string, value: null }]),
      () => builder.append(T0, null, 'v', { h: 5 as unknown as string }),
      () => builder.append(1.5, null, 'v', null),
      () => builder.append(Number.MAX_SAFE_INTEGER + 10, null, 'v', null),
    ];
    for (const f of bad) {
      expect(f).toThrow(RillError);
      expect(builder.recordCount).toBe(1);
      expect(builder.buffer.subarray(0, builder.sizeBytes).equals(before)).toBe(true);
    }
    builder.append(T0 + 1, null, 'second', null);
    expect(decodeBatch(builder.build()).records.map((r) => r.value!.toString())).toEqual(['first', 'second']);
  });

  it('refuses to build an empty batch or with bad producer fields', () => {
    const builder = new RecordBatchBuilder(Buffer.alloc(RECORDS_POS), 1024);
    expect(() => builder.build()).toThrow(/at least one record/);
    builder.append(T0, null, 'x', null);
    expect(() => builder.build({ producerEpoch: 1 << 20 })).toThrow(RangeError);
    expect(() => builder.build({ compression: 'brotli' as never })).toThrow(/not supported/);
    expect(() => new RecordBatchBuilder(Buffer.alloc(10), 1024)).toThrow(RangeError);
  });
});
