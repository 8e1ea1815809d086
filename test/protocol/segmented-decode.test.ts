/**
 * Reading frames, Fetch payloads and record batches from a chunk list without joining it
 * (frame.ts `pushSegmented`/`SegmentedBytes`, fetch-codec.ts `decodeSegmentedPayload`,
 * record-batch-decode.ts `decodeSegmentedBatchInto`): each must give exactly what the
 * contiguous path gives, however the bytes are cut, and refuse what it refuses.
 */
import { describe, expect, it } from 'vitest';
import { decodeSegmentedPayload, encodeFetchResponseChunks } from '../../protocol/apis/fetch-codec.js';
import { crc32c } from '../../protocol/crc32c.js';
import { RillError } from '../../protocol/errors.js';
import { FrameDecoder, SegmentedBytes, encodeFrameBuffer } from '../../protocol/frame.js';
import { pack, unpack } from '../../protocol/messages.js';
import {
  CRC_POS,
  decodeBatch,
  decodeSegmentedBatchInto,
  encodeBatch,
  type BatchHeader,
  type RecordHeader,
  type RecordInput,
  type RecordSink,
} from '../../protocol/record-batch.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return (s >>> 8) / 0x1000000;
  };
}

/** `buf` cut at `cuts` (sorted positions), each piece a view of `buf`. */
function cutAt(buf: Buffer, cuts: number[]): SegmentedBytes {
  const parts: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    if (c > prev) parts.push(buf.subarray(prev, c));
    prev = Math.max(prev, c);
  }
  return new SegmentedBytes(parts);
}

function randomCuts(length: number, count: number, next: () => number): number[] {
  return Array.from({ length: count }, () => Math.floor(next() * length)).sort((a, b) => a - b);
}

interface Got {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

function collect(): { sink: RecordSink; got: Got[]; headers: BatchHeader[] } {
  const got: Got[] = [];
  const headers: BatchHeader[] = [];
  const sink: RecordSink = {
    begin: (h) => {
      headers.push(h);
      return true;
    },
    record: (offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, hs: RecordHeader[]) => {
      got.push({ offset, timestamp, key: key?.toString('latin1') ?? null, value: value?.toString('latin1') ?? null, headers: hs.map((h) => [h.key, h.value?.toString('latin1') ?? null]) });
    },
  };
  return { sink, got, headers };
}

function expected(batch: Buffer): Got[] {
  return decodeBatch(batch).records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key?.toString('latin1') ?? null,
    value: r.value?.toString('latin1') ?? null,
    headers: r.headers.map((h) => [h.key, h.value?.toString('latin1') ?? null] as [string, string | null]),
  }));
}

function records(count: number, next: () => number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: i % 3 === 0 ? null : `k${i}`,
    value: i % 7 === 0 ? null : Buffer.alloc(1 + Math.floor(next() * 300), i & 0xff),
    headers: i % 2 === 0 ? [] : [{ key: 'trace', value: Buffer.from(`t${i}`) }, { key: 'n', value: null }],
    timestamp: 1_700_000_000_000 + i,
  }));
}

