/**
 * Kafka's variable-length integers (the ones inside RecordBatch v2 records), read and written in
 * place on a Buffer at an offset, with no allocation.
 *
 * Byte format (Protocol Buffers' base-128, the same as Kafka's `ByteUtils.writeVarint/Varlong`):
 *
 *   zig-zag:  z = (n << 1) ^ (n >> 63)      maps 0,-1,1,-2,2 ... to 0,1,2,3,4 ...
 *   bytes:    z in groups of 7 bits, least significant group first; every byte but the last
 *             has its high bit (0x80) set.
 *
 *   varint  = zig-zag of a signed 32-bit integer, 1..5 bytes  (e.g.  0 -> 00, -1 -> 01,
 *             1 -> 02, 63 -> 7e, -64 -> 7f, 64 -> 80 01, 2147483647 -> fe ff ff ff 0f)
 *   varlong = zig-zag of a signed 64-bit integer, 1..10 bytes (-2^63 -> ff ff ff ff ff ff ff ff ff 01)
 *
 * Numbers vs bigint (decided once, for the whole codec): varlongs are JS numbers and must be
 * safe integers (|n| <= 2^53 - 1). They carry timestamp deltas, and 2^53 ms is 285,000 years,
 * so nothing real is lost. `readVarlong` refuses a value outside that range with CORRUPT_MESSAGE
 * rather than rounding it; `readVarlongBigInt`/`writeVarlongBigInt` cover the full int64 range
 * for code that must pass such values through (they allocate, so they are off the hot path).
 *
 * Reads advance a caller-owned `Cursor` (one object per decoded batch, not one per field) and
 * stop at an `end` bound so a varint can never be read from past the region it belongs to;
 * running off the end or a varint longer than its maximum throws CORRUPT_MESSAGE.
 * Writes return the position after the written bytes; the caller sizes the buffer first with
 * `sizeOfVarint`/`sizeOfVarlong`.
 */
import { rillError } from './errors.js';

/** A read position that the read functions advance. */
export interface Cursor {
  pos: number;
}

export const MAX_VARINT_BYTES = 5;
export const MAX_VARLONG_BYTES = 10;

const TWO_POW_32 = 4294967296;

