/**
 * Kafka's primitive wire types: a bounded reader over a Buffer and a chunk-list writer.
 *
 * Byte formats (big-endian throughout; Kafka's `Readable`/`Writable` and KIP-482):
 *   bool 1 (0 = false), int8 1, int16 2, uint16 2, int32 4, uint32 4, int64 8, float64 8, uuid 16
 *   unsigned varint  7 bits per byte, low group first, high bit = more (1..5 bytes, up to 2^32 - 1)
 *   string           int16 length (-1 = null) + UTF-8;  compact: uvarint (length + 1, 0 = null)
 *   bytes, records   int32 length (-1 = null) + bytes;  compact: uvarint (length + 1, 0 = null)
 *   array            int32 count (-1 = null) + items;   compact: uvarint (count + 1, 0 = null)
 *   tagged fields    uvarint count, then per field: uvarint tag, uvarint size, size bytes
 *
 * int64 (offsets, timestamps, producer ids) is a JS number guarded to the safe-integer range,
 * the same decision as protocol/varint.ts and rill's own protocol: 2^53 ms is 285,000 years and
 * rill never hands out an offset or producer id near 2^53, while Kafka's sentinels (-1, -2, -3)
 * are small. A value outside |n| <= 2^53 - 1 is refused as malformed rather than rounded.
 *
 * Every read is checked against `end` first, so malformed input (truncation, a negative length
 * that is not the null marker, a length past the end, an array count larger than the bytes left
 * could hold) throws one error: RillError INVALID_REQUEST, never a RangeError, and nothing is
 * allocated from an untrusted count before it is checked against the bytes actually present.
 *
 * The writer appends into small scratch buffers and keeps large byte fields (record batches)
 * as their own chunks, uncopied; `finish()` hands back the chunk list, with the 4-byte size
 * prefix filled in when the writer was created to frame a message.
 */
import { rillError, type RillError } from '../errors.js';

/** Kafka caps every string at Short.MAX_VALUE bytes, compact or not. */
export const STRING_BYTES_MAX = 0x7fff;
export const UUID_BYTES = 16;
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const TWO_POW_32 = 4294967296;
/** Byte fields at least this long are kept as their own chunk instead of being copied. */
const ZERO_COPY_BYTES_MIN = 512;
const SCRATCH_BYTES_FIRST = 1024;
const SCRATCH_BYTES_MAX = 65536;

/** The one error malformed Kafka input raises. */
export function malformed(message: string): RillError {
  return rillError('INVALID_REQUEST', `malformed Kafka message: ${message}`);
}

export class KafkaReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Advances past `n` bytes and returns where they start; throws when fewer are left. */
  take(n: number): number {
    const at = this.pos;
    if (n > this.end - at) throw malformed(`needs ${n} bytes at offset ${at}, ${this.end - at} left`);
    this.pos = at + n;
    return at;
  }

  bool(): boolean {
    return this.buf[this.take(1)] !== 0;
  }
  int8(): number {
    return this.buf.readInt8(this.take(1));
  }
  int16(): number {
    return this.buf.readInt16BE(this.take(2));
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.take(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }
  float64(): number {
    return this.buf.readDoubleBE(this.take(8));
  }

  int64(): number {
    const at = this.take(8);
    const value = this.buf.readInt32BE(at) * TWO_POW_32 + this.buf.readUInt32BE(at + 4);
    if (!Number.isSafeInteger(value)) throw malformed(`int64 at offset ${at} is outside the safe-integer range (|n| > 2^53 - 1)`);
    return value;
  }

  uuid(): string {
    const at = this.take(UUID_BYTES);
    return this.buf.toString('base64url', at, at + UUID_BYTES);
  }

  /** Unsigned varint, 1..5 bytes, value 0..2^32 - 1. */
  uvarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    // Compact lengths, counts and tags are nearly always one byte.
    if (pos < this.end && buf[pos]! < 0x80) {
      this.pos = pos + 1;
      return buf[pos]!;
    }
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= this.end) throw malformed(`unsigned varint at offset ${this.pos} runs past the end`);
      const b = buf[pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (value > 0xffffffff) break;
        this.pos = pos;
        return value;
      }
    }
    throw malformed(`unsigned varint at offset ${this.pos} is longer than 5 bytes or above 2^32 - 1`);
  }

  /** A length prefix: -1 for null, else 0..remaining bytes. */
  private length(compact: boolean, wide: boolean): number {
    const at = this.pos;
    const n = compact ? this.uvarint() - 1 : wide ? this.int32() : this.int16();
    if (n < -1) throw malformed(`negative length ${n} at offset ${at}`);
    if (n > this.end - this.pos) throw malformed(`length ${n} at offset ${at} runs past the end (${this.end - this.pos} bytes left)`);
    return n;
  }

  /** Returns null only for a null marker; the caller checks that null is allowed. */
  string(compact: boolean): string | null {
    const at = this.pos;
    const n = this.length(compact, false);
    if (n < 0) return null;
    if (n > STRING_BYTES_MAX) throw malformed(`string at offset ${at} is ${n} bytes, over ${STRING_BYTES_MAX}`);
    const start = this.pos;
    this.pos = start + n;
    return this.buf.toString('utf8', start, start + n);
  }

  /** A view into the frame (never copied), or null for a null marker. */
  bytes(compact: boolean): Buffer | null {
    const n = this.length(compact, true);
    if (n < 0) return null;
    const start = this.pos;
    this.pos = start + n;
    return this.buf.subarray(start, start + n);
  }

  /**
   * An array count: -1 for null, else a count no larger than the bytes left could hold at
   * `itemBytesMin` bytes per item, so a hostile count never drives an allocation or a long loop.
   */
  arrayCount(compact: boolean, itemBytesMin: number): number {
    const at = this.pos;
    const n = compact ? this.uvarint() - 1 : this.int32();
    if (n < -1) throw malformed(`negative array count ${n} at offset ${at}`);
    if (n > 0 && n * Math.max(1, itemBytesMin) > this.end - this.pos) {
      throw malformed(`array count ${n} at offset ${at} exceeds what the ${this.end - this.pos} bytes left can hold`);
    }
    return n;
  }
}

