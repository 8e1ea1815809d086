/**
 * The record codecs (protocol/compression/): known answers from implementations rill did not
 * write, round trips, Kafka's framings, and bounded decompression.
 *
 * Known answers:
 *   - snappy: a batch a Kafka broker stored and served (KafkaJS's fetch fixture
 *     v4_response_snappy.json, MIT): its records are one raw snappy block; the same block in
 *     snappy-java's xerial framing, built by hand from that framing's description;
 *   - lz4 and zstd: the records section of test/fixtures/kafka-record-batches/
 *     headers-uncompressed.json compressed by the reference CLIs (lz4 v1.9.4, zstd v1.5.4:
 *     `lz4 -c`, `lz4 -c -BD -BX --content-size FILE`, `zstd -c` from stdin, `zstd -c -19 FILE`);
 *   - gzip: Kafka's gzip batches are covered by record-batch-kafka.test.ts.
 * Where the CLIs are installed, rill's own lz4 and zstd output is also decompressed by them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  COMPRESSION_TYPES,
  MAX_DECOMPRESSED_BYTES,
  codecId,
  compressRecords,
  decompressRecords,
  decompressionLimitBytes,
  type Codec,
} from '../../protocol/compression/index.js';
import { RillError } from '../../protocol/errors.js';
import {
  ATTRIBUTES_POS,
  RECORDS_POS,
  compressionOf,
  decodeBatch,
  encodeBatch,
  rebuildBatch,
  validateBatch,
} from '../../protocol/record-batch.js';
import { PRODUCED_BATCH_RULES, checkBatchRecords } from '../../protocol/record-validation.js';

const CODECS: Codec[] = ['gzip', 'snappy', 'lz4', 'zstd'];

/** A batch a Kafka broker served with attributes 2 (snappy): one record, raw snappy records. */
const KAFKA_SNAPPY_BATCH = Buffer.from(
  '000000000000000000000062000000000297ef6eaa00020000000000000168b91290b100000168b91290b1ffffffffffffffff0000000000000000000130445e0000000e6b65792d3134394476616c7565010a642d323031392d30322d30345431353a31333a34382e3138375a00',
  'hex',
);

const fixture = JSON.parse(readFileSync(new URL('../fixtures/kafka-record-batches/headers-uncompressed.json', import.meta.url), 'utf8')) as Array<{ hex: string }>;
const PLAIN_BATCH = Buffer.from(fixture[0]!.hex, 'hex');
const PLAIN_RECORDS = PLAIN_BATCH.subarray(RECORDS_POS);

const REFERENCE: Array<{ codec: Codec; what: string; hex: string }> = [
  { codec: 'lz4', what: 'lz4 CLI defaults (4 MiB blocks, content checksum)', hex: '04224d186440a758000000f111660000000a6b65792d3018736f6d652d76616c75652d3002186865616465722d1b00131c0d00031d004166000002340018313400193134001a3134005131660000043400183234001932340016323400506c75652d320000000011975752' },
  { codec: 'lz4', what: 'lz4 CLI with linked blocks, block checksums and content size', hex: '04224d187c409c00000000000000a958000000f111660000000a6b65792d3018736f6d652d76616c75652d3002186865616465722d1b00131c0d00031d004166000002340018313400193134001a3134005131660000043400183234001932340016323400506c75652d328e3675110000000011975752' },
  { codec: 'zstd', what: 'zstd CLI streaming (no content size, checksum)', hex: '28b52ffd04586d02001403660000000a6b65792d3018736f6d652d76616c75652d3002186865616465722d1c660000023131313166000004323232320b004016701c6006da076401c7016657b504ca054c77e1c27c022dae95fa' },
  { codec: 'zstd', what: 'zstd CLI -19 (single segment, content size)', hex: '28b52ffd249c4d0200e402660000000a6b65792d3018736f6d652d76616c75652d3002186865616465722d1c660000023131313104323232320c2050e31db2380eb3560247668794efa511d003182fbc654f2dae95fa' },
];

/** The plain fixture batch with `records` as its records section and `codec` in its attributes. */
function withRecords(codec: Codec, records: Buffer): Buffer {
  const attributes = (PLAIN_BATCH.readInt16BE(ATTRIBUTES_POS) & ~0x07) | codecId(codec);
  return rebuildBatch(PLAIN_BATCH, 0, records, PLAIN_BATCH.readInt32BE(57), attributes);
}

