/**
 * A msgpack writer that emits a chunk list instead of one buffer: the small structure (maps,
 * arrays, strings, integers) goes into a scratch buffer, and every `bin` value is written as its
 * header (0xc4/0xc5/0xc6 + length) followed by the caller's Buffer itself, as a chunk of its own —
 * record batches reach the socket (cork + writes, i.e. writev) without being copied into one big
 * payload. The result decodes like any msgpack (messages.ts `unpack`).
 *
 * Integers are msgpack integers in their smallest form, as msgpackr writes them; numbers outside
 * the 32-bit range are written as int64/uint64, never float64 (see messages.ts).
 *
 *   format bytes used: fixmap 0x80|n, map16 0xde; fixarray 0x90|n, array16 0xdc, array32 0xdd;
 *   fixstr 0xa0|n, str8 0xd9, str16 0xda, str32 0xdb; nil 0xc0; positive fixint, uint8..64
 *   0xcc..0xcf, negative fixint 0xe0.., int8..64 0xd0..0xd3; bin8/16/32 0xc4..0xc6.
 */

/** Scratch bytes per buffer: envelopes are small, and Buffer.allocUnsafe pools below 4 KiB. */
const SCRATCH_BYTES = 2048;
/** Longest single item written into scratch (header + a 9-byte integer), bounding `ensure`. */
const MAX_HEADER_BYTES = 9;

export class MsgpackChunkWriter {
  private readonly chunks: Buffer[] = [];
  private buf: Buffer;
  /** Start of the part of `buf` not yet cut into a chunk. */
  private start = 0;
  private pos = 0;
  private total = 0;

  constructor(scratchBytes = SCRATCH_BYTES) {
    this.buf = Buffer.allocUnsafe(scratchBytes);
  }

  mapHeader(entries: number): this {
    this.ensure(MAX_HEADER_BYTES);
    if (entries < 16) this.buf[this.pos++] = 0x80 | entries;
    else if (entries <= 0xffff) this.u8u16(0xde, entries);
    else throw new RangeError(`map of ${entries} entries: only up to 65535 are written`);
    return this;
  }

  arrayHeader(items: number): this {
    this.ensure(MAX_HEADER_BYTES);
    if (items < 16) this.buf[this.pos++] = 0x90 | items;
    else if (items <= 0xffff) this.u8u16(0xdc, items);
    else {
      this.buf[this.pos] = 0xdd;
      this.buf.writeUInt32BE(items, this.pos + 1);
      this.pos += 5;
    }
    return this;
  }

  nil(): this {
    this.ensure(1);
    this.buf[this.pos++] = 0xc0;
    return this;
  }

  str(s: string): this {
    const length = Buffer.byteLength(s, 'utf8');
    this.ensure(length + 5);
    const b = this.buf;
    if (length < 32) b[this.pos++] = 0xa0 | length;
    else if (length <= 0xff) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = length;
    } else if (length <= 0xffff) this.u8u16(0xda, length);
    else {
      b[this.pos] = 0xdb;
      b.writeUInt32BE(length, this.pos + 1);
      this.pos += 5;
    }
    this.pos += b.write(s, this.pos, 'utf8');
    return this;
  }

  /** Bytes already msgpack-encoded (a key from `encodedString`), copied into the scratch. */
  raw(encoded: Buffer): this {
    this.ensure(encoded.length);
    encoded.copy(this.buf, this.pos);
    this.pos += encoded.length;
    return this;
  }

  /** An integer (a safe integer: offsets and timestamps up to 2^53 are exact). */
  int(n: number): this {
    if (!Number.isSafeInteger(n)) throw new RangeError(`msgpack integer expected, got ${n}`);
    this.ensure(MAX_HEADER_BYTES);
    const b = this.buf;
    let p = this.pos;
    if (n >= 0) {
      if (n < 0x80) b[p++] = n;
      else if (n <= 0xff) {
        b[p++] = 0xcc;
        b[p++] = n;
      } else if (n <= 0xffff) {
        b[p] = 0xcd;
        b.writeUInt16BE(n, p + 1);
        p += 3;
      } else if (n <= 0xffffffff) {
        b[p] = 0xce;
        b.writeUInt32BE(n, p + 1);
        p += 5;
      } else {
        b[p] = 0xcf;
        b.writeBigUInt64BE(BigInt(n), p + 1);
        p += 9;
      }
    } else if (n >= -32) b[p++] = n & 0xff;
    else if (n >= -0x80) {
      b[p] = 0xd0;
      b.writeInt8(n, p + 1);
      p += 2;
    } else if (n >= -0x8000) {
      b[p] = 0xd1;
      b.writeInt16BE(n, p + 1);
      p += 3;
    } else if (n >= -0x80000000) {
      b[p] = 0xd2;
      b.writeInt32BE(n, p + 1);
      p += 5;
    } else {
      b[p] = 0xd3;
      b.writeBigInt64BE(BigInt(n), p + 1);
      p += 9;
    }
    this.pos = p;
    return this;
  }

  /** A `bin` value: its header here, the bytes themselves as their own chunk (not copied). */
  bin(value: Uint8Array): this {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const length = bytes.length;
    this.ensure(5);
    const b = this.buf;
    if (length <= 0xff) {
      b[this.pos++] = 0xc4;
      b[this.pos++] = length;
    } else if (length <= 0xffff) this.u8u16(0xc5, length);
    else {
      b[this.pos] = 0xc6;
      b.writeUInt32BE(length, this.pos + 1);
      this.pos += 5;
    }
    this.cut();
    if (length > 0) {
      this.chunks.push(bytes);
      this.total += length;
    }
    return this;
  }

  /** The chunks written, in order, and their total length. The writer is done after this. */
  finish(): { chunks: Buffer[]; totalBytes: number } {
    this.cut();
    return { chunks: this.chunks, totalBytes: this.total };
  }

  private u8u16(tag: number, v: number): void {
    this.buf[this.pos] = tag;
    this.buf.writeUInt16BE(v, this.pos + 1);
    this.pos += 3;
  }

  /** Ends the current scratch segment as a chunk (a view: the scratch bytes are not copied). */
  private cut(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.total += this.pos - this.start;
      this.start = this.pos;
    }
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    this.cut();
    this.buf = Buffer.allocUnsafe(Math.max(SCRATCH_BYTES, bytes));
    this.start = 0;
    this.pos = 0;
  }
}

/** A string's msgpack encoding, computed once: envelope keys are written with `raw`. */
export function encodedString(s: string): Buffer {
  const w = new MsgpackChunkWriter(Buffer.byteLength(s, 'utf8') + 5);
  w.str(s);
  return Buffer.concat(w.finish().chunks);
}
