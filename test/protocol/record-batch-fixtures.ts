/**
 * Helpers of the RecordBatch codec tests (record-batch.test.ts, record-batch-validate.test.ts):
 * seeded pseudo-random bytes, so a failure replays, and the table name of a thrown RillError.
 */
import { RillError, type ErrorName } from '../../protocol/errors.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s = (s ^ (s >>> 12)) >>> 0;
    return s / 2 ** 32;
  };
}

export function bytes(size: number, seed: number): Buffer {
  const random = rng(seed);
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = Math.floor(random() * 256);
  return buf;
}

/** Runs `fn` and returns the table name of the RillError it threw; fails on anything else. */
export function errorNameOf(fn: () => unknown): ErrorName {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof RillError)) throw new Error(`expected a RillError, got ${String(err)}`, { cause: err });
    return err.errorName;
  }
  throw new Error('expected a RillError, nothing was thrown');
}
