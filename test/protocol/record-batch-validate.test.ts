/**
 * validateBatch (protocol/record-batch.ts): what the broker checks of a produced RecordBatch v2
 * before appending it: magic, lengths, the CRC and the header fields it vouches for, and that
 * the records fill the batch exactly, each refusal with its table error.
 */
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../protocol/crc32c.js';
import { RillError } from '../../protocol/errors.js';
import {
  ATTRIBUTES_POS,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_POS,
  CRC_POS,
  LAST_OFFSET_DELTA_POS,
  LOG_OVERHEAD,
  MAGIC_POS,
  MAX_TIMESTAMP_POS,
  PARTITION_LEADER_EPOCH_POS,
  RECORDS_POS,
  RECORD_COUNT_POS,
  batchSize,
  decodeBatch,
  encodeBatch,
  patchBaseOffset,
  readBatchHeader,
  validateBatch,
} from '../../protocol/record-batch.js';
import { bytes, errorNameOf, rng } from './record-batch-fixtures.js';

describe('validateBatch', () => {
  const sample = encodeBatch(
    [
      { key: 'k1', value: 'v'.repeat(200), headers: { a: 'b' }, timestamp: 5000 },
      { key: null, value: bytes(40, 1), timestamp: 4000 },
      { key: 'k3', value: null, timestamp: 6000 },
    ],
    { baseOffset: 42, producerId: 9, producerEpoch: 1, baseSequence: 0 },
  );
  const gzipSample = encodeBatch([{ key: 'k', value: 'x'.repeat(500) }, { value: 'y' }], { compression: 'gzip' });

  it('accepts a good batch and returns its header', () => {
    expect(validateBatch(sample)).toEqual(readBatchHeader(sample));
    expect(validateBatch(gzipSample).recordCount).toBe(2);
  });

  for (const [name, batch] of [['uncompressed', sample], ['gzip', gzipSample]] as const) {
    it(`catches a flipped byte anywhere from the magic byte on (${name})`, () => {
      for (let pos = MAGIC_POS; pos < batch.length; pos++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const bad = Buffer.from(batch);
          bad[pos] ^= mask;
          expect(errorNameOf(() => validateBatch(bad))).toBe('CORRUPT_MESSAGE');
          expect(errorNameOf(() => decodeBatch(bad))).toBe('CORRUPT_MESSAGE');
        }
      }
    });

    it(`catches a flipped byte in batchLength (${name})`, () => {
      for (let pos = BATCH_LENGTH_POS; pos < BATCH_LENGTH_POS + 4; pos++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const bad = Buffer.concat([batch, Buffer.alloc(300)]);
          bad[pos] ^= mask;
          expect(errorNameOf(() => validateBatch(bad))).toBe('CORRUPT_MESSAGE');
        }
      }
    });

    it(`catches every truncation (${name})`, () => {
      for (let length = 0; length < batch.length; length++) {
        const cut = batch.subarray(0, length);
        expect(errorNameOf(() => validateBatch(cut))).toBe('CORRUPT_MESSAGE');
        expect(errorNameOf(() => decodeBatch(cut))).toBe('CORRUPT_MESSAGE');
      }
      expect(errorNameOf(() => readBatchHeader(batch.subarray(0, BATCH_HEADER_BYTES - 1)))).toBe('CORRUPT_MESSAGE');
      expect(errorNameOf(() => batchSize(batch.subarray(0, LOG_OVERHEAD - 1)))).toBe('CORRUPT_MESSAGE');
    });
  }

  it('does not cover baseOffset and partitionLeaderEpoch with the CRC (the broker patches them)', () => {
    const patched = Buffer.from(sample);
    patched.writeInt32BE(12345, PARTITION_LEADER_EPOCH_POS);
    patchBaseOffset(patched, 0, 7_000_000_000);
    expect(validateBatch(patched)).toMatchObject({ baseOffset: 7_000_000_000, partitionLeaderEpoch: 12345 });
  });

  it('refuses other magic values', () => {
    for (const magic of [0, 1, 3, 0xff]) {
      const bad = Buffer.from(sample);
      bad[MAGIC_POS] = magic;
      expect(errorNameOf(() => validateBatch(bad))).toBe('CORRUPT_MESSAGE');
    }
  });

  it('refuses absurd lengths without reading out of bounds', () => {
    for (const length of [-1, -2147483648, 0, 48, 2147483647, sample.length]) {
      const bad = Buffer.from(sample);
      bad.writeInt32BE(length, BATCH_LENGTH_POS);
      expect(errorNameOf(() => validateBatch(bad))).toBe('CORRUPT_MESSAGE');
    }
  });

  it('answers MESSAGE_TOO_LARGE above maxBatchBytes, before checking anything costlier', () => {
    expect(validateBatch(sample, 0, sample.length).recordCount).toBe(3);
    expect(errorNameOf(() => validateBatch(sample, 0, sample.length - 1))).toBe('MESSAGE_TOO_LARGE');
    const huge = Buffer.from(sample);
    huge.writeInt32BE(2147483647, BATCH_LENGTH_POS);
    expect(errorNameOf(() => validateBatch(huge, 0, 1024 * 1024))).toBe('MESSAGE_TOO_LARGE');
  });

  /** A copy of `batch` with `edit` applied and the CRC recomputed, so only the semantics are wrong. */
  function resealed(batch: Buffer, edit: (b: Buffer) => void): Buffer {
    const b = Buffer.from(batch);
    edit(b);
    b.writeUInt32BE(crc32c(b, ATTRIBUTES_POS), CRC_POS);
    return b;
  }

  it('checks the header fields the CRC vouches for', () => {
    expect(errorNameOf(() => validateBatch(resealed(sample, (b) => b.writeInt32BE(-1, RECORD_COUNT_POS))))).toBe('CORRUPT_MESSAGE');
    expect(errorNameOf(() => validateBatch(resealed(sample, (b) => b.writeInt32BE(1000, RECORD_COUNT_POS))))).toBe('CORRUPT_MESSAGE');
    expect(errorNameOf(() => validateBatch(resealed(sample, (b) => b.writeInt32BE(1, LAST_OFFSET_DELTA_POS))))).toBe('CORRUPT_MESSAGE');
    expect(errorNameOf(() => validateBatch(resealed(sample, (b) => b.writeInt32BE(-1, LAST_OFFSET_DELTA_POS))))).toBe('CORRUPT_MESSAGE');
    expect(errorNameOf(() => validateBatch(resealed(sample, (b) => b.writeInt16BE(5, ATTRIBUTES_POS))))).toBe('CORRUPT_MESSAGE');
    expect(errorNameOf(() => validateBatch(resealed(sample, (b) => b.writeBigInt64BE(2n ** 62n, MAX_TIMESTAMP_POS))))).toBe('CORRUPT_MESSAGE');
    // A larger lastOffsetDelta than the records need is legal: compacted batches keep gaps.
    expect(validateBatch(resealed(sample, (b) => b.writeInt32BE(9, LAST_OFFSET_DELTA_POS))).lastOffsetDelta).toBe(9);
  });

  it('never lets resealed garbage in the records escape as anything but CORRUPT_MESSAGE', () => {
    const random = rng(2024);
    for (const batch of [sample, gzipSample]) {
      for (let trial = 0; trial < 3000; trial++) {
        const bad = resealed(batch, (b) => {
          const edits = 1 + Math.floor(random() * 4);
          for (let e = 0; e < edits; e++) {
            const pos = RECORDS_POS + Math.floor(random() * (b.length - RECORDS_POS));
            b[pos] = Math.floor(random() * 256);
          }
        });
        try {
          decodeBatch(bad);
        } catch (err) {
          if (!(err instanceof RillError) || err.errorName !== 'CORRUPT_MESSAGE') throw err;
        }
      }
    }
  });

  it('refuses records that do not fill the batch exactly', () => {
    // One byte of trailing junk after the last record, length fixed up and resealed.
    const longer = Buffer.concat([sample, Buffer.from([0])]);
    longer.writeInt32BE(longer.length - LOG_OVERHEAD, BATCH_LENGTH_POS);
    longer.writeUInt32BE(crc32c(longer, ATTRIBUTES_POS), CRC_POS);
    expect(validateBatch(longer).recordCount).toBe(3);
    expect(errorNameOf(() => decodeBatch(longer))).toBe('CORRUPT_MESSAGE');
    // One record fewer than recordCount says.
    expect(errorNameOf(() => decodeBatch(resealed(sample, (b) => b.writeInt32BE(2, RECORD_COUNT_POS))))).toBe('CORRUPT_MESSAGE');
  });
});
