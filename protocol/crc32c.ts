/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF),
 * the checksum of Kafka's RecordBatch v2. A thin wrapper over the `crc-32` package's CRC-32C
 * (slice-by-16 tables in plain JS) that hashes a byte range of a buffer without copying it and
 * returns the checksum as an unsigned 32-bit number, the way the batch header stores it.
 *
 * Known answers: crc32c("123456789") = 0xE3069283; 32 zero bytes = 0x8A9136AA.
 */
// crc-32 is CommonJS with no "exports" map: NodeNext resolves the file path directly and its
// typesVersions maps every subpath to the same declarations (`buf(data, seed)` etc.).
import CRC32C from 'crc-32/crc32c.js';

/**
 * CRC-32C of `buf[start, end)`, as an unsigned u32. A sub-range is hashed through a subarray
 * view, never a copy. `seed` continues a running checksum: pass the previous result to hash a
 * range that is split over several buffers.
 */
export function crc32c(buf: Uint8Array, start = 0, end: number = buf.length, seed = 0): number {
  const bytes = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  return CRC32C.buf(bytes, seed) >>> 0;
}
