/**
 * Types for the two codec packages that ship none (snappyjs, lz4js): only the functions
 * protocol/compression/ calls, with the signatures their sources have.
 */
declare module 'snappyjs' {
  /** A raw snappy block of `uncompressed`. */
  export function compress(uncompressed: Buffer): Buffer;
  /** Throws when the block's declared length is above `maxLength` or the block is malformed. */
  export function uncompress(compressed: Buffer, maxLength?: number): Buffer;
}

declare module 'lz4js' {
  /** Room enough for any compressed block of `n` bytes. */
  export function compressBound(n: number): number;
  /** Compresses src[sIndex, sIndex + sLength) into dst from 0; 0 when nothing was gained. */
  export function compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
}

declare module 'lz4js/xxh32.js' {
  /** xxHash32 of src[index, index + length) with `seed`. */
  export function hash(seed: number, src: Uint8Array, index: number, length: number): number;
}
