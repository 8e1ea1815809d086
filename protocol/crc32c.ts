/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF),
 * the checksum of Kafka's RecordBatch v2, returned as an unsigned 32-bit number the way the
 * batch header stores it.
 *
 * Two implementations, one chosen once when this module loads:
 *   'native'  `@node-rs/crc32` (an optional dependency with prebuilt binaries per platform; it
 *             uses the SSE 4.2 / ARMv8 CRC32C instructions), when it loads on this platform
 *             and passes the known-answer check below;
 *   'js'      the `crc-32` package's pure-JS slice-by-16 tables, everywhere else.
 * So installing rill never needs a compiler, and a platform without a binary still works.
 * `RILL_CRC32C=js` in the environment forces the JS path (benchmarks, bisecting a suspected
 * native bug). `crc32cImplementation` says which one is active.
 *
 * Known answers: crc32c("123456789") = 0xE3069283; 32 zero bytes = 0x8A9136AA.
 */
import { createRequire } from 'node:module';
// crc-32 is CommonJS with no "exports" map: NodeNext resolves the file path directly and its
// typesVersions maps every subpath to the same declarations (`buf(data, seed)` etc.).
import CRC32C from 'crc-32/crc32c.js';

export type Crc32cImplementationName = 'native' | 'js';

/** One CRC-32C implementation over a whole byte array, continuing from `seed` (0 to start). */
export type Crc32cFunction = (bytes: Uint8Array, seed: number) => number;

/** The pure-JS implementation: always available. */
export const crc32cJs: Crc32cFunction = (bytes, seed) => CRC32C.buf(bytes, seed) >>> 0;

/** The native implementation, or null when `@node-rs/crc32` is not installed or fails its check. */
export const crc32cNative: Crc32cFunction | null = loadNative();

/** The implementation every `crc32c` call uses, fixed at load. */
export const crc32cImplementation: Crc32cImplementationName =
  crc32cNative !== null && process.env.RILL_CRC32C !== 'js' ? 'native' : 'js';

const active: Crc32cFunction = crc32cImplementation === 'native' ? crc32cNative! : crc32cJs;

/**
 * CRC-32C of `buf[start, end)`, as an unsigned u32. A sub-range is hashed through a subarray
 * view, never a copy. `seed` continues a running checksum: pass the previous result to hash a
 * range that is split over several buffers.
 */
export function crc32c(buf: Uint8Array, start = 0, end: number = buf.length, seed = 0): number {
  const bytes = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  return active(bytes, seed);
}

/**
 * True when `fn` gives the published answers, including a continued checksum: a binary built
 * for another CRC variant or seed convention must never checksum rill's batches.
 */
export function passesKnownAnswers(fn: Crc32cFunction): boolean {
  const check = Buffer.from('123456789', 'ascii');
  return fn(check, 0) === 0xe3069283
    && fn(Buffer.alloc(32, 0), 0) === 0x8a9136aa
    && fn(check.subarray(4), fn(check.subarray(0, 4), 0)) === 0xe3069283
    && fn(Buffer.alloc(0), 0) === 0;
}

function loadNative(): Crc32cFunction | null {
  let binding: { crc32c(input: Uint8Array, initialState?: number): number };
  try {
    // createRequire keeps the load synchronous (the choice is made before the first batch is
    // hashed) and lets a missing optional package be an ordinary caught error.
    binding = createRequire(import.meta.url)('@node-rs/crc32') as typeof binding;
  } catch {
    return null;
  }
  if (typeof binding?.crc32c !== 'function') return null;
  const native: Crc32cFunction = (bytes, seed) => binding.crc32c(bytes, seed) >>> 0;
  try {
    return passesKnownAnswers(native) ? native : null;
  } catch {
    return null;
  }
}
