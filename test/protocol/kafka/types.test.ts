import { describe, expect, it } from 'vitest';
import { ErrorCode, RillError } from '../../../protocol/errors.js';
import { KafkaReader, KafkaWriter, STRING_BYTES_MAX, ZERO_UUID } from '../../../protocol/kafka/types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const written = (fn: (w: KafkaWriter) => void): Buffer => {
  const w = new KafkaWriter();
  fn(w);
  return Buffer.concat(w.finish());
};
const invalidRead = (fn: () => unknown): void => {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(RillError);
  expect((caught as RillError).code).toBe(ErrorCode.INVALID_REQUEST);
};

describe('Kafka primitive types', () => {
  it('fixed-width integers are big-endian', () => {
    const b = written((w) => {
      w.bool(true);
      w.int8(-2);
      w.int16(-3);
      w.uint16(65535);
      w.int32(-4);
      w.uint32(4294967295);
      w.float64(1.5);
    });
    expect(b).toEqual(hex('01 fe fffd ffff fffffffc ffffffff 3ff8000000000000'));
    const r = new KafkaReader(b);
    expect([r.bool(), r.int8(), r.int16(), r.uint16(), r.int32(), r.uint32(), r.float64()]).toEqual([true, -2, -3, 65535, -4, 4294967295, 1.5]);
    expect(r.remaining).toBe(0);
  });

  it('int64 is a number within the safe-integer range, sentinels included', () => {
    const values = [0, -1, -2, -3, 1, 2 ** 32, -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1700000000000];
    const b = written((w) => values.forEach((v) => w.int64(v)));
    expect(b.subarray(0, 32)).toEqual(hex('0000000000000000 ffffffffffffffff fffffffffffffffe fffffffffffffffd'));
    expect(b.subarray(8 * 7, 8 * 8)).toEqual(hex('001fffffffffffff'));
    const r = new KafkaReader(b);
    expect(values.map(() => r.int64())).toEqual(values);
    invalidRead(() => new KafkaReader(hex('0020000000000000')).int64());
    invalidRead(() => new KafkaReader(hex('7fffffffffffffff')).int64());
    invalidRead(() => new KafkaReader(hex('8000000000000000')).int64());
    invalidRead(() => new KafkaReader(hex('ffe0000000000000')).int64()); // -2^53
    expect(() => written((w) => w.int64(2 ** 53))).toThrow(TypeError);
  });

  it('unsigned varints: known bytes, 5-byte maximum', () => {
    const cases: Array<[number, string]> = [[0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [16384, '808001'], [4294967295, 'ffffffff0f']];
    for (const [value, bytes] of cases) {
      expect(written((w) => w.uvarint(value))).toEqual(hex(bytes));
      expect(new KafkaReader(hex(bytes)).uvarint()).toBe(value);
    }
    invalidRead(() => new KafkaReader(hex('ffffffff1f')).uvarint()); // 2^33 - 1
    invalidRead(() => new KafkaReader(hex('808080808001')).uvarint()); // 6 bytes
    invalidRead(() => new KafkaReader(hex('8080')).uvarint()); // truncated
  });

  it('strings: int16 or compact length, null markers, UTF-8 byte lengths, the 32767-byte cap', () => {
    expect(written((w) => w.string('é', false))).toEqual(hex('0002 c3a9'));
    expect(written((w) => w.string('é', true))).toEqual(hex('03 c3a9'));
    expect(written((w) => w.string(null, false))).toEqual(hex('ffff'));
    expect(written((w) => w.string(null, true))).toEqual(hex('00'));
    expect(written((w) => w.string('', true))).toEqual(hex('01'));
    expect(new KafkaReader(hex('0002 c3a9')).string(false)).toBe('é');
    expect(new KafkaReader(hex('ffff')).string(false)).toBeNull();
    expect(new KafkaReader(hex('00')).string(true)).toBeNull();
    expect(() => written((w) => w.string('a'.repeat(STRING_BYTES_MAX + 1), false))).toThrow(TypeError);
    expect(written((w) => w.string('a'.repeat(STRING_BYTES_MAX), false)).length).toBe(2 + STRING_BYTES_MAX);
    invalidRead(() => new KafkaReader(hex('fffe')).string(false));
    invalidRead(() => new KafkaReader(hex('0003 6162')).string(false));
  });

  it('bytes: int32 or compact length, views not copies, several buffers under one length', () => {
    const frame = hex('00000003 010203 04 aabbcc');
    const r = new KafkaReader(frame);
    const first = r.bytes(false)!;
    expect(first).toEqual(hex('010203'));
    expect(first.buffer).toBe(frame.buffer);
    expect(r.bytes(true)).toEqual(hex('aabbcc'));
    expect(new KafkaReader(hex('ffffffff')).bytes(false)).toBeNull();
    expect(written((w) => w.bytes([hex('01'), hex('0203')], true))).toEqual(hex('04 010203'));
    invalidRead(() => new KafkaReader(hex('fffffffe')).bytes(false));
    invalidRead(() => new KafkaReader(hex('7fffffff 00')).bytes(false));
  });

  it('uuids are base64url strings of 16 bytes', () => {
    const bytes = hex('000102030405060708090a0b0c0d0e0f');
    const id = new KafkaReader(bytes).uuid();
    expect(id).toBe('AAECAwQFBgcICQoLDA0ODw');
    expect(written((w) => w.uuid(id))).toEqual(bytes);
    expect(written((w) => w.uuid(ZERO_UUID))).toEqual(Buffer.alloc(16));
    expect(() => written((w) => w.uuid('short'))).toThrow(TypeError);
  });

  it('array counts are bounded by the bytes left', () => {
    expect(new KafkaReader(hex('00000002 00000000 00000000')).arrayCount(false, 4)).toBe(2);
    invalidRead(() => new KafkaReader(hex('00000003 00000000 00000000')).arrayCount(false, 4));
    expect(new KafkaReader(hex('ffffffff')).arrayCount(false, 4)).toBe(-1);
    expect(new KafkaReader(hex('00')).arrayCount(true, 4)).toBe(-1);
    invalidRead(() => new KafkaReader(hex('80000000')).arrayCount(false, 1));
  });

  it('the writer keeps large buffers as their own chunks and fills in the size prefix', () => {
    const big = Buffer.alloc(4096, 1);
    const w = new KafkaWriter(true);
    w.int32(7);
    w.bytes(big, false);
    w.int16(9);
    // Enough small writes to spill past the first scratch buffer.
    for (let i = 0; i < 1000; i++) w.int32(i);
    const chunks = w.finish();
    expect(chunks).toContain(big);
    const frame = Buffer.concat(chunks);
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(frame.length).toBe(4 + 4 + 4 + 4096 + 2 + 4000);
    expect(frame.readInt32BE(frame.length - 4)).toBe(999);
    expect(w.length).toBe(frame.length);
  });
});
