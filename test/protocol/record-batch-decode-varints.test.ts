/**
 * The record loop's inline varint reads (protocol/record-batch-decode.ts `zigZagAt`): records
 * whose lengths, offset deltas and timestamp deltas take one, two, three and more bytes decode
 * to what was encoded, whole and from a chunk list cut at every few bytes; a record whose
 * varint is cut by the end of its record still fails as corrupt.
 */
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../protocol/crc32c.js';
import { SegmentedBytes } from '../../protocol/frame.js';
import { decodeBatch, decodeSegmentedBatchInto, type Record } from '../../protocol/record-batch-decode.js';
import { encodeBatch, type RecordInput } from '../../protocol/record-batch-encode.js';

/** A deterministic generator (xorshift), so a failure names its case. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

// Sizes around each varint length boundary: 63/64 (1-2 bytes zig-zag), 8191/8192 (2-3), 1 MiB-ish (3-4).
const SIZES = [0, 1, 63, 64, 100, 8191, 8192, 70_000];
const DELTAS = [0, 1, -1, 63, -64, 64, 8191, -8192, 8192, 1_000_000, -1_000_000, 2 ** 40, -(2 ** 40)];

function records(seed: number, count: number): RecordInput[] {
  const r = rng(seed);
  const base = 1_700_000_000_000;
  const out: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const valueBytes = SIZES[Math.floor(r() * SIZES.length)]!;
    const keyBytes = r() < 0.3 ? null : SIZES[Math.floor(r() * 4)]!;
    out.push({
      key: keyBytes === null ? null : Buffer.alloc(keyBytes, 0x6b),
      value: r() < 0.1 ? null : Buffer.alloc(valueBytes, i & 0xff),
      timestamp: i === 0 ? base : base + DELTAS[Math.floor(r() * DELTAS.length)]!,
      headers: r() < 0.2 ? [{ key: 'h', value: Buffer.from('v') }] : [],
    });
  }
  return out;
}

function expectSame(got: Record[], want: RecordInput[], baseOffset: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((rec, i) => {
    expect(rec.offset).toBe(baseOffset + i);
    expect(rec.timestamp).toBe(want[i]!.timestamp);
    // Buffer.equals: vitest's deep equality is slow on 70 KB values.
    const [key, value] = [want[i]!.key as Buffer | null, want[i]!.value as Buffer | null];
    expect(rec.key === null ? key === null : key !== null && rec.key.equals(key)).toBe(true);
    expect(rec.value === null ? value === null : value !== null && rec.value.equals(value)).toBe(true);
    expect(rec.headers.length).toBe((want[i]!.headers as unknown[]).length);
  });
}

describe('record varints of every length', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`decodes what was encoded, whole and from chunks (seed ${seed})`, () => {
      const input = records(seed, 60);
      const batch = encodeBatch(input, { baseOffset: 1000 });
      expectSame(decodeBatch(batch).records, input, 1000);
      // Cut into pieces of 1..40 bytes, so varints straddle pieces at every position.
      const r = rng(seed + 100);
      const segments: Buffer[] = [];
      for (let at = 0; at < batch.length; ) {
        const n = Math.min(batch.length - at, 1 + Math.floor(r() * 40));
        segments.push(batch.subarray(at, at + n));
        at += n;
      }
      const got: Record[] = [];
      decodeSegmentedBatchInto(new SegmentedBytes(segments), 0, {
        begin: () => true,
        record: (offset, timestamp, key, value, headers) => got.push({ offset, timestamp, key, value, headers }),
      });
      expectSame(got, input, 1000);
    });
  }

  it('still refuses a record whose two-byte length varint is cut by the end of the records', () => {
    const batch = encodeBatch([{ value: Buffer.alloc(100, 1) }, { value: Buffer.alloc(100, 2) }]);
    const first = decodeBatch(batch).records[0]!;
    // The second record starts right after the first one's value (no headers: one 0 byte).
    const secondAt = first.value!.byteOffset - batch.byteOffset + 100 + 1;
    expect(batch[secondAt]! & 0x80).toBe(0x80);
    // End the batch after the first byte of that varint, with a batchLength and CRC to match.
    const cut = Buffer.from(batch.subarray(0, secondAt + 1));
    cut.writeInt32BE(cut.length - 12, 8);
    cut.writeUInt32BE(crc32c(cut, 21, cut.length), 17);
    expect(() => decodeBatch(cut)).toThrow(/record 1|varint/);
  });
});
