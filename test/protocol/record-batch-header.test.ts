/**
 * The batch-header accessors and patchers (protocol/record-batch-header.ts) against the batches
 * real Kafka brokers stored (test/fixtures/kafka-record-batches): every field reads back as the
 * fixture says, and every patch round-trips to the very same bytes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import {
  BATCH_HEADER_BYTES,
  OFFSET_FIELDS_BYTES,
  RECORDS_POS,
  batchSize,
  patchBaseOffset,
  patchPartitionLeaderEpoch,
  patchProducerState,
  readBaseOffset,
  readBatchHeader,
  readBatchLength,
  readInt64,
  readLastOffset,
  readLastOffsetDelta,
  readMagic,
  readMaxTimestamp,
  readPartitionLeaderEpoch,
  readProducerState,
  readRecordCount,
  rebuildBatch,
  setLogAppendTime,
  timestampTypeOf,
  validateBatch,
  writeInt64,
} from '../../protocol/record-batch.js';

interface FixtureBatch {
  hex: string;
  header: {
    baseOffset: string;
    batchLength: number;
    partitionLeaderEpoch: number;
    magic: number;
    lastOffsetDelta: number;
    maxTimestamp: string;
    producerId: string;
    producerEpoch: number;
    baseSequence: number;
    recordCount: number;
    compression: 'none' | 'gzip';
  };
}

const dir = new URL('../fixtures/kafka-record-batches/', import.meta.url);
const batches: Array<[string, FixtureBatch]> = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((file) => (JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as FixtureBatch[]).map((b, i): [string, FixtureBatch] => [`${file} #${i}`, b]));

/** The fixture batch at position 5 of a larger buffer, to prove accessors honour `pos`. */
function placed(batch: FixtureBatch): { buf: Buffer; pos: number } {
  const bytes = Buffer.from(batch.hex, 'hex');
  return { buf: Buffer.concat([Buffer.alloc(5, 0xee), bytes, Buffer.alloc(3, 0xee)]), pos: 5 };
}

describe.each(batches)('header accessors: %s', (_name, batch) => {
  const h = batch.header;

  it('read every field as the Kafka broker wrote it', () => {
    const { buf, pos } = placed(batch);
    expect(readBaseOffset(buf, pos)).toBe(Number(h.baseOffset));
    expect(readBatchLength(buf, pos)).toBe(h.batchLength);
    expect(batchSize(buf, pos)).toBe(12 + h.batchLength);
    expect(readPartitionLeaderEpoch(buf, pos)).toBe(h.partitionLeaderEpoch);
    expect(readMagic(buf, pos)).toBe(h.magic);
    expect(readLastOffsetDelta(buf, pos)).toBe(h.lastOffsetDelta);
    expect(readLastOffset(buf, pos)).toBe(Number(h.baseOffset) + h.lastOffsetDelta);
    expect(readMaxTimestamp(buf, pos)).toBe(Number(h.maxTimestamp));
    expect(readRecordCount(buf, pos)).toBe(h.recordCount);
    expect(readProducerState(buf, pos)).toEqual({ producerId: Number(h.producerId), producerEpoch: h.producerEpoch, baseSequence: h.baseSequence });
  });

  it('the offset fields alone are enough to size and place a batch', () => {
    const { buf, pos } = placed(batch);
    const prefix = Buffer.from(buf.subarray(pos, pos + OFFSET_FIELDS_BYTES));
    expect(readLastOffset(prefix, 0)).toBe(readLastOffset(buf, pos));
    expect(batchSize(prefix, 0)).toBe(batchSize(buf, pos));
  });

  it('patch baseOffset and partitionLeaderEpoch without touching the CRC or any other byte', () => {
    const { buf, pos } = placed(batch);
    const original = Buffer.from(buf);
    patchBaseOffset(buf, pos, 2 ** 53 - 1 - h.lastOffsetDelta);
    patchPartitionLeaderEpoch(buf, pos, 0x7fffffff);
    expect(readBaseOffset(buf, pos)).toBe(2 ** 53 - 1 - h.lastOffsetDelta);
    expect(readPartitionLeaderEpoch(buf, pos)).toBe(0x7fffffff);
    expect(validateBatch(buf, pos).crc).toBe(readBatchHeader(original, pos).crc);
    // Bytes 0-7 and 12-15 changed; everything else (CRC included) is as it was.
    expect(buf.subarray(pos + 8, pos + 12)).toEqual(original.subarray(pos + 8, pos + 12));
    expect(buf.subarray(pos + 16)).toEqual(original.subarray(pos + 16));
    patchBaseOffset(buf, pos, Number(h.baseOffset));
    patchPartitionLeaderEpoch(buf, pos, h.partitionLeaderEpoch);
    expect(buf).toEqual(original);
  });

  it('patch the producer state and re-seal the CRC; patching it back gives the same bytes', () => {
    const bytes = Buffer.from(batch.hex, 'hex');
    patchProducerState(bytes, { producerId: 2 ** 40 + 7, producerEpoch: 0x7fff, baseSequence: 123_456 });
    expect(readProducerState(bytes)).toEqual({ producerId: 2 ** 40 + 7, producerEpoch: 0x7fff, baseSequence: 123_456 });
    expect(() => validateBatch(bytes)).not.toThrow();
    patchProducerState(bytes, { producerId: Number(h.producerId), producerEpoch: h.producerEpoch, baseSequence: h.baseSequence });
    expect(bytes.toString('hex')).toBe(batch.hex);
  });

  it('stamp LogAppendTime and re-seal the CRC', () => {
    const { buf, pos } = placed(batch);
    setLogAppendTime(buf, pos, 1_700_000_000_123);
    const header = validateBatch(buf, pos);
    expect(timestampTypeOf(header.attributes)).toBe('logAppend');
    expect(header.maxTimestamp).toBe(1_700_000_000_123);
  });

  it('rebuild the batch around its own records to the same bytes, and around none to a valid empty batch', () => {
    const bytes = Buffer.from(batch.hex, 'hex');
    expect(rebuildBatch(bytes, 0, bytes.subarray(RECORDS_POS), h.recordCount).toString('hex')).toBe(batch.hex);
    const empty = rebuildBatch(bytes, 0, Buffer.alloc(0), 0, 0);
    expect(empty.length).toBe(BATCH_HEADER_BYTES);
    expect(validateBatch(empty)).toMatchObject({ baseOffset: Number(h.baseOffset), lastOffsetDelta: h.lastOffsetDelta, recordCount: 0, attributes: 0 });
  });
});

