import { describe, expect, it } from 'vitest';
import {
  readVarint,
  readVarlong,
  readVarlongBigInt,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
  writeVarlongBigInt,
  type Cursor,
} from '../../protocol/varint.js';
import { RillError } from '../../protocol/errors.js';

function encodeVarint(n: number): string {
  const buf = Buffer.alloc(10);
  const end = writeVarint(buf, 0, n);
  expect(end).toBe(sizeOfVarint(n));
  return buf.subarray(0, end).toString('hex');
}

function encodeVarlong(n: number): string {
  const buf = Buffer.alloc(12);
  const end = writeVarlong(buf, 0, n);
  expect(end).toBe(sizeOfVarlong(n));
  return buf.subarray(0, end).toString('hex');
}

function expectCorrupt(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('CORRUPT_MESSAGE');
    return;
  }
  throw new Error('expected CORRUPT_MESSAGE, nothing was thrown');
}

// Known encodings, computed by hand from the zig-zag + base-128 rules (Kafka's
// ByteUtilsTest uses the same values).
const VARINT_BYTES: Array<[number, string]> = [
  [0, '00'],
  [-1, '01'],
  [1, '02'],
  [-2, '03'],
  [63, '7e'],
  [-64, '7f'],
  [64, '8001'],
  [-65, '8101'],
  [8191, 'fe7f'],
  [-8192, 'ff7f'],
  [8192, '808001'],
  [-8193, '818001'],
  [1048575, 'feff7f'],
  [-1048576, 'ffff7f'],
  [1048576, '80808001'],
  [134217727, 'feffff7f'],
  [-134217728, 'ffffff7f'],
  [134217728, '8080808001'],
  [2147483647, 'feffffff0f'],
  [-2147483648, 'ffffffff0f'],
];

