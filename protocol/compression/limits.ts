/**
 * How much a batch's records may inflate to. Kafka bounds only the compressed batch
 * (max.message.bytes); a reader that trusted the codec's own sizes could be made to allocate
 * gigabytes by a few kilobytes (a "decompression bomb"). Every decoder here stops at a limit
 * before it allocates past it, and the limit is derived from the batch bound the reader knows.
 */

/** The hard ceiling for one batch's decompressed records, whatever the configuration. */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/**
 * How many times its compressed size a batch's records may take, relative to the largest batch
 * a topic accepts. Real record data compresses 2-10x and very repetitive data a few dozen
 * times; at the default max.message.bytes (~1 MiB) this allows 64 MiB of records per batch.
 */
export const MAX_COMPRESSION_RATIO = 64;

/** The decompressed-size limit for batches of at most `maxBatchBytes` (max.message.bytes). */
export function decompressionLimitBytes(maxBatchBytes: number): number {
  if (!Number.isFinite(maxBatchBytes) || maxBatchBytes <= 0) return MAX_DECOMPRESSED_BYTES;
  return Math.min(MAX_DECOMPRESSED_BYTES, Math.ceil(maxBatchBytes) * MAX_COMPRESSION_RATIO);
}

/** Thrown by a decoder whose output would pass its limit; index.ts turns it into CORRUPT_MESSAGE. */
export class DecompressedTooLarge extends Error {
  constructor(readonly limitBytes: number, declaredBytes?: number) {
    super(declaredBytes === undefined
      ? `decompress to more than the limit of ${limitBytes} bytes`
      : `declare ${declaredBytes} decompressed bytes, above the limit of ${limitBytes}`);
  }
}