describe('header patchers refuse what the format cannot hold', () => {
  const bytes = Buffer.from(batches[0]![1].hex, 'hex');
  it('range-checks every value before writing anything', () => {
    const before = Buffer.from(bytes);
    expect(() => patchBaseOffset(bytes, 0, 2 ** 53)).toThrow(RangeError);
    expect(() => patchPartitionLeaderEpoch(bytes, 0, 2 ** 31)).toThrow(RangeError);
    expect(() => patchPartitionLeaderEpoch(bytes, 0, 0.5)).toThrow(RangeError);
    expect(() => patchProducerState(bytes, { producerId: 1, producerEpoch: 0x8000, baseSequence: 0 })).toThrow(RangeError);
    expect(() => patchProducerState(bytes, { producerId: 1, producerEpoch: 0, baseSequence: 2 ** 31 })).toThrow(RangeError);
    expect(bytes).toEqual(before);
  });

  it('refuses to re-seal a batch that does not fit its buffer', () => {
    const cut = Buffer.from(bytes.subarray(0, bytes.length - 1));
    expect(() => setLogAppendTime(cut, 0, 1)).toThrow(RillError);
    expect(() => patchProducerState(cut, { producerId: 1, producerEpoch: 0, baseSequence: 0 })).toThrow(RillError);
  });
});

describe('64-bit helpers', () => {
  it('round-trip every safe integer boundary and agree with BigInt', () => {
    const buf = Buffer.alloc(8);
    for (const n of [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 32 - 1, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1), 1_539_644_731_680]) {
      writeInt64(buf, 0, n);
      expect(buf.readBigInt64BE(0)).toBe(BigInt(n));
      expect(readInt64(buf, 0, 'x')).toBe(n);
    }
  });

  it('reads a value beyond 2^53 - 1 as CORRUPT_MESSAGE, naming the field', () => {
    const buf = Buffer.alloc(8);
    for (const n of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      buf.writeBigInt64BE(n, 0);
      expect(() => readInt64(buf, 0, 'producerId')).toThrow(expect.objectContaining({ errorName: 'CORRUPT_MESSAGE', message: expect.stringContaining('producerId') }));
    }
  });
});