/** Bytes that `writeVarint(value)` writes; `value` must be a 32-bit signed integer. */
export function sizeOfVarint(value: number): number {
  const z = ((value << 1) ^ (value >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Writes `value` (int32) as a zig-zag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let z = ((value << 1) ^ (value >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/**
 * Reads a zig-zag varint at `cursor.pos` (which it advances), never reading at or past `end`.
 * Throws CORRUPT_MESSAGE for a varint that runs past `end` or is longer than 5 bytes.
 */
export function readVarint(buf: Uint8Array, cursor: Cursor, end: number = buf.length): number {
  let pos = cursor.pos;
  if (pos >= end) throw truncated(pos, end);
  let b = buf[pos++]!;
  let z = b & 0x7f;
  // The common single-byte case (small lengths, deltas, counts) leaves straight away.
  if (b >= 0x80) {
    let shift = 7;
    do {
      if (shift > 28) throw rillError('CORRUPT_MESSAGE', `varint at position ${cursor.pos} is longer than ${MAX_VARINT_BYTES} bytes`);
      if (pos >= end) throw truncated(cursor.pos, end);
      b = buf[pos++]!;
      z |= (b & 0x7f) << shift;
      shift += 7;
    } while (b >= 0x80);
  }
  cursor.pos = pos;
  return (z >>> 1) ^ -(z & 1);
}

/** Bytes that `writeVarlong(value)` writes; `value` must be a safe integer. */
export function sizeOfVarlong(value: number): number {
  if ((value | 0) === value) return sizeOfVarint(value);
  checkSafe(value);
  // Outside int32 the zig-zag value is >= 2^32, i.e. at least 5 bytes; count the rest by
  // dividing (exact for integers below 2^54, which 2|n| always is).
  const z = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 5;
  let rest = Math.floor(z / 34359738368); // 2^35: what is left after the first 5 groups
  while (rest > 0) {
    bytes++;
    rest = Math.floor(rest / 128);
  }
  return bytes;
}

/** Writes `value` (a safe integer) as a zig-zag varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  // Inside int32 the 64-bit zig-zag value fits 32 bits: the varint code is the same bytes.
  if ((value | 0) === value) return writeVarint(buf, pos, value);
  checkSafe(value);
  // Work on |value| as two unsigned 32-bit halves so every step is exact 32-bit arithmetic.
  const negative = value < 0;
  const magnitude = negative ? -value : value;
  let lo = magnitude >>> 0;
  let hi = (magnitude - lo) / TWO_POW_32; // < 2^21, so the shift below cannot overflow
  // zig-zag: z = 2|n| for n >= 0, 2|n| - 1 for n < 0.
  hi = ((hi << 1) | (lo >>> 31)) >>> 0;
  lo = (lo << 1) >>> 0;
  if (negative) {
    if (lo === 0) {
      lo = 0xffffffff;
      hi = (hi - 1) >>> 0;
    } else {
      lo = lo - 1;
    }
  }
  return writeUnsigned64(buf, pos, hi, lo);
}

function writeUnsigned64(buf: Uint8Array, pos: number, hi: number, lo: number): number {
  while (hi !== 0 || lo >= 0x80) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/**
 * Reads a zig-zag varlong at `cursor.pos` (which it advances), never reading at or past `end`.
 * Throws CORRUPT_MESSAGE for a truncated or over-long (> 10 bytes) varlong, and for a value
 * outside the safe-integer range (see the file comment).
 */
export function readVarlong(buf: Uint8Array, cursor: Cursor, end: number = buf.length): number {
  const start = cursor.pos;
  let pos = start;
  if (pos >= end) throw truncated(start, end);
  let b = buf[pos++]!;
  if (b < 0x80) {
    cursor.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  // Bits 0..27 come from the first four bytes into lo, bits 28..31 from the fifth byte's low
  // nibble; the fifth byte's bits 4..6 and every later byte go into hi.
  let lo = b & 0x7f;
  let hi = 0;
  let shift = 7;
  do {
    if (shift > 63) throw rillError('CORRUPT_MESSAGE', `varlong at position ${start} is longer than ${MAX_VARLONG_BYTES} bytes`);
    if (pos >= end) throw truncated(start, end);
    b = buf[pos++]!;
    if (shift < 28) {
      lo |= (b & 0x7f) << shift;
    } else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi = (b & 0x7f) >>> 4;
    } else {
      // The tenth byte (shift 63) contributes only its lowest bit, as in Kafka's reader.
      hi |= (b & 0x7f) << (shift - 32);
    }
    shift += 7;
  } while (b >= 0x80);
  lo >>>= 0;
  hi >>>= 0;
  // Un-zig-zag: magnitude = z >>> 1; the value is magnitude, or -magnitude - 1 when z is odd.
  const odd = lo & 1;
  const magLo = ((lo >>> 1) | (hi << 31)) >>> 0;
  const magHi = hi >>> 1;
  // Safe integers: magnitude <= 2^53 - 1, and for negatives magnitude + 1 <= 2^53 - 1.
  if (magHi > 0x1fffff || (odd === 1 && magHi === 0x1fffff && magLo === 0xffffffff)) {
    throw rillError('CORRUPT_MESSAGE', `varlong at position ${start} does not fit a safe integer (|n| > 2^53 - 1)`);
  }
  cursor.pos = pos;
  const magnitude = magHi * TWO_POW_32 + magLo;
  return odd === 1 ? -magnitude - 1 : magnitude;
}

/** Full-range int64 varlong write (allocates a bigint per call: not for hot paths). */
export function writeVarlongBigInt(buf: Uint8Array, pos: number, value: bigint): number {
  const n = BigInt.asIntN(64, value);
  if (n !== value) throw new RangeError(`varlong ${value} is outside the int64 range`);
  const z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  return writeUnsigned64(buf, pos, Number(z >> 32n), Number(z & 0xffffffffn));
}

/** Full-range int64 varlong read; the bigint counterpart of `readVarlong`. */
export function readVarlongBigInt(buf: Uint8Array, cursor: Cursor, end: number = buf.length): bigint {
  let pos = cursor.pos;
  let z = 0n;
  let shift = 0n;
  for (;;) {
    if (shift > 63n) throw rillError('CORRUPT_MESSAGE', `varlong at position ${cursor.pos} is longer than ${MAX_VARLONG_BYTES} bytes`);
    if (pos >= end) throw truncated(cursor.pos, end);
    const b = buf[pos++]!;
    z |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (b < 0x80) break;
  }
  cursor.pos = pos;
  z = BigInt.asUintN(64, z);
  return BigInt.asIntN(64, (z >> 1n) ^ -(z & 1n));
}

function checkSafe(value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`varlong value ${value} is not a safe integer (|n| <= 2^53 - 1)`);
  }
}

function truncated(pos: number, end: number): Error {
  return rillError('CORRUPT_MESSAGE', `varint at position ${pos} runs past the end of its region (${end})`);
}

/**
 * `readVarint` (`long`: `readVarlong`) with the one-byte case first, in a function small
 * enough for V8 to inline at all six call sites of the record loop (its inlining budget took
 * three of a version that also did two-byte varints inline): most of a record's varints are
 * one byte (key length -1, header count 0, small deltas), and the out-of-line call per varint
 * was ~20% of the decode's instructions (callgrind, issue 8 session 15). Longer ones go through
 * `zigZagBeyondOneByte`, errors through `readVarint` / `readVarlong`: values and errors are the same.
 */
export function zigZagAt(data: Uint8Array, cursor: Cursor, end: number, long: boolean): number {
  const pos = cursor.pos;
  const b = data[pos]!;
  if (b < 0x80 && pos < end) {
    cursor.pos = pos + 1;
    return (b >>> 1) ^ -(b & 1);
  }
  return zigZagBeyondOneByte(data, cursor, end, long);
}

/** `zigZagAt` past its first byte: a two-byte varint here (a 100-byte value's length), the rest by the general readers. */
function zigZagBeyondOneByte(data: Uint8Array, cursor: Cursor, end: number, long: boolean): number {
  const pos = cursor.pos;
  if (pos + 1 < end) {
    const b2 = data[pos + 1]!;
    if (b2 < 0x80) {
      cursor.pos = pos + 2;
      const z = (data[pos]! & 0x7f) | (b2 << 7);
      return (z >>> 1) ^ -(z & 1);
    }
  }
  return long ? readVarlong(data, cursor, end) : readVarint(data, cursor, end);
}

/** True when the varint at `data[pos]` ends (a byte without the high bit) before `stop`. */
export function varintEndsBefore(data: Uint8Array, pos: number, stop: number): boolean {
  for (let p = pos; p < stop; p++) if (data[p]! < 0x80) return true;
  return false;
}
