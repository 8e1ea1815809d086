import { describe, expect, it } from 'vitest';
import { encodeFetchResponseChunks } from '../../protocol/apis/fetch-codec.js';
import { encodeProduceRequestChunks } from '../../protocol/apis/produce-codec.js';
import { MsgpackChunkWriter } from '../../protocol/msgpack-chunks.js';
import { decodeResponse, encodeResponseFrame, encodeResponseFrameChunks, pack, unpack } from '../../protocol/messages.js';

function join(chunks: Buffer[]): Buffer {
  return Buffer.concat(chunks);
}

describe('MsgpackChunkWriter', () => {
  it('writes integers of every width that decode exactly, int64/uint64 for wide ones (never float64)', () => {
    const values = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 1_796_104_685_456, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1];
    for (const v of values) {
      const w = new MsgpackChunkWriter();
      w.int(v);
      const { chunks, totalBytes } = w.finish();
      const bytes = join(chunks);
      expect(bytes.length).toBe(totalBytes);
      expect([0xca, 0xcb]).not.toContain(bytes[0]);
      // As small as msgpackr's own encoding.
      expect(bytes.length).toBeLessThanOrEqual(pack(v).length);
      expect(unpack(bytes)).toBe(v);
    }
    expect(() => new MsgpackChunkWriter().int(1.5)).toThrow(RangeError);
  });

  it('writes strings, maps, arrays and nil that decode as msgpackr wrote them', () => {
    const long = 'x'.repeat(300);
    const w = new MsgpackChunkWriter(16);
    w.mapHeader(4).str('a').str('é').str('long').str(long).str('list').arrayHeader(17);
    for (let i = 0; i < 17; i++) w.int(i);
    w.str('none').nil();
    const bytes = join(w.finish().chunks);
    const value = { a: 'é', long, list: Array.from({ length: 17 }, (_, i) => i), none: null };
    expect(unpack(bytes)).toEqual(unpack(pack(value)));
  });

  it('hands bin values over as their own chunk, uncopied', () => {
    const small = Buffer.from([1, 2, 3]);
    const mid = Buffer.alloc(300, 9);
    const big = Buffer.alloc(70_000, 5);
    const w = new MsgpackChunkWriter();
    w.arrayHeader(4).bin(small).bin(mid).bin(big).bin(Buffer.alloc(0));
    const { chunks, totalBytes } = w.finish();
    expect(chunks).toContain(small);
    expect(chunks).toContain(mid);
    expect(chunks).toContain(big);
    const bytes = join(chunks);
    expect(bytes.length).toBe(totalBytes);
    expect(unpack(bytes)).toEqual([small, mid, big, Buffer.alloc(0)]);
  });
});

describe('encodeProduceRequestChunks', () => {
  it('decodes to the same Produce request as the generic msgpack path, batches uncopied', () => {
    const b1 = Buffer.alloc(1000, 1);
    const b2 = Buffer.alloc(70_000, 2);
    const b3 = Buffer.alloc(10, 3);
    const request = {
      acks: -1 as const,
      timeoutMs: 30_000,
      topics: [
        { name: 'orders', partitions: [{ partition: 0, records: b1 }, { partition: 7, records: b2 }] },
        { name: 'a-topic-name-longer-than-thirty-one-characters', partitions: [{ partition: 300, records: b3 }] },
      ],
    };
    const { chunks, totalBytes } = encodeProduceRequestChunks(request);
    for (const b of [b1, b2, b3]) expect(chunks).toContain(b);
    const bytes = join(chunks);
    expect(bytes.length).toBe(totalBytes);
    expect(unpack(bytes)).toEqual(unpack(pack(request)));
    expect(unpack(bytes)).toEqual(request);
  });

  it('matches a known-answer fixture', () => {
    const b = Buffer.from([0xaa, 0xbb]);
    const { chunks } = encodeProduceRequestChunks({ acks: 1, timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partition: 2, records: b }] }] });
    const hex = Buffer.concat(chunks).toString('hex');
    const expected =
      '83' + 'a461636b73' + '01' + 'a974696d656f75744d73' + 'cd03e8' + 'a6746f70696373' + '91' +
      '82' + 'a46e616d65' + 'a174' + 'aa706172746974696f6e73' + '91' +
      '82' + 'a9706172746974696f6e' + '02' + 'a77265636f726473' + 'c402' + 'aabb';
    expect(hex).toBe(expected);
  });
});

describe('encodeFetchResponseChunks', () => {
  it('decodes to the same Fetch response as the generic path: null records and messages, int64 offsets, batches uncopied', () => {
    const batch = Buffer.alloc(5000, 4);
    const response = {
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partition: 0, errorCode: 0, errorMessage: null, highWatermark: 1_796_104_685_456, lastStableOffset: 1_796_104_685_456, logStartOffset: 0, records: batch },
            { partition: 1, errorCode: 0, errorMessage: null, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, records: Buffer.alloc(0) },
            { partition: 2, errorCode: 1, errorMessage: 'Offset 9 is outside [0, 3]', highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: null },
          ],
        },
      ],
    };
    const payload = encodeFetchResponseChunks(response);
    expect(payload.chunks).toContain(batch);
    const frame = encodeResponseFrameChunks(77, payload);
    const whole = Buffer.concat(frame);
    expect(whole.readUInt32BE(0)).toBe(whole.length - 4);
    const decoded = decodeResponse(whole.subarray(4));
    const generic = decodeResponse(encodeResponseFrame(77, response).subarray(4));
    expect(decoded.correlationId).toBe(77);
    expect(decoded.payload).toEqual(generic.payload);
  });
});