function errorOf(fn: () => unknown): RillError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RillError) return err;
    throw err;
  }
  throw new Error('expected a RillError');
}

/** Data that compresses well but not trivially: repeated JSON-ish records with a counter. */
function sample(bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const s = `{"id":${i},"user":"user-${i % 97}","event":"click","path":"/items/${(i * 7919) % 1000}"}`;
    parts.push(s);
    n += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

function random(bytes: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

describe('known answers from other implementations', () => {
  it('decodes the snappy batch a Kafka broker served (raw snappy block)', () => {
    expect(compressionOf(validateBatch(KAFKA_SNAPPY_BATCH).attributes)).toBe('snappy');
    const { records } = decodeBatch(KAFKA_SNAPPY_BATCH);
    expect(records).toHaveLength(1);
    expect(records[0]!.key!.toString()).toBe('key-149');
    expect(records[0]!.value!.toString()).toBe('value-149-2019-02-04T15:13:48.187Z');
  });

  it('decodes the same records in snappy-java xerial framing', () => {
    const raw = KAFKA_SNAPPY_BATCH.subarray(RECORDS_POS);
    const length = Buffer.alloc(4);
    length.writeInt32BE(raw.length);
    const xerial = Buffer.concat([Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]), length, raw]);
    const batch = rebuildBatch(KAFKA_SNAPPY_BATCH, 0, xerial, 1);
    expect(decodeBatch(batch).records[0]!.value!.toString()).toBe('value-149-2019-02-04T15:13:48.187Z');
    // Several chunks concatenate.
    const twice = Buffer.concat([xerial, length, raw]);
    expect(decompressRecords('snappy', twice, 1024, 'test')).toEqual(Buffer.concat([decompressRecords('snappy', raw, 1024, 'test'), decompressRecords('snappy', raw, 1024, 'test')]));
  });

  for (const ref of REFERENCE) {
    it(`decodes records compressed by the ${ref.what}`, () => {
      const compressed = Buffer.from(ref.hex, 'hex');
      expect(decompressRecords(ref.codec, compressed, 1 << 20, 'test')).toEqual(PLAIN_RECORDS);
      const batch = withRecords(ref.codec, compressed);
      expect(decodeBatch(batch).records).toEqual(decodeBatch(PLAIN_BATCH).records);
      expect(checkBatchRecords(batch, 0, validateBatch(batch), PRODUCED_BATCH_RULES)).toBeNull();
    });
  }
});

describe('round trips', () => {
  const inputs: Array<[string, Buffer]> = [
    ['one byte', Buffer.from('x')],
    ['a small text', sample(300)],
    ['200 KiB of records (several lz4 blocks, snappy chunks, zstd blocks)', sample(200 * 1024)],
    ['100 KiB of random bytes (stored blocks)', random(100 * 1024, 7)],
  ];
  for (const codec of CODECS) {
    for (const [what, raw] of inputs) {
      it(`${codec}: ${what}`, () => {
        const compressed = compressRecords(codec, raw);
        // Buffer.equals: vitest's deep equality is slow on large buffers.
        expect(decompressRecords(codec, compressed, raw.length, 'test').equals(raw)).toBe(true);
      });
    }
    it(`${codec}: encodeBatch and decodeBatch agree, with headers and nulls`, () => {
      const input = Array.from({ length: 50 }, (_, i) => ({ key: i % 5 === 0 ? null : `k${i}`, value: i % 7 === 0 ? null : `value-${i}`.repeat(20), headers: [{ key: 'h', value: Buffer.from(`${i}`) }], timestamp: 1_700_000_000_000 + i }));
      const batch = encodeBatch(input, { compression: codec });
      expect(compressionOf(validateBatch(batch).attributes)).toBe(codec);
      expect(batch.length).toBeLessThan(encodeBatch(input).length);
      const { records } = decodeBatch(batch);
      expect(records.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers[0]!.value!.toString()])).toEqual(input.map((r, i) => [r.key, r.value, `${i}`]));
    });
  }
});

