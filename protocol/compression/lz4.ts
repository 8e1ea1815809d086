/**
 * lz4 (codec 3): the LZ4 frame format (lz4 spec "LZ4 Frame Format Description" v1.6.x), as
 * Kafka 0.10+ writes it (KafkaLZ4BlockOutputStream) for RecordBatch v2.
 *
 * Byte format (integers little-endian):
 *
 *   frame:
 *     magic        4  0x184D2204
 *     FLG          1  bits 7-6 version (01), 5 block independence, 4 block checksum,
 *                     3 content size, 2 content checksum, 1 reserved (0), 0 dictionary id
 *     BD           1  bits 6-4 block maximum size: 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB
 *     contentSize  8  only with FLG bit 3
 *     dictId       4  only with FLG bit 0 (refused: no dictionary is ever agreed in Kafka)
 *     HC           1  (xxHash32(FLG .. last descriptor byte, seed 0) >> 8) & 0xFF
 *     blocks          size:uint32 (bit 31 set: stored uncompressed), data, then a
 *                     checksum:uint32 (xxHash32 of the data) with FLG bit 4
 *     endMark      4  0
 *     checksum     4  xxHash32 of the decompressed content, only with FLG bit 2
 *   skippable frames (magic 0x184D2A50 .. 0x184D2A5F, size:uint32, data) are skipped, and
 *   concatenated frames decode as one stream.
 *
 * Written as Kafka writes it: FLG 0x60 (version 1, independent blocks, no checksums but the
 * header's), BD 0x40 (64 KiB blocks), blocks compressed by `lz4js`'s block compressor, a
 * block that does not shrink stored as is.
 *
 * Read by the bounded block decoder below (not lz4js's, which checks no bound): the frame is
 * walked first to learn how large its output can be, every literal run and match is checked
 * against the input left and the output allowed, and a bomb stops at the limit.
 */
import { compressBlock, compressBound } from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import { DecompressedTooLarge } from './limits.js';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const VERSION_BITS = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
const BLOCK_UNCOMPRESSED = 0x80000000;
const BLOCK_SIZE_MASK = 0x7fffffff;
/** Kafka's block size: 64 KiB (BD block size id 4). */
export const KAFKA_BLOCK_BYTES = 64 * 1024;
const KAFKA_BD = 4 << 4;
const MIN_MATCH = 4;
/** Below this many bytes a JS loop copies faster than Buffer.copy / copyWithin (native calls). */
const SHORT_COPY_BYTES = 32;
/** Output one compressed byte can stand for at most (a 0xFF match-length continuation byte). */
const MAX_BYTES_PER_INPUT_BYTE = 255;

let scratch = new Uint8Array(compressBound(KAFKA_BLOCK_BYTES));
const hashTable = new Uint32Array(1 << 16);

export function lz4Compress(raw: Buffer): Buffer {
  const flg = VERSION_BITS | FLG_BLOCK_INDEPENDENCE;
  const header = Buffer.from([0, 0, 0, 0, flg, KAFKA_BD, 0]);
  header.writeUInt32LE(FRAME_MAGIC, 0);
  header[6] = (xxh32(0, header, 4, 2) >>> 8) & 0xff;
  const parts: Buffer[] = [header];
  let total = header.length;
  if (scratch.length < compressBound(KAFKA_BLOCK_BYTES)) scratch = new Uint8Array(compressBound(KAFKA_BLOCK_BYTES));
  for (let pos = 0; pos < raw.length; pos += KAFKA_BLOCK_BYTES) {
    const blockBytes = Math.min(KAFKA_BLOCK_BYTES, raw.length - pos);
    // A fresh table per block: no match may reach into the previous block (independent blocks).
    hashTable.fill(0);
    const compressed = compressBlock(raw, scratch, pos, blockBytes, hashTable);
    const size = Buffer.allocUnsafe(4);
    if (compressed > 0 && compressed < blockBytes) {
      size.writeUInt32LE(compressed, 0);
      parts.push(size, Buffer.from(scratch.subarray(0, compressed)));
      total += 4 + compressed;
    } else {
      size.writeUInt32LE((BLOCK_UNCOMPRESSED | blockBytes) >>> 0, 0);
      parts.push(size, raw.subarray(pos, pos + blockBytes));
      total += 4 + blockBytes;
    }
  }
  parts.push(Buffer.alloc(4)); // endMark
  return Buffer.concat(parts, total + 4);
}

interface Frame {
  flg: number;
  blockMaxBytes: number;
  contentSize: number;
  /** Where the first block's size is. */
  blocksAt: number;
}