describe('FrameDecoder.pushSegmented', () => {
  it('returns a straddling frame as views of the chunks (no copy), a frame inside one chunk as one view', () => {
    const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    const small = Buffer.from('hello');
    const stream = Buffer.concat([encodeFrameBuffer(small), encodeFrameBuffer(body)]);
    const chunks = [stream.subarray(0, 300), stream.subarray(300, 700), stream.subarray(700)];
    const d = new FrameDecoder(1 << 20);
    const frames = chunks.flatMap((c) => d.pushSegmented(c));
    expect(frames).toHaveLength(2);
    expect(Buffer.isBuffer(frames[0])).toBe(true);
    expect((frames[0] as Buffer).toString()).toBe('hello');
    const seg = frames[1] as SegmentedBytes;
    expect(seg).toBeInstanceOf(SegmentedBytes);
    expect(seg.segments).toHaveLength(3);
    expect(seg.join().equals(body)).toBe(true);
    // Views: writing through the received chunk shows in the frame.
    chunks[1]![10] = 0xee;
    expect(seg.segments[1]![10]).toBe(0xee);
    expect(seg.segments[1]!.buffer).toBe(stream.buffer);
    expect(d.bufferedBytes).toBe(0);
  });

  it('gives the same bytes as push() for every cut of a short stream', () => {
    const bodies = [Buffer.from('a'), Buffer.alloc(40, 7), Buffer.from('bcdef')];
    const stream = Buffer.concat(bodies.map((b) => encodeFrameBuffer(b)));
    for (let cut = 1; cut < stream.length; cut++) {
      for (let cut2 = cut; cut2 < stream.length; cut2 += 5) {
        const d = new FrameDecoder(1024);
        const frames = [stream.subarray(0, cut), stream.subarray(cut, cut2), stream.subarray(cut2)].flatMap((c) => d.pushSegmented(c));
        expect(frames.map((f) => (f instanceof SegmentedBytes ? f.join() : f).toString('hex'))).toEqual(bodies.map((b) => b.toString('hex')));
      }
    }
  });
});

describe('SegmentedBytes', () => {
  it('slices and copies ranges across segments', () => {
    const whole = Buffer.from(Array.from({ length: 50 }, (_, i) => i));
    const s = cutAt(whole, [10, 11, 30]);
    for (let a = 0; a <= 50; a += 3) {
      for (let b = a; b <= 50; b += 7) {
        expect(s.bytes(a, b).equals(whole.subarray(a, b))).toBe(true);
        expect(s.slice(a, b).join().equals(whole.subarray(a, b))).toBe(true);
      }
    }
    // Inside one segment: a view, not a copy.
    expect(s.bytes(12, 20).buffer).toBe(whole.buffer);
  });
});

describe('decodeSegmentedBatchInto', () => {
  it('decodes what decodeBatch decodes, however the batch is cut (headers, null keys and values)', () => {
    const next = rng(7);
    const batch = encodeBatch(records(60, next), { baseOffset: 1000 });
    const want = expected(batch);
    for (let trial = 0; trial < 200; trial++) {
      const cuts = randomCuts(batch.length, 1 + Math.floor(next() * 12), next);
      const { sink, got, headers } = collect();
      const header = decodeSegmentedBatchInto(cutAt(batch, cuts), 0, sink);
      expect(headers).toEqual([header]);
      expect(got).toEqual(want);
    }
  });

  it('cuts inside every byte of the header and of the first records', () => {
    const batch = encodeBatch(records(5, rng(3)));
    const want = expected(batch);
    for (let cut = 1; cut < batch.length; cut++) {
      const { sink, got } = collect();
      decodeSegmentedBatchInto(cutAt(batch, [cut]), 0, sink);
      expect(got).toEqual(want);
    }
  });

  it('keys and values of records inside one segment are views of that segment', () => {
    const batch = encodeBatch([{ value: Buffer.alloc(100, 1) }, { value: Buffer.alloc(100, 2) }, { value: Buffer.alloc(100, 3) }]);
    const values: Buffer[] = [];
    decodeSegmentedBatchInto(cutAt(batch, [150]), 0, { begin: () => true, record: (_o, _t, _k, v) => values.push(v!) });
    expect(values.map((v) => v[0])).toEqual([1, 2, 3]);
    expect(values[0]!.buffer).toBe(batch.buffer);
  });

  it('decodes a compressed batch cut in pieces, with its own codec (not always gzip)', () => {
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const batch = encodeBatch(records(30, rng(5)), { compression });
      const { sink, got } = collect();
      decodeSegmentedBatchInto(cutAt(batch, [20, 61, 100]), 0, sink);
      expect(got).toEqual(expected(batch));
    }
  });

  it('refuses a bad CRC, a truncated batch and trailing garbage in the records, as decodeBatch does', () => {
    const batch = encodeBatch(records(10, rng(9)));
    const flipped = Buffer.from(batch);
    flipped[flipped.length - 3]! ^= 0x40;
    expect(() => decodeSegmentedBatchInto(cutAt(flipped, [70, 200]), 0, collect().sink)).toThrow(/CRC-32C/);
    expect(() => decodeSegmentedBatchInto(cutAt(batch.subarray(0, batch.length - 1), [70]), 0, collect().sink)).toThrow(RillError);
    expect(() => decodeSegmentedBatchInto(cutAt(batch.subarray(0, 40), [20]), 0, collect().sink)).toThrow(/header needs/);
    // A record that claims more bytes than the batch holds, behind a recomputed CRC.
    const lying = Buffer.from(batch);
    lying[61] = 0x7e; // first record's length varint: 63 bytes, longer than it is
    lying.writeUInt32BE(crc32c(lying, 21, lying.length), CRC_POS);
    const contiguous = (() => {
      try {
        decodeBatch(lying);
        return null;
      } catch (err) {
        return err as RillError;
      }
    })();
    expect(contiguous).toBeInstanceOf(RillError);
    expect(() => decodeSegmentedBatchInto(cutAt(lying, [64, 300]), 0, collect().sink)).toThrow(RillError);
  });
});

