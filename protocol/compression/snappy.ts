/**
 * snappy (codec 2), framed the way Kafka's Java clients and brokers write it: snappy-java's
 * SnappyOutputStream ("xerial" framing), not the official snappy framing format.
 *
 * Byte format (integers big-endian):
 *
 *   pos size field
 *     0   8  magic               0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *     8   4  version             int32, 1
 *    12   4  compatibleVersion   int32, 1
 *    16      chunks, back to back until the end:
 *              length:int32      bytes of the raw snappy block that follows
 *              block             a raw snappy block (below) of at most 32 KiB of input
 *
 * A raw snappy block starts with its uncompressed length as a little-endian base-128 varint,
 * then literals and copies. Kafka's reader (and so this one) also accepts data without the
 * xerial magic as one raw block: librdkafka and other clients write that.
 *
 * The decoder reads every chunk's declared length before allocating, so a bomb is refused
 * before any byte is inflated; the blocks themselves are decoded by `snappyjs` (pure JS).
 */
import { compress as snappyBlock, uncompress as unsnappyBlock } from 'snappyjs';
import { DecompressedTooLarge } from './limits.js';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
/** snappy-java's default chunk, what Kafka's producer writes. */
export const XERIAL_CHUNK_BYTES = 32 * 1024;
const CHUNK_LENGTH_BYTES = 4;

export function snappyCompress(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_VERSION, 12);
  parts.push(header);
  let total = header.length;
  for (let pos = 0; pos < raw.length; pos += XERIAL_CHUNK_BYTES) {
    const block = snappyBlock(raw.subarray(pos, Math.min(raw.length, pos + XERIAL_CHUNK_BYTES)));
    const length = Buffer.allocUnsafe(CHUNK_LENGTH_BYTES);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
    total += CHUNK_LENGTH_BYTES + block.length;
  }
  return Buffer.concat(parts, total);
}

export function snappyDecompress(data: Buffer, limitBytes: number): Buffer {
  if (!isXerial(data)) return rawBlock(data, limitBytes);
  // Pass 1: where the chunks are and what they add up to, before anything is allocated.
  const chunks: Buffer[] = [];
  let totalBytes = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (data.length - pos < CHUNK_LENGTH_BYTES) throw new Error(`a xerial chunk length at byte ${pos} is cut off`);
    const length = data.readInt32BE(pos);
    pos += CHUNK_LENGTH_BYTES;
    if (length < 1 || length > data.length - pos) throw new Error(`xerial chunk length ${length} at byte ${pos - CHUNK_LENGTH_BYTES} does not fit the ${data.length - pos} bytes left`);
    const chunk = data.subarray(pos, pos + length);
    totalBytes += declaredLength(chunk);
    if (totalBytes > limitBytes) throw new DecompressedTooLarge(limitBytes, totalBytes);
    chunks.push(chunk);
    pos += length;
  }
  if (chunks.length === 1) return rawBlock(chunks[0]!, limitBytes);
  const out = Buffer.allocUnsafe(totalBytes);
  let at = 0;
  for (const chunk of chunks) {
    const block = rawBlock(chunk, limitBytes);
    out.set(block, at);
    at += block.length;
  }
  return out;
}

function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, 0, XERIAL_MAGIC.length) === 0;
}

function rawBlock(block: Buffer, limitBytes: number): Buffer {
  const declared = declaredLength(block);
  if (declared > limitBytes) throw new DecompressedTooLarge(limitBytes, declared);
  return unsnappyBlock(block, declared);
}

/** The uncompressed length a raw block starts with (a varint of at most 5 bytes, < 2^32). */
function declaredLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (value > 0xffffffff) break;
      return value;
    }
  }
  throw new Error('a snappy block does not start with a valid uncompressed length');
}
