/**
 * The Fetch response's payload as a chunk list (see ../msgpack-chunks.ts): the envelope
 * `{ throttleTimeMs, errorCode, topics: [{ name, partitions: [{ partition, errorCode,
 * errorMessage, highWatermark, lastStableOffset, logStartOffset, records }] }] }` (fetch.ts)
 * encoded by hand in that key order, each partition's `records` (whole batches read from the
 * log) written as the broker's Buffer itself, never copied into one response buffer. Offsets
 * are msgpack integers (int64/uint64 beyond 32 bits). It decodes to what msgpack of the same
 * object decodes to, so clients read it with the generic path, or with
 * `decodeSegmentedPayload` (below) straight from the socket's chunks.
 */
import { rillError } from '../errors.js';
import { SegmentedBytes } from '../frame.js';
import { MsgpackChunkWriter, encodedString } from '../msgpack-chunks.js';
import type { FetchResponse } from './fetch.js';

const K = {
  throttleTimeMs: encodedString('throttleTimeMs'),
  errorCode: encodedString('errorCode'),
  topics: encodedString('topics'),
  name: encodedString('name'),
  partitions: encodedString('partitions'),
  partition: encodedString('partition'),
  errorMessage: encodedString('errorMessage'),
  highWatermark: encodedString('highWatermark'),
  lastStableOffset: encodedString('lastStableOffset'),
  logStartOffset: encodedString('logStartOffset'),
  records: encodedString('records'),
};

export function encodeFetchResponseChunks(response: FetchResponse): { chunks: Buffer[]; totalBytes: number } {
  const w = new MsgpackChunkWriter();
  w.mapHeader(3).raw(K.throttleTimeMs).int(response.throttleTimeMs).raw(K.errorCode).int(response.errorCode).raw(K.topics).arrayHeader(response.topics.length);
  for (const t of response.topics) {
    w.mapHeader(2).raw(K.name).str(t.name).raw(K.partitions).arrayHeader(t.partitions.length);
    for (const p of t.partitions) {
      w.mapHeader(7).raw(K.partition).int(p.partition).raw(K.errorCode).int(p.errorCode).raw(K.errorMessage);
      if (p.errorMessage === null || p.errorMessage === undefined) w.nil();
      else w.str(p.errorMessage);
      w.raw(K.highWatermark).int(p.highWatermark).raw(K.lastStableOffset).int(p.lastStableOffset).raw(K.logStartOffset).int(p.logStartOffset).raw(K.records);
      if (p.records === null) w.nil();
      else w.bin(p.records);
    }
  }
  return w.finish();
}

/**
 * Reads a Fetch response's msgpack payload straight from a chunk list (a frame body that
 * arrived in several socket chunks), copying nothing big: the envelope's small items are read
 * in place (an item split across two chunks is copied, a few bytes), and a `bin` (a partition's
 * `records`) comes back as a Buffer view when it lies in one chunk, else as `SegmentedBytes`
 * views of the chunks it covers. Otherwise it decodes to what messages.ts `unpack` gives
 * (maps as objects, int64 as numbers); ext types, which no Fetch response carries, and
 * malformed input throw INVALID_REQUEST. `start` skips the response header.
 */
export function decodeSegmentedPayload(body: SegmentedBytes, start: number): unknown {
  const reader = new SegmentReader(body, start);
  const value = reader.value(0);
  if (reader.remaining !== 0) throw malformed(`${reader.remaining} bytes follow the payload`);
  return value;
}

const EMPTY = Buffer.alloc(0);

/** Nesting deeper than this is refused (a Fetch response nests 5 levels). */
const MAX_DEPTH = 32;

class SegmentReader {
  private readonly segments: readonly Buffer[];
  private seg = 0;
  private off = 0;
  remaining: number;

