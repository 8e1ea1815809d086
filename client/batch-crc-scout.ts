/**
 * Checks the CRC-32C of the record batches in Fetch answers while their bytes are still in
 * cache: as each socket chunk arrives, not when the whole answer (megabytes) is complete and
 * decoded (by then its first chunks have left the cache: the consumer's CRC ran at ~1.5 GB/s
 * against ~6.5 GB/s on hot bytes, docs/BENCHMARKS.md, issue 8 session 15).
 *
 * The scout reads the byte stream of one connection (`push` every chunk, in order) without
 * framing it: it looks for a partition's `records` key in the msgpack envelope (`a7 "records"`
 * followed by a bin header, protocol/apis/fetch-codec.ts), then walks the batches inside the
 * bin — baseOffset:8 batchLength:4 partitionLeaderEpoch:4 magic:1 crc:4, then the CRC'd bytes
 * (record-batch-header.ts) — continuing each batch's CRC over every chunk piece that belongs to
 * it. A batch whose CRC matches is recorded as verified under the ArrayBuffer and byte offset
 * of its first byte (`verifiedBatch`), which is where the decoder (chunk-decoder.ts) finds the
 * same batch, since answers are views of the socket chunks, never copies.
 *
 * Why a guess is safe: a record says "the bytes at (buffer, offset) hold a batchLength L and a
 * stored CRC that matches bytes [21, 12 + L) after them" — a fact about immutable bytes (socket
 * chunks are never written again), whatever the scout thought they were. The decoder uses it
 * only for a batch that starts at exactly that place with that length, and skips only the CRC
 * computation; every other check still runs. A batch the scout missed, gave up on (an
 * implausible header), or found corrupt is simply not recorded, and the decoder computes its
 * CRC itself, raising CORRUPT_MESSAGE as before.
 */
import { crc32c } from '../protocol/crc32c.js';
import { ATTRIBUTES_POS, BATCH_LENGTH_POS, CRC_POS, LOG_OVERHEAD, MAGIC, MAGIC_POS, MIN_BATCH_LENGTH } from '../protocol/record-batch.js';

/** `a7 "records"`: the msgpack fixstr of the partition field that holds the batches. */
const RECORDS_KEY = Buffer.from([0xa7, ...Buffer.from('records')]);
/** A batch's bytes up to its CRC'd part (baseOffset .. crc). */
const PREFIX_BYTES = ATTRIBUTES_POS;
const EMPTY = Buffer.alloc(0);
/** Bin headers: c4 len:u8, c5 len:u16, c6 len:u32. */
const BIN8 = 0xc4;
const BIN16 = 0xc5;
const BIN32 = 0xc6;

/** Verified batches by the ArrayBuffer their first byte lies in: [byteOffset, batchLength, ...] pairs. */
const verified = new WeakMap<ArrayBufferLike, number[]>();

/** True when the scout verified the CRC of a batch of `batchLength` starting at `buffer[byteOffset]`. */
export function verifiedBatch(buffer: ArrayBufferLike, byteOffset: number, batchLength: number): boolean {
  const list = verified.get(buffer);
  if (list === undefined) return false;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === byteOffset && list[i + 1] === batchLength) return true;
  }
  return false;
}

type State = 'scan' | 'binHeader' | 'prefix' | 'body' | 'skip';

export class BatchCrcScout {
  private state: State = 'scan';
  /** The tail of the previous chunk (a copy), in case the records key straddles two chunks. */
  private carry: Buffer = EMPTY;
  /** Bytes of the current bin not yet walked. */
  private binLeft = 0;
  /** A bin header or batch prefix being gathered across chunks. */
  private readonly head = Buffer.alloc(PREFIX_BYTES);
  private headHave = 0;
  private headNeed = 0;
  /** Where the current batch's first byte lies. */
  private startBuffer: ArrayBufferLike | null = null;
  private startOffset = 0;
  private batchLength = 0;
  private storedCrc = 0;
  private crc = 0;
  /** CRC'd bytes of the current batch still to come. */
  private bodyLeft = 0;
  /** Bytes to pass over (a bin the scout gave up on). */
  private skipLeft = 0;

