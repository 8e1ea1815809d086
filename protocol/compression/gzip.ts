/**
 * gzip (codec 1): RFC 1952 members, as Java's GZIPOutputStream writes them for Kafka. Several
 * concatenated members read as one stream, as GZIPInputStream reads them.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { DecompressedTooLarge } from './limits.js';

export function gzipCompress(raw: Buffer): Buffer {
  return gzipSync(raw);
}

/** zlib stops at `limitBytes` of output (ERR_BUFFER_TOO_LARGE) instead of inflating a bomb. */
export function gzipDecompress(data: Buffer, limitBytes: number): Buffer {
  try {
    return gunzipSync(data, { maxOutputLength: limitBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new DecompressedTooLarge(limitBytes);
    throw err;
  }
}