  constructor(body: SegmentedBytes, start: number) {
    this.segments = body.segments;
    this.remaining = body.length - start;
    if (this.remaining <= 0) throw malformed('empty msgpack payload');
    this.skipTo(start);
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw malformed(`nested deeper than ${MAX_DEPTH} levels`);
    const b = this.u8();
    if (b < 0x80) return b;
    if (b < 0x90) return this.map(b & 0x0f, depth);
    if (b < 0xa0) return this.array(b & 0x0f, depth);
    if (b < 0xc0) return this.str(b & 0x1f);
    if (b >= 0xe0) return b - 0x100;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.bin(this.u8());
      case 0xc5: return this.bin(this.take(2).readUInt16BE(0));
      case 0xc6: return this.bin(this.take(4).readUInt32BE(0));
      case 0xca: return this.take(4).readFloatBE(0);
      case 0xcb: return this.take(8).readDoubleBE(0);
      case 0xcc: return this.u8();
      case 0xcd: return this.take(2).readUInt16BE(0);
      case 0xce: return this.take(4).readUInt32BE(0);
      case 0xcf: { const x = this.take(8); return x.readUInt32BE(0) * 0x100000000 + x.readUInt32BE(4); }
      case 0xd0: return this.take(1).readInt8(0);
      case 0xd1: return this.take(2).readInt16BE(0);
      case 0xd2: return this.take(4).readInt32BE(0);
      case 0xd3: { const x = this.take(8); return x.readInt32BE(0) * 0x100000000 + x.readUInt32BE(4); }
      case 0xd9: return this.str(this.u8());
      case 0xda: return this.str(this.take(2).readUInt16BE(0));
      case 0xdb: return this.str(this.take(4).readUInt32BE(0));
      case 0xdc: return this.array(this.take(2).readUInt16BE(0), depth);
      case 0xdd: return this.array(this.take(4).readUInt32BE(0), depth);
      case 0xde: return this.map(this.take(2).readUInt16BE(0), depth);
      case 0xdf: return this.map(this.take(4).readUInt32BE(0), depth);
      default: throw malformed(`msgpack type 0x${b.toString(16)} is not used by Fetch responses`);
    }
  }

  private map(entries: number, depth: number): Record<string, unknown> {
    if (entries * 2 > this.remaining) throw malformed(`map of ${entries} entries in ${this.remaining} bytes`);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < entries; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && typeof key !== 'number') throw malformed('map key is not a string or number');
      const k = String(key);
      if (k === '__proto__') throw malformed('map key __proto__');
      out[k] = this.value(depth + 1);
    }
    return out;
  }

  private array(items: number, depth: number): unknown[] {
    if (items > this.remaining) throw malformed(`array of ${items} items in ${this.remaining} bytes`);
    const out = new Array<unknown>(items);
    for (let i = 0; i < items; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private str(length: number): string {
    return this.take(length).toString('utf8');
  }

  /** A bin: a view when it lies in the current segment, else views of every segment it covers. */
  private bin(length: number): Buffer | SegmentedBytes {
    if (length === 0) return EMPTY;
    this.need(length);
    const current = this.current();
    if (current.length - this.off >= length) return this.take(length);
    const parts: Buffer[] = [];
    let left = length;
    while (left > 0) {
      const s = this.current();
      const n = Math.min(s.length - this.off, left);
      parts.push(s.subarray(this.off, this.off + n));
      this.advance(n);
      left -= n;
    }
    return new SegmentedBytes(parts);
  }

  private u8(): number {
    this.need(1);
    const s = this.current();
    const b = s[this.off]!;
    this.advance(1);
    return b;
  }

  /** The next `n` bytes as one Buffer: a view when they lie in one segment, else a (small) copy. */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    this.need(n);
    const s = this.current();
    if (s.length - this.off >= n) {
      const view = s.subarray(this.off, this.off + n);
      this.advance(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const part = this.current();
      const k = Math.min(part.length - this.off, n - written);
      part.copy(out, written, this.off, this.off + k);
      written += k;
      this.advance(k);
    }
    return out;
  }

  /** The segment holding the next byte (there is one: callers checked `need`). */
  private current(): Buffer {
    while (this.off >= this.segments[this.seg]!.length) {
      this.off -= this.segments[this.seg]!.length;
      this.seg++;
    }
    return this.segments[this.seg]!;
  }

  private advance(n: number): void {
    this.off += n;
    this.remaining -= n;
  }

  private skipTo(n: number): void {
    this.off = n;
  }

  private need(n: number): void {
    if (n > this.remaining) throw malformed(`payload ends ${n - this.remaining} bytes early`);
  }
}

function malformed(what: string): Error {
  return rillError('INVALID_REQUEST', `Fetch response is not valid msgpack: ${what}`);
}