  /** Feeds the next chunk of the connection's byte stream. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case 'scan':
          at = this.scan(chunk, at);
          break;
        case 'binHeader':
          at = this.gatherBinHeader(chunk, at);
          break;
        case 'prefix':
          at = this.gatherPrefix(chunk, at);
          break;
        case 'body': {
          const n = Math.min(this.bodyLeft, chunk.length - at);
          this.crc = crc32c(chunk, at, at + n, this.crc);
          this.bodyLeft -= n;
          this.binLeft -= n;
          at += n;
          if (this.bodyLeft === 0) this.endBatch();
          break;
        }
        case 'skip': {
          const n = Math.min(this.skipLeft, chunk.length - at);
          this.skipLeft -= n;
          at += n;
          if (this.skipLeft === 0) this.state = 'scan';
          break;
        }
      }
    }
  }

  /** Looks for the records key from `at`; returns where scanning stopped. */
  private scan(chunk: Buffer, at: number): number {
    const tail = this.carry;
    if (tail.length > 0) {
      // A key cut by the previous chunk's end: look over its tail joined to this chunk's start.
      this.carry = EMPTY;
      const joined = Buffer.concat([tail, chunk.subarray(at, at + RECORDS_KEY.length - 1)]);
      const k = joined.indexOf(RECORDS_KEY);
      if (k >= 0) return this.afterKey(at + k + RECORDS_KEY.length - tail.length);
    }
    const k = chunk.indexOf(RECORDS_KEY, at);
    if (k >= 0) return this.afterKey(k + RECORDS_KEY.length);
    // Keep the stream's last key-length-minus-one bytes (a copy: chunks smaller than that join up).
    const keep = RECORDS_KEY.length - 1;
    this.carry = chunk.length - at >= keep ? Buffer.from(chunk.subarray(chunk.length - keep)) : Buffer.concat([tail, chunk.subarray(at)]).subarray(-keep);
    return chunk.length;
  }

  /** The records key ended at `at` (of the current chunk): a bin header comes next. */
  private afterKey(at: number): number {
    this.state = 'binHeader';
    this.headHave = 0;
    this.headNeed = 1;
    return at;
  }

  private gatherBinHeader(chunk: Buffer, at: number): number {
    at = this.gather(chunk, at);
    if (this.headHave < this.headNeed) return at;
    const marker = this.head[0]!;
    const lengthBytes = marker === BIN8 ? 1 : marker === BIN16 ? 2 : marker === BIN32 ? 4 : 0;
    // nil (a partition without records) or anything else: back to looking.
    if (lengthBytes === 0) {
      this.state = 'scan';
      return at;
    }
    if (this.headNeed === 1) {
      this.headNeed = 1 + lengthBytes;
      return at;
    }
    this.binLeft = lengthBytes === 1 ? this.head[1]! : lengthBytes === 2 ? this.head.readUInt16BE(1) : this.head.readUInt32BE(1);
    this.startBatch();
    return at;
  }

  private startBatch(): void {
    if (this.binLeft < LOG_OVERHEAD + MIN_BATCH_LENGTH) {
      this.giveUp();
      return;
    }
    this.state = 'prefix';
    this.headHave = 0;
    this.headNeed = PREFIX_BYTES;
    this.startBuffer = null;
  }

  private gatherPrefix(chunk: Buffer, at: number): number {
    if (this.headHave === 0) {
      this.startBuffer = chunk.buffer;
      this.startOffset = chunk.byteOffset + at;
    }
    const before = at;
    at = this.gather(chunk, at);
    this.binLeft -= at - before;
    if (this.headHave < this.headNeed) return at;
    const batchLength = this.head.readInt32BE(BATCH_LENGTH_POS);
    const sizeBytes = LOG_OVERHEAD + batchLength;
    // Not a batch the decoder would accept whole (or cut by the answer's byte limit): stop here.
    if (this.head[MAGIC_POS] !== MAGIC || batchLength < MIN_BATCH_LENGTH || sizeBytes - PREFIX_BYTES > this.binLeft) {
      this.giveUp();
      return at;
    }
    this.batchLength = batchLength;
    this.storedCrc = this.head.readUInt32BE(CRC_POS);
    this.crc = 0;
    this.bodyLeft = sizeBytes - PREFIX_BYTES;
    this.state = 'body';
    return at;
  }

  private endBatch(): void {
    if (this.crc === this.storedCrc && this.startBuffer !== null) {
      let list = verified.get(this.startBuffer);
      if (list === undefined) {
        list = [];
        verified.set(this.startBuffer, list);
      }
      list.push(this.startOffset, this.batchLength);
    }
    if (this.binLeft === 0) this.state = 'scan';
    else this.startBatch();
  }

  /** Passes over the rest of the bin without checking it (the decoder will). */
  private giveUp(): void {
    this.skipLeft = this.binLeft;
    this.binLeft = 0;
    this.state = this.skipLeft > 0 ? 'skip' : 'scan';
  }

  /** Copies up to `headNeed - headHave` bytes from `chunk[at]` into `head`; returns the new position. */
  private gather(chunk: Buffer, at: number): number {
    const n = Math.min(this.headNeed - this.headHave, chunk.length - at);
    chunk.copy(this.head, this.headHave, at, at + n);
    this.headHave += n;
    return at + n;
  }
}