describe("Kafka's framings", () => {
  it('snappy is written in xerial framing with 32 KiB chunks', () => {
    const out = compressRecords('snappy', sample(70 * 1024));
    expect(out.subarray(0, 16)).toEqual(Buffer.from('82534e415050590000000001' + '00000001', 'hex'));
    let pos = 16;
    let chunks = 0;
    while (pos < out.length) {
      pos += 4 + out.readInt32BE(pos);
      chunks++;
    }
    expect(pos).toBe(out.length);
    expect(chunks).toBe(3);
  });

  it('lz4 is one frame with independent 64 KiB blocks and no checksums but the header one', () => {
    const out = compressRecords('lz4', sample(150 * 1024));
    expect(out.readUInt32LE(0)).toBe(0x184d2204);
    expect(out[4]).toBe(0x60);
    expect(out[5]).toBe(0x40);
    expect(out.readUInt32LE(out.length - 4)).toBe(0);
  });

  it('zstd is a standard frame', () => {
    expect(compressRecords('zstd', sample(1000)).readUInt32LE(0)).toBe(0xfd2fb528);
  });

  const cli = (name: string): boolean => existsSync(`/usr/bin/${name}`);
  it.skipIf(!cli('lz4'))('the reference lz4 CLI decompresses rill\'s lz4 frames', () => {
    const raw = sample(150 * 1024);
    expect(execFileSync('lz4', ['-d', '-c'], { input: compressRecords('lz4', raw), maxBuffer: 1 << 24 }).equals(raw)).toBe(true);
  });
  it.skipIf(!cli('zstd'))('the reference zstd CLI decompresses rill\'s zstd frames', () => {
    const raw = sample(150 * 1024);
    expect(execFileSync('zstd', ['-d', '-c'], { input: compressRecords('zstd', raw), maxBuffer: 1 << 24 }).equals(raw)).toBe(true);
  });
});

describe('bounded decompression', () => {
  it('derives the limit from max.message.bytes, within a hard ceiling', () => {
    expect(decompressionLimitBytes(1_048_588)).toBe(1_048_588 * 64);
    expect(decompressionLimitBytes(100 * 1024 * 1024)).toBe(MAX_DECOMPRESSED_BYTES);
    expect(decompressionLimitBytes(Number.POSITIVE_INFINITY)).toBe(MAX_DECOMPRESSED_BYTES);
  });

  for (const codec of CODECS) {
    it(`${codec}: output past the limit is CORRUPT_MESSAGE, output at the limit is fine`, () => {
      const raw = Buffer.alloc(2 * 1024 * 1024, 0x61);
      const compressed = compressRecords(codec, raw);
      expect(compressed.length).toBeLessThan(raw.length / 20);
      const err = errorOf(() => decompressRecords(codec, compressed, raw.length - 1, 'Record batch at position 0'));
      expect(err.errorName).toBe('CORRUPT_MESSAGE');
      expect(err.message).toMatch(/limit of \d+/);
      expect(decompressRecords(codec, compressed, raw.length, 'test').length).toBe(raw.length);
    });
  }

  it('snappy: a block declaring 4 GiB is refused before anything is allocated', () => {
    const bomb = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61]);
    expect(errorOf(() => decompressRecords('snappy', bomb, MAX_DECOMPRESSED_BYTES, 'test')).message).toMatch(/declare 4294967295/);
  });

  it('zstd: a frame of RLE blocks inflating to 1 GiB is refused (hand-built, 32 KiB)', () => {
    const blocks = 8192; // 8192 x 128 KiB = 1 GiB
    const frame = Buffer.alloc(6 + blocks * 4);
    frame.writeUInt32LE(0xfd2fb528, 0);
    frame[4] = 0x00; // no content size, no checksum, no dictionary
    frame[5] = 0x58; // window 2^(10+11) = 2 MiB
    for (let i = 0; i < blocks; i++) {
      const header = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
      frame.writeUIntLE(header, 6 + i * 4, 3);
      frame[6 + i * 4 + 3] = 0x61;
    }
    const err = errorOf(() => decompressRecords('zstd', frame, 64 * 1024 * 1024, 'test'));
    expect(err.errorName).toBe('CORRUPT_MESSAGE');
    expect(err.message).toMatch(/limit/);
    // The same frame with a smaller count of blocks decompresses: it is a valid frame.
    const small = Buffer.concat([frame.subarray(0, 6 + 4 * 3)]);
    small.writeUIntLE(((128 * 1024) << 3) | 2 | 1, 6 + 2 * 4, 3);
    expect(decompressRecords('zstd', small, 1 << 20, 'test').equals(Buffer.alloc(3 * 128 * 1024, 0x61))).toBe(true);
  });

  it('zstd: a frame whose window libzstd cannot take, or that needs a dictionary, is refused cleanly', () => {
    const frame = Buffer.from('28b52ffd00f8' + '010000', 'hex'); // window 2^41, one empty raw last block
    expect(errorOf(() => decompressRecords('zstd', frame, 1 << 20, 'test')).message).toMatch(/window 2\^41/);
    const withDict = Buffer.from('28b52ffd210100' + '010000', 'hex'); // single segment, dictionary id 1
    expect(errorOf(() => decompressRecords('zstd', withDict, 1 << 20, 'test')).errorName).toBe('CORRUPT_MESSAGE');
    // The decoder still works afterwards.
    expect(decompressRecords('zstd', compressRecords('zstd', Buffer.from('ok')), 10, 'test').toString()).toBe('ok');
  });

  it('zstd: a frame declaring a content size past the limit is refused', () => {
    const frame = compressRecords('zstd', Buffer.alloc(1000, 1));
    expect(errorOf(() => decompressRecords('zstd', frame, 999, 'test')).message).toMatch(/declare 1000/);
  });

  it('a gzip bomb stops at the limit', () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    expect(errorOf(() => decompressRecords('gzip', bomb, 1024 * 1024, 'test')).message).toMatch(/limit of 1048576/);
  });

  it('a produced batch that inflates past the topic limit fails validation with CORRUPT_MESSAGE', () => {
    const batch = encodeBatch([{ value: Buffer.alloc(3 * 1024 * 1024) }], { compression: 'zstd' });
    const header = validateBatch(batch);
    expect(errorOf(() => checkBatchRecords(batch, 0, header, PRODUCED_BATCH_RULES, 1024 * 1024)).errorName).toBe('CORRUPT_MESSAGE');
    expect(checkBatchRecords(batch, 0, header, PRODUCED_BATCH_RULES, 4 * 1024 * 1024)).toBeNull();
  });
});