describe('decodeSegmentedPayload', () => {
  it('decodes a Fetch response as unpack() does, records as views or chunk lists, for any cut', () => {
    const next = rng(11);
    const batchA = encodeBatch(records(20, next));
    const batchB = encodeBatch(records(3, next));
    const response = {
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [
        {
          name: 'tópic',
          partitions: [
            { partition: 0, errorCode: 0, errorMessage: null, highWatermark: 2 ** 40, lastStableOffset: 2 ** 40, logStartOffset: 0, records: batchA },
            { partition: 1, errorCode: 3, errorMessage: 'x'.repeat(40), highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: null },
            { partition: 2, errorCode: 0, errorMessage: null, highWatermark: 5, lastStableOffset: 5, logStartOffset: 0, records: batchB },
          ],
        },
      ],
    };
    const { chunks } = encodeFetchResponseChunks(response);
    const payload = Buffer.concat([Buffer.from([1, 2, 3, 4]), ...chunks]);
    const want = unpack(payload.subarray(4)) as typeof response;
    for (let trial = 0; trial < 60; trial++) {
      const got = decodeSegmentedPayload(cutAt(payload, randomCuts(payload.length, 1 + Math.floor(next() * 8), next)), 4) as typeof response;
      const flat = { ...got, topics: got.topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, records: p.records instanceof SegmentedBytes ? p.records.join() : p.records })) })) };
      expect(flat).toEqual(want);
    }
  });

  it('decodes the other msgpack types unpack() gives, and refuses malformed input', () => {
    const value = { a: [1, -1, -200, 70000, -70000, 2 ** 33, -(2 ** 33), 1.5, true, false, null, 'x'.repeat(300)], b: { c: Buffer.alloc(300, 1) } };
    const bytes = pack(value);
    const got = decodeSegmentedPayload(cutAt(bytes, [3, 9, 200]), 0) as { a: unknown[]; b: { c: Buffer | SegmentedBytes } };
    expect(got.a).toEqual((unpack(bytes) as { a: unknown[] }).a);
    const c = got.b.c;
    expect((c instanceof SegmentedBytes ? c.join() : c).equals(Buffer.alloc(300, 1))).toBe(true);
    expect(() => decodeSegmentedPayload(cutAt(bytes.subarray(0, bytes.length - 2), [5]), 0)).toThrow(/INVALID_REQUEST|ends .* early/);
    expect(() => decodeSegmentedPayload(cutAt(Buffer.concat([bytes, Buffer.from([0])]), [5]), 0)).toThrow(/follow the payload/);
    expect(() => decodeSegmentedPayload(cutAt(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0]), [2]), 0)).toThrow(/array of/);
    expect(() => decodeSegmentedPayload(cutAt(Buffer.from([0xd4, 1, 1]), [1]), 0)).toThrow(/not used by Fetch/);
    expect(() => decodeSegmentedPayload(cutAt(Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0xc0]), [3]), 0)).toThrow(/__proto__/);
  });
});
