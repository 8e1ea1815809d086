/**
 * zstd (codec 4): Zstandard frames (RFC 8878), as Kafka 2.1+ writes them (zstd-jni, level 3).
 *
 * Byte format walked here before any decompression (integers little-endian):
 *
 *   frame:
 *     magic           4  0xFD2FB528
 *     FHD             1  bits 7-6 content size field size id, 5 single segment, 3 reserved (0),
 *                        2 content checksum, 1-0 dictionary id size id
 *     window desc.    1  absent with single segment
 *     dictionary id   0/1/2/4
 *     content size    0/1/2/4/8 (size id 0: 1 byte with single segment, else absent;
 *                        size id 1: 2 bytes, value + 256)
 *     blocks          header:3 bytes (bit 0 last, bits 1-2 type: 0 raw, 1 RLE, 2 compressed,
 *                        bits 3-23 size), then the block's bytes (RLE: 1 byte)
 *     checksum        4  only with FHD bit 2
 *   skippable frames (magic 0x184D2A50 .. 0x184D2A5F, size:uint32, data) are skipped.
 *
 * The walk gives every frame's decompressed size or a bound on it (a raw or RLE block
 * regenerates its size, a compressed one at most 128 KiB), so a frame is refused, or given
 * an output of at most the limit, before libzstd allocates it. Frames are decompressed one by
 * one by libzstd compiled to WebAssembly (`@bokuweb/zstd-wasm`), which also checks a frame's
 * declared content size and checksum.
 *
 * libzstd is loaded on first use (libzstd.ts), not when this file loads: a process that never
 * sees a zstd batch (most brokers, the CLI, most SDK users) does not pay for it.
 */
import { libzstd } from './libzstd.js';
import { DecompressedTooLarge } from './limits.js';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_HEADER_BYTES = 3;
const MAX_BLOCK_BYTES = 128 * 1024;
const DICT_ID_BYTES = [0, 1, 2, 4];
/** ZSTD_WINDOWLOG_MAX_32: the largest window libzstd decodes on a 32-bit target. */
const MAX_WINDOW_LOG = 30;
/** zstd-jni's and Kafka's default level (compression.zstd.level). */
export const KAFKA_ZSTD_LEVEL = 3;

export function zstdCompress(raw: Buffer): Buffer {
  const frame = libzstd().compress(raw, KAFKA_ZSTD_LEVEL);
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

interface FrameExtent {
  start: number;
  end: number;
  /** Exact decompressed size when the frame declares it, else an upper bound. */
  outputBytes: number;
  declared: boolean;
}

export function zstdDecompress(data: Buffer, limitBytes: number): Buffer {
  const frames = walkFrames(data);
  const zstd = libzstd();
  const parts: Buffer[] = [];
  let total = 0;
  for (const frame of frames) {
    const left = limitBytes - total;
    if (frame.declared && frame.outputBytes > left) throw new DecompressedTooLarge(limitBytes, total + frame.outputBytes);
    const capacity = Math.min(frame.outputBytes, left);
    let part: Uint8Array;
    try {
      part = zstd.decompress(data.subarray(frame.start, frame.end), { defaultHeapSize: capacity });
    } catch (cause) {
      // Without a declared size the output was capped: failing at the cap is the limit's doing.
      if (!frame.declared && capacity === left && frame.outputBytes > left) throw new DecompressedTooLarge(limitBytes);
      // The package words every libzstd failure "Failed to compress with code N".
      throw new Error(`libzstd refused the frame at byte ${frame.start} (error ${String((cause as Error).message).replace(/\D+/g, ' ').trim()})`);
    }
    total += part.length;
    parts.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

/** Every zstd frame of `data` with its decompressed size or bound; throws when malformed. */
function walkFrames(data: Buffer): FrameExtent[] {
  const frames: FrameExtent[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < 8) throw new Error(`zstd frame at byte ${pos} is cut off`);
    const magic = data.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      const size = data.readUInt32LE(pos + 4);
      if (size > data.length - pos - 8) throw new Error(`zstd skippable frame at byte ${pos} runs past the data`);
      pos += 8 + size;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error(`zstd frame at byte ${pos} has magic 0x${magic.toString(16)}, not 0xfd2fb528`);
    const start = pos;
    const fhd = data[pos + 4]!;
    if ((fhd & 0x08) !== 0) throw new Error('zstd frame sets the reserved bit');
    const singleSegment = (fhd & 0x20) !== 0;
    // libzstd in 32-bit WebAssembly cannot decode windows above 2^30, and an invalid header
    // must never reach it (its size query would answer an error code, used as a size).
    if (!singleSegment && 10 + (data[pos + 5]! >> 3) > MAX_WINDOW_LOG) throw new Error(`zstd frame window 2^${10 + (data[pos + 5]! >> 3)} is above 2^${MAX_WINDOW_LOG}`);
    const sizeId = fhd >> 6;
    const sizeBytes = sizeId === 0 ? (singleSegment ? 1 : 0) : 1 << sizeId;
    pos += 5 + (singleSegment ? 0 : 1) + DICT_ID_BYTES[fhd & 0x03]!;
    if (data.length - pos < sizeBytes) throw new Error('zstd frame header is cut off');
    let declared = -1;
    if (sizeBytes === 1) declared = data[pos]!;
    else if (sizeBytes === 2) declared = data.readUInt16LE(pos) + 256;
    else if (sizeBytes === 4) declared = data.readUInt32LE(pos);
    else if (sizeBytes === 8) {
      const size = data.readBigUInt64LE(pos);
      declared = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
    }
    pos += sizeBytes;
    let bound = 0;
    for (let last = false; !last;) {
      if (data.length - pos < BLOCK_HEADER_BYTES) throw new Error(`zstd block header at byte ${pos} is cut off`);
      const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      pos += BLOCK_HEADER_BYTES;
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new Error(`zstd block at byte ${pos - BLOCK_HEADER_BYTES} has the reserved type 3`);
      if (size > MAX_BLOCK_BYTES) throw new Error(`zstd block of ${size} bytes is above the 128 KiB maximum`);
      const stored = type === 1 ? 1 : size;
      if (stored > data.length - pos) throw new Error(`zstd block of ${stored} bytes at byte ${pos - BLOCK_HEADER_BYTES} runs past the data`);
      bound += type === 2 ? MAX_BLOCK_BYTES : size;
      pos += stored;
    }
    if ((fhd & 0x04) !== 0) {
      if (data.length - pos < 4) throw new Error('zstd frame is cut off before its checksum');
      pos += 4;
    }
    frames.push({ start, end: pos, outputBytes: declared >= 0 ? declared : bound, declared: declared >= 0 });
  }
  if (frames.length === 0) throw new Error('zstd data holds no frame');
  return frames;
}