export function lz4Decompress(data: Buffer, limitBytes: number): Buffer {
  const bound = Math.min(limitBytes, outputBound(data));
  const out = Buffer.allocUnsafe(bound);
  let produced = 0;
  let pos = 0;
  while (pos < data.length) {
    const magic = data.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    const frame = readFrameHeader(data, pos);
    const frameStart = produced;
    pos = frame.blocksAt;
    for (;;) {
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      const size = word & BLOCK_SIZE_MASK;
      const blockLimit = Math.min(out.length, produced + frame.blockMaxBytes);
      if ((word & BLOCK_UNCOMPRESSED) !== 0) {
        if (size > blockLimit - produced) throw tooMuch(out.length, limitBytes, 'a stored block');
        data.copy(out, produced, pos, pos + size);
        produced += size;
      } else {
        const earliest = (frame.flg & FLG_BLOCK_INDEPENDENCE) !== 0 ? produced : frameStart;
        produced = decodeBlock(data, pos, pos + size, out, produced, earliest, blockLimit, out.length === limitBytes && blockLimit === out.length);
      }
      if ((frame.flg & FLG_BLOCK_CHECKSUM) !== 0) {
        if (xxh32(0, data, pos, size) >>> 0 !== data.readUInt32LE(pos + size)) throw new Error(`lz4 block at byte ${pos - 4} fails its checksum`);
        pos += 4;
      }
      pos += size;
    }
    if ((frame.flg & FLG_CONTENT_CHECKSUM) !== 0) {
      if (xxh32(0, out, frameStart, produced - frameStart) >>> 0 !== data.readUInt32LE(pos)) throw new Error('lz4 frame fails its content checksum');
      pos += 4;
    }
    if (frame.contentSize >= 0 && frame.contentSize !== produced - frameStart) {
      throw new Error(`lz4 frame declares ${frame.contentSize} bytes of content and holds ${produced - frameStart}`);
    }
  }
  // A loose bound (compressed blocks counted at their maximum) would pin unused memory in
  // every record view taken from this buffer: keep exactly what was produced.
  return produced === out.length ? out : Buffer.from(out.subarray(0, produced));
}

/**
 * Walks every frame's block sizes (checking they fit `data`) and returns how many bytes the
 * whole input can decompress to at most. Throws for a malformed frame.
 */
function outputBound(data: Buffer): number {
  let bound = 0;
  let pos = 0;
  if (data.length === 0) throw new Error('lz4 data is empty, a frame needs at least 7 bytes');
  while (pos < data.length) {
    if (data.length - pos < 8) throw new Error(`lz4 frame at byte ${pos} is cut off`);
    const magic = data.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      const size = data.readUInt32LE(pos + 4);
      if (size > data.length - pos - 8) throw new Error(`lz4 skippable frame at byte ${pos} runs past the data`);
      pos += 8 + size;
      continue;
    }
    const frame = readFrameHeader(data, pos);
    pos = frame.blocksAt;
    let frameBound = 0;
    for (;;) {
      if (data.length - pos < 4) throw new Error(`lz4 frame is cut off at byte ${pos} (no end mark)`);
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      const size = word & BLOCK_SIZE_MASK;
      const trailer = (frame.flg & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
      if (size + trailer > data.length - pos) throw new Error(`lz4 block of ${size} bytes at byte ${pos - 4} runs past the data`);
      if (size > frame.blockMaxBytes) throw new Error(`lz4 block of ${size} bytes is above the frame's block maximum ${frame.blockMaxBytes}`);
      frameBound += (word & BLOCK_UNCOMPRESSED) !== 0 ? size : Math.min(frame.blockMaxBytes, size * MAX_BYTES_PER_INPUT_BYTE);
      pos += size + trailer;
    }
    if ((frame.flg & FLG_CONTENT_CHECKSUM) !== 0) {
      if (data.length - pos < 4) throw new Error('lz4 frame is cut off before its content checksum');
      pos += 4;
    }
    bound += frame.contentSize >= 0 ? Math.min(frame.contentSize, frameBound) : frameBound;
  }
  return bound;
}