const VARLONG_BYTES: Array<[number, string]> = [
  ...VARINT_BYTES,
  [2147483648, '8080808010'],
  [-2147483649, '8180808010'],
  [17179869183, 'feffffff7f'], // 2^34 - 1: zig-zag 2^35 - 2, the largest 5-byte value
  [17179869184, '808080808001'],
  [1539644731680, 'c0c4d19fcf59'], // a 2018 timestamp in ms
  [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
  [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
  [-4503599627370496, 'ffffffffffffff0f'], // -2^52: zig-zag 2^53 - 1
];

/** Independent reference: zig-zag then base-128 with bigint arithmetic. */
function encodeByDivision(n: number): string {
  let z = n >= 0 ? BigInt(n) * 2n : -BigInt(n) * 2n - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out).toString('hex');
}

describe('varint', () => {
  it.each(VARINT_BYTES)('encodes %d as %s and reads it back', (n, hex) => {
    expect(encodeVarint(n)).toBe(hex);
    const cursor: Cursor = { pos: 0 };
    const buf = Buffer.from(hex, 'hex');
    expect(readVarint(buf, cursor)).toBe(n);
    expect(cursor.pos).toBe(buf.length);
  });

  it('round-trips every value around each byte-size boundary, at an offset', () => {
    const values: number[] = [];
    for (let bits = 0; bits <= 31; bits++) {
      const p = 2 ** bits;
      values.push(p - 1, p, p + 1, -p, -p - 1, -p + 1);
    }
    const buf = Buffer.alloc(values.length * 5 + 3);
    let pos = 3;
    const int32s = values.filter((v) => v === (v | 0));
    for (const v of int32s) pos = writeVarint(buf, pos, v);
    const cursor: Cursor = { pos: 3 };
    for (const v of int32s) expect(readVarint(buf, cursor)).toBe(v);
    expect(cursor.pos).toBe(pos);
  });

  it('refuses a truncated varint, one longer than 5 bytes, and reads past `end`', () => {
    expectCorrupt(() => readVarint(Buffer.from('80', 'hex'), { pos: 0 }));
    expectCorrupt(() => readVarint(Buffer.alloc(0), { pos: 0 }));
    expectCorrupt(() => readVarint(Buffer.from('808080808001', 'hex'), { pos: 0 }));
    // A valid two-byte varint that the region's end cuts after one byte.
    expectCorrupt(() => readVarint(Buffer.from('8001', 'hex'), { pos: 0 }, 1));
  });

  it('leaves the cursor where it was when a read fails', () => {
    const cursor: Cursor = { pos: 1 };
    expectCorrupt(() => readVarint(Buffer.from('0080', 'hex'), cursor));
    expect(cursor.pos).toBe(1);
  });
});

describe('varlong', () => {
  it.each(VARLONG_BYTES)('encodes %d as %s and reads it back', (n, hex) => {
    expect(encodeVarlong(n)).toBe(hex);
    expect(encodeByDivision(n)).toBe(hex);
    const cursor: Cursor = { pos: 0 };
    const buf = Buffer.from(hex, 'hex');
    expect(readVarlong(buf, cursor)).toBe(n);
    expect(cursor.pos).toBe(buf.length);
  });

  it('agrees with a bigint reference on powers of two and random safe integers', () => {
    const values: number[] = [];
    for (let bits = 0; bits <= 53; bits++) {
      const p = 2 ** bits;
      for (const v of [p - 1, p, p + 1, -p, -p - 1, -p + 1]) if (Number.isSafeInteger(v)) values.push(v);
    }
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 2000; i++) {
      const magnitude = Math.floor(random() * 2 ** Math.floor(random() * 53));
      values.push(random() < 0.5 && magnitude !== 0 ? -magnitude : magnitude);
    }
    const buf = Buffer.alloc(values.length * 10);
    let pos = 0;
    for (const v of values) {
      const before = pos;
      pos = writeVarlong(buf, pos, v);
      expect(buf.subarray(before, pos).toString('hex')).toBe(encodeByDivision(v));
      expect(pos - before).toBe(sizeOfVarlong(v));
    }
    const cursor: Cursor = { pos: 0 };
    for (const v of values) expect(readVarlong(buf, cursor)).toBe(v);
    expect(cursor.pos).toBe(pos);
  });

  it('refuses values outside the safe range instead of rounding them', () => {
    expect(bigHex(2n ** 53n)).toBe('8080808080808020');
    expectCorrupt(() => readVarlong(Buffer.from(bigHex(2n ** 53n), 'hex'), { pos: 0 }));
    expectCorrupt(() => readVarlong(Buffer.from(bigHex(-(2n ** 53n)), 'hex'), { pos: 0 }));
    expectCorrupt(() => readVarlong(Buffer.from(bigHex(2n ** 63n - 1n), 'hex'), { pos: 0 }));
    expectCorrupt(() => readVarlong(Buffer.from(bigHex(-(2n ** 63n)), 'hex'), { pos: 0 }));
    expect(() => writeVarlong(Buffer.alloc(10), 0, 2 ** 53)).toThrow(RangeError);
    expect(() => writeVarlong(Buffer.alloc(10), 0, 1.5)).toThrow(RangeError);
  });

  it('refuses an over-long (11-byte) or truncated varlong', () => {
    expectCorrupt(() => readVarlong(Buffer.from('8080808080808080808001', 'hex'), { pos: 0 }));
    expectCorrupt(() => readVarlong(Buffer.from('808080', 'hex'), { pos: 0 }));
    expectCorrupt(() => readVarlong(Buffer.from('80808001', 'hex'), { pos: 0 }, 3));
  });

  it('covers the full int64 range with the bigint variants', () => {
    const values = [0n, -1n, 1n, 2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 1234567890123456789n];
    for (const v of values) {
      const buf = Buffer.alloc(10);
      const end = writeVarlongBigInt(buf, 0, v);
      expect(buf.subarray(0, end).toString('hex')).toBe(bigHex(v));
      const cursor: Cursor = { pos: 0 };
      expect(readVarlongBigInt(buf, cursor)).toBe(v);
      expect(cursor.pos).toBe(end);
    }
    expect(bigHex(-(2n ** 63n))).toBe('ffffffffffffffffff01');
    expect(() => writeVarlongBigInt(Buffer.alloc(10), 0, 2n ** 63n)).toThrow(RangeError);
  });
});

function bigHex(v: bigint): string {
  let z = v >= 0n ? v * 2n : -v * 2n - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out).toString('hex');
}
