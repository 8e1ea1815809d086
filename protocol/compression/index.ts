/**
 * The record codecs of RecordBatch v2, chosen by bits 0-2 of a batch's attributes:
 * 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd (5-7 are not codecs: a corrupt batch). Each codec's
 * byte framing is documented in its own module; all of them compress the records section of a
 * batch as one unit (the 61-byte header is never compressed).
 *
 * Decompression is always bounded (limits.ts): failures of any kind, a bomb included, surface
 * as CORRUPT_MESSAGE naming the batch and the codec; a codec that cannot run in this process
 * (zstd without WebAssembly, libzstd.ts) as UNSUPPORTED_COMPRESSION_TYPE.
 */
import { RillError, rillError } from '../errors.js';
import { gzipCompress, gzipDecompress } from './gzip.js';
import { DecompressedTooLarge } from './limits.js';
import { lz4Compress, lz4Decompress } from './lz4.js';
import { snappyCompress, snappyDecompress } from './snappy.js';
import { zstdCompress, zstdDecompress } from './zstd.js';

export { MAX_COMPRESSION_RATIO, MAX_DECOMPRESSED_BYTES, decompressionLimitBytes } from './limits.js';
export { libzstdLoaded } from './libzstd.js';

/** Kafka's compression.type values, in codec-id order. */
export const COMPRESSION_TYPES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSION_TYPES)[number];
export type Codec = Exclude<Compression, 'none'>;

interface CodecImpl {
  compress(raw: Buffer): Buffer;
  decompress(data: Buffer, limitBytes: number): Buffer;
}

const CODECS: { readonly [C in Codec]: CodecImpl } = {
  gzip: { compress: gzipCompress, decompress: gzipDecompress },
  snappy: { compress: snappyCompress, decompress: snappyDecompress },
  lz4: { compress: lz4Compress, decompress: lz4Decompress },
  zstd: { compress: zstdCompress, decompress: zstdDecompress },
};

export function isCompression(value: unknown): value is Compression {
  return typeof value === 'string' && (COMPRESSION_TYPES as readonly string[]).includes(value);
}

/** The attributes bits (0-2) of a codec. */
export function codecId(compression: Compression): number {
  return COMPRESSION_TYPES.indexOf(compression);
}

/** The records section of a batch compressed with `codec`, framed as Kafka's clients write it. */
export function compressRecords(codec: Codec, raw: Buffer): Buffer {
  return CODECS[codec].compress(raw);
}

/**
 * The records section `data` decompressed, at most `limitBytes` of it. Throws CORRUPT_MESSAGE
 * (mentioning `where`, e.g. "Record batch at position 0") when the data does not decompress
 * or would inflate past the limit, UNSUPPORTED_COMPRESSION_TYPE when the codec cannot run here.
 */
export function decompressRecords(codec: Codec, data: Buffer, limitBytes: number, where: string): Buffer {
  try {
    return CODECS[codec].decompress(data, limitBytes);
  } catch (cause) {
    // A codec this process cannot run (libzstd did not load) is no fault of the batch's.
    if (cause instanceof RillError && cause.errorName === 'UNSUPPORTED_COMPRESSION_TYPE') throw cause;
    const reason = cause instanceof DecompressedTooLarge ? cause.message : `do not decompress (${(cause as Error).message})`;
    throw rillError('CORRUPT_MESSAGE', `${where}: ${codec} records ${reason}`, { cause });
  }
}