function readFrameHeader(data: Buffer, pos: number): Frame {
  if (data.length - pos < 7) throw new Error(`lz4 frame at byte ${pos} is cut off`);
  const magic = data.readUInt32LE(pos);
  if (magic !== FRAME_MAGIC) throw new Error(`lz4 frame at byte ${pos} has magic 0x${magic.toString(16)}, not 0x184d2204`);
  const flg = data[pos + 4]!;
  const bd = data[pos + 5]!;
  if ((flg & 0xc0) !== VERSION_BITS) throw new Error(`lz4 frame version ${flg >> 6} is not 1`);
  if ((flg & FLG_DICT_ID) !== 0) throw new Error('lz4 frame needs a dictionary; none is agreed for Kafka batches');
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw new Error('lz4 frame sets reserved bits');
  const sizeId = (bd >> 4) & 0x07;
  if (sizeId < 4) throw new Error(`lz4 frame block size id ${sizeId} is invalid`);
  const descriptorBytes = 2 + ((flg & FLG_CONTENT_SIZE) !== 0 ? 8 : 0);
  if (data.length - pos < 4 + descriptorBytes + 1) throw new Error(`lz4 frame header at byte ${pos} is cut off`);
  const checksum = (xxh32(0, data, pos + 4, descriptorBytes) >>> 8) & 0xff;
  if (checksum !== data[pos + 4 + descriptorBytes]) throw new Error('lz4 frame header fails its checksum');
  let contentSize = -1;
  if ((flg & FLG_CONTENT_SIZE) !== 0) {
    const size = data.readBigUInt64LE(pos + 6);
    contentSize = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
  }
  return { flg, blockMaxBytes: 1 << (8 + 2 * sizeId), contentSize, blocksAt: pos + 4 + descriptorBytes + 1 };
}

/**
 * Decodes one LZ4 block src[sPos, sEnd) into dst from dPos; matches may reach back to
 * `earliest` (the block's start, or the frame's for linked blocks) and output may not pass
 * `dLimit`. Returns the new output position. `atLimit`: reaching dLimit means the caller's
 * decompression limit, not the block's own maximum, was hit.
 */
function decodeBlock(src: Buffer, sPos: number, sEnd: number, dst: Buffer, dPos: number, earliest: number, dLimit: number, atLimit: boolean): number {
  for (;;) {
    if (sPos >= sEnd) throw new Error('lz4 block ends inside a sequence');
    const token = src[sPos++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (sPos >= sEnd) throw new Error('lz4 literal length runs past the block');
        b = src[sPos++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > sEnd - sPos) throw new Error('lz4 literals run past the block');
    if (literals > dLimit - dPos) throw overflow(dLimit, atLimit);
    if (literals < SHORT_COPY_BYTES) {
      for (let i = 0; i < literals; i++) dst[dPos + i] = src[sPos + i]!;
    } else {
      src.copy(dst, dPos, sPos, sPos + literals);
    }
    sPos += literals;
    dPos += literals;
    if (sPos === sEnd) return dPos; // the last sequence has literals only
    if (sEnd - sPos < 2) throw new Error('lz4 match offset runs past the block');
    const offset = src[sPos]! | (src[sPos + 1]! << 8);
    sPos += 2;
    if (offset === 0 || offset > dPos - earliest) throw new Error(`lz4 match offset ${offset} reaches before the start of the data`);
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (sPos >= sEnd) throw new Error('lz4 match length runs past the block');
        b = src[sPos++]!;
        length += b;
      } while (b === 255);
    }
    length += MIN_MATCH;
    if (length > dLimit - dPos) throw overflow(dLimit, atLimit);
    const from = dPos - offset;
    if (length < SHORT_COPY_BYTES || offset < 8) {
      // Short matches and short periods: a byte loop beats a native call (and is right for
      // overlapping matches, whose bytes repeat the last `offset` ones).
      for (let i = 0; i < length; i++) dst[dPos + i] = dst[from + i]!;
      dPos += length;
    } else if (offset >= length) {
      dst.copyWithin(dPos, from, from + length);
      dPos += length;
    } else {
      // An overlapping match repeats the last `offset` bytes: what is already copied is the
      // same pattern, so each copy can take everything from `from` to the current end.
      for (const stop = dPos + length; dPos < stop;) {
        const n = Math.min(dPos - from, stop - dPos);
        dst.copyWithin(dPos, from, from + n);
        dPos += n;
      }
    }
  }
}

function overflow(dLimit: number, atLimit: boolean): Error {
  return atLimit ? new DecompressedTooLarge(dLimit) : new Error('lz4 block decompresses past its maximum size');
}

function tooMuch(capacity: number, limitBytes: number, what: string): Error {
  return capacity === limitBytes ? new DecompressedTooLarge(limitBytes) : new Error(`lz4 ${what} is larger than its frame allows`);
}