export class KafkaWriter {
  private readonly chunks: Buffer[] = [];
  private buf: Buffer;
  /** Start of the bytes in `buf` not yet moved to `chunks`. */
  private start = 0;
  pos = 0;
  /** Bytes already in `chunks`. */
  private flushedBytes = 0;
  private readonly sizePrefix: boolean;

  /** With `sizePrefix`, the first 4 bytes are reserved for the frame size that `finish` fills in. */
  constructor(sizePrefix = false) {
    this.sizePrefix = sizePrefix;
    this.buf = Buffer.allocUnsafe(SCRATCH_BYTES_FIRST);
    if (sizePrefix) this.pos = 4;
  }

  get length(): number {
    return this.flushedBytes + this.pos - this.start;
  }

  private flush(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.flushedBytes += this.pos - this.start;
    }
    this.start = this.pos;
  }

  /** Makes room for `n` more bytes in the scratch buffer. */
  ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    this.flush();
    const size = Math.max(n, Math.min(this.buf.length * 2, SCRATCH_BYTES_MAX));
    this.buf = Buffer.allocUnsafe(size);
    this.start = 0;
    this.pos = 0;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }
  int8(v: number): void {
    this.ensure(1);
    this.pos = this.buf.writeInt8(v, this.pos);
  }
  int16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }
  uint16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }
  int32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }
  uint32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }
  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  int64(v: number): void {
    if (!Number.isSafeInteger(v)) throw new TypeError(`int64 value ${v} is not a safe integer`);
    this.ensure(8);
    const hi = Math.floor(v / TWO_POW_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_POW_32, this.pos + 4);
    this.pos += 8;
  }

  uuid(v: string): void {
    const bytes = Buffer.from(v, 'base64url');
    if (bytes.length !== UUID_BYTES || v.length !== 22) throw new TypeError(`uuid '${v}' is not 22 base64url characters`);
    this.ensure(UUID_BYTES);
    this.pos += bytes.copy(this.buf, this.pos);
  }

  uvarint(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  /** Array count or length prefix; `n` = -1 writes the null marker. */
  count(n: number, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(n + 1);
    else if (wide) this.int32(n);
    else this.int16(n);
  }

  string(v: string | null, compact: boolean): void {
    if (v === null) {
      this.count(-1, compact, false);
      return;
    }
    const n = Buffer.byteLength(v, 'utf8');
    if (n > STRING_BYTES_MAX) throw new TypeError(`string of ${n} bytes is over ${STRING_BYTES_MAX}`);
    this.count(n, compact, false);
    this.ensure(n);
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
  }

  /** Bytes or records: null, one Buffer, or several written back to back under one length. */
  bytes(v: Buffer | readonly Buffer[] | null, compact: boolean): void {
    if (v === null) {
      this.count(-1, compact, true);
      return;
    }
    if (Buffer.isBuffer(v)) {
      this.count(v.length, compact, true);
      this.raw(v);
      return;
    }
    let n = 0;
    for (const b of v) n += b.length;
    this.count(n, compact, true);
    for (const b of v) this.raw(b);
  }

  /** Appends bytes as they are: large ones as their own chunk (uncopied), small ones copied. */
  raw(b: Buffer): void {
    if (b.length >= ZERO_COPY_BYTES_MIN) {
      this.flush();
      this.chunks.push(b);
      this.flushedBytes += b.length;
      return;
    }
    this.ensure(b.length);
    this.pos += b.copy(this.buf, this.pos);
  }

  /** Appends everything another writer produced (used for tagged fields, whose size comes first). */
  append(other: KafkaWriter): void {
    for (const chunk of other.finish()) this.raw(chunk);
  }

  /** The chunks written so far; with a size prefix, the first 4 bytes hold the byte count after them. */
  finish(): Buffer[] {
    this.flush();
    if (this.sizePrefix) {
      const first = this.chunks[0]!;
      first.writeUInt32BE(this.flushedBytes - 4, 0);
    }
    return this.chunks;
  }
}