describe('corrupt compressed data', () => {
  const good = sample(5000);
  for (const codec of CODECS) {
    it(`${codec}: truncated or flipped data is CORRUPT_MESSAGE, never a crash`, () => {
      const compressed = compressRecords(codec, good);
      for (const cut of [1, 7, Math.floor(compressed.length / 2), compressed.length - 1]) {
        let result: Buffer | null = null;
        try {
          result = decompressRecords(codec, compressed.subarray(0, cut), 1 << 20, 'test');
        } catch (err) {
          expect((err as RillError).errorName).toBe('CORRUPT_MESSAGE');
        }
        if (result !== null) expect(result.equals(good)).toBe(false);
      }
      const batch = encodeBatch([{ value: good }], { compression: codec });
      // Flip bytes inside the records section and reseal the CRC: the decoder refuses, the
      // record walk finds the damage, or (snappy and lz4 carry no checksum here) records decode;
      // nothing else may happen.
      for (const at of [RECORDS_POS + 2, RECORDS_POS + 10, batch.length - 3]) {
        const damaged = Buffer.from(batch);
        damaged[at] = damaged[at]! ^ 0x5a;
        const resealed = rebuildBatch(damaged, 0, damaged.subarray(RECORDS_POS), 1);
        try {
          expect(decodeBatch(resealed).records.length).toBe(1);
        } catch (err) {
          expect(err).toBeInstanceOf(RillError);
        }
      }
    });
  }

  it('lz4: a block whose match reaches before the data, or a bad header checksum, is refused', () => {
    const frame = Buffer.from('04224d186440a70a0000001f61010000ffff00000000', 'hex');
    frame.writeUInt32LE(0, frame.length - 4); // keep the end mark
    expect(errorOf(() => decompressRecords('lz4', frame, 1 << 20, 'test')).message).toMatch(/lz4/);
    const badHeader = compressRecords('lz4', good);
    badHeader[6] = badHeader[6]! ^ 1;
    expect(errorOf(() => decompressRecords('lz4', badHeader, 1 << 20, 'test')).message).toMatch(/header fails its checksum/);
  });

  it('codec ids 5-7 are CORRUPT_MESSAGE; every name maps to its id', () => {
    expect(COMPRESSION_TYPES.map(codecId)).toEqual([0, 1, 2, 3, 4]);
    for (const codec of [5, 6, 7]) expect(errorOf(() => compressionOf(codec)).errorName).toBe('CORRUPT_MESSAGE');
  });
});
