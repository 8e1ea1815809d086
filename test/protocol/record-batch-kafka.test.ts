/**
 * Kafka compatibility: batches that real Kafka brokers stored (test/fixtures/kafka-record-batches,
 * see its README for where they come from) decode to the expected header and records, pass
 * validation, and the uncompressed ones re-encode to the very same bytes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../protocol/crc32c.js';
import {
  ATTRIBUTES_POS,
  compressionOf,
  decodeBatch,
  decodeBatches,
  encodeBatch,
  readBatchHeader,
  timestampTypeOf,
  validateBatch,
  type BatchHeader,
  type RecordInput,
} from '../../protocol/record-batch.js';

interface FixtureBatch {
  hex: string;
  header: {
    baseOffset: string;
    batchLength: number;
    partitionLeaderEpoch: number;
    magic: number;
    crc: number;
    attributes: number;
    compression: 'none' | 'gzip';
    timestampType: 'CreateTime' | 'LogAppendTime';
    transactional: boolean;
    control: boolean;
    lastOffsetDelta: number;
    baseTimestamp: string;
    maxTimestamp: string;
    producerId: string;
    producerEpoch: number;
    baseSequence: number;
    recordCount: number;
  };
  records: Array<{ offset: string; timestamp: string; key: string | null; value: string | null; headers: Array<[string, string | null]> }>;
}

const dir = new URL('../fixtures/kafka-record-batches/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

function load(file: string): FixtureBatch[] {
  return JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as FixtureBatch[];
}

function expectedHeader(h: FixtureBatch['header']): BatchHeader {
  return {
    baseOffset: Number(h.baseOffset),
    batchLength: h.batchLength,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    magic: h.magic,
    crc: h.crc,
    attributes: h.attributes,
    lastOffsetDelta: h.lastOffsetDelta,
    baseTimestamp: Number(h.baseTimestamp),
    maxTimestamp: Number(h.maxTimestamp),
    producerId: Number(h.producerId),
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    recordCount: h.recordCount,
  };
}

function expectedRecords(batch: FixtureBatch): unknown[] {
  return batch.records.map((r) => ({
    offset: Number(r.offset),
    timestamp: Number(r.timestamp),
    key: r.key === null ? null : Buffer.from(r.key, 'utf8'),
    value: r.value === null ? null : Buffer.from(r.value, 'utf8'),
    headers: r.headers.map(([key, value]) => ({ key, value: value === null ? null : Buffer.from(value, 'utf8') })),
  }));
}

describe('Kafka RecordBatch v2 fixtures', () => {
  it('holds the four fixture files', () => {
    expect(files).toEqual([
      'gzip-log-append-time.json',
      'gzip-two-batches.json',
      'headers-uncompressed.json',
      'java-producer-uncompressed.json',
    ]);
  });

  describe.each(files)('%s', (file) => {
    const batches = load(file);

    it('has a valid CRC-32C over attributes..end', () => {
      for (const batch of batches) {
        const buf = Buffer.from(batch.hex, 'hex');
        expect(crc32c(buf, ATTRIBUTES_POS)).toBe(batch.header.crc);
        expect(validateBatch(buf)).toEqual(expectedHeader(batch.header));
      }
    });

    it('decodes to the expected header and records', () => {
      for (const batch of batches) {
        const buf = Buffer.from(batch.hex, 'hex');
        const decoded = decodeBatch(buf);
        expect(decoded.header).toEqual(expectedHeader(batch.header));
        expect(readBatchHeader(buf)).toEqual(decoded.header);
        expect(decoded.records).toEqual(expectedRecords(batch));
        expect(compressionOf(decoded.header.attributes)).toBe(batch.header.compression);
        expect(timestampTypeOf(decoded.header.attributes)).toBe(batch.header.timestampType === 'LogAppendTime' ? 'logAppend' : 'create');
        expect((decoded.header.attributes & 0x10) !== 0).toBe(batch.header.transactional);
        expect((decoded.header.attributes & 0x20) !== 0).toBe(batch.header.control);
      }
    });

    it('decodes all batches of the file concatenated, as a fetch response carries them', () => {
      const all = Buffer.concat(batches.map((b) => Buffer.from(b.hex, 'hex')));
      const decoded = decodeBatches(all);
      expect(decoded.map((d) => d.header)).toEqual(batches.map((b) => expectedHeader(b.header)));
      expect(decoded.flatMap((d) => d.records)).toEqual(batches.flatMap(expectedRecords));
      // Cut anywhere inside the last batch: the partial batch is ignored, the rest decodes.
      const lastSize = batches[batches.length - 1]!.hex.length / 2;
      for (const cut of [1, 12, 61, lastSize - 1]) {
        expect(decodeBatches(all.subarray(0, all.length - cut))).toHaveLength(batches.length - 1);
      }
    });

    it('re-encodes: byte for byte when uncompressed, to the same records when gzip', () => {
      for (const batch of batches) {
        const h = batch.header;
        const records: RecordInput[] = batch.records.map((r) => ({
          key: r.key,
          value: r.value,
          timestamp: Number(r.timestamp),
          headers: r.headers.map(([key, value]) => ({ key, value: value === null ? null : Buffer.from(value, 'utf8') })),
        }));
        const logAppend = h.timestampType === 'LogAppendTime';
        const encoded = encodeBatch(records, {
          baseOffset: Number(h.baseOffset),
          partitionLeaderEpoch: h.partitionLeaderEpoch,
          producerId: Number(h.producerId),
          producerEpoch: h.producerEpoch,
          baseSequence: h.baseSequence,
          compression: h.compression,
          timestampType: logAppend ? 'logAppend' : 'create',
          isTransactional: h.transactional,
          isControl: h.control,
          now: Number(h.maxTimestamp),
        });
        if (h.compression === 'none') {
          expect(encoded.toString('hex')).toBe(batch.hex);
        } else {
          const decoded = decodeBatch(encoded);
          // The CRC and length depend on the compressor's output. A LogAppendTime batch's records
          // decode with the append time, so re-encoding them moves baseTimestamp there too.
          const { crc: _crc, batchLength: _length, ...fields } = decoded.header;
          const { crc: _c, batchLength: _l, ...expected } = expectedHeader(h);
          if (logAppend) expected.baseTimestamp = Number(h.maxTimestamp);
          expect(fields).toEqual(expected);
          expect(decoded.records).toEqual(expectedRecords(batch));
        }
      }
    });
  });
});
