/**
 * BatchCrcScout (client/batch-crc-scout.ts): the batches of Fetch answers are CRC-checked as
 * the socket chunks arrive, however the stream is cut (a records key, a bin header, a batch
 * header split across chunks), and recorded under the ArrayBuffer and offset of their first
 * byte; a corrupt batch is not recorded, and the decoder still raises it after the good ones;
 * a decoded answer is the same with and without the scout.
 */
import { describe, expect, it } from 'vitest';
import { BatchCrcScout, verifiedBatch } from '../../client/batch-crc-scout.js';
import { ChunkDecoder } from '../../client/consumer/chunk-decoder.js';
import { CorruptBatchError } from '../../client/errors.js';
import { decodeResponseBody, type FetchedRecords } from '../../client/response-decoder.js';
import { APIS, type ApiDefinition } from '../../protocol/apis/index.js';
import { encodeFetchResponseChunks } from '../../protocol/apis/fetch-codec.js';
import { FrameDecoder } from '../../protocol/frame.js';
import { encodeResponseFrameChunks } from '../../protocol/messages.js';
import { encodeBatch } from '../../protocol/record-batch.js';

const FETCH: ApiDefinition = { name: 'Fetch', ...APIS.Fetch };

/** Two frames (Fetch answers) back to back: 3 partitions of `batches` batches each, and where every batch starts in the wire. */
function wire(batches: number): { bytes: Buffer; batchStarts: Array<{ at: number; batchLength: number }> } {
  const frames: Buffer[] = [];
  for (let f = 0; f < 2; f++) {
    const partitions = [];
    for (let p = 0; p < 3; p++) {
      const list: Buffer[] = [];
      for (let b = 0; b < batches; b++) list.push(encodeBatch(Array.from({ length: 20 + b }, (_, i) => ({ value: Buffer.alloc(30 + i, 0x61 + p) })), { baseOffset: b * 100 }));
      partitions.push({ partition: p, errorCode: 0, errorMessage: null, highWatermark: batches * 100, lastStableOffset: batches * 100, logStartOffset: 0, records: Buffer.concat(list) });
    }
    frames.push(Buffer.concat(encodeResponseFrameChunks(f + 1, encodeFetchResponseChunks({ throttleTimeMs: 0, errorCode: 0, topics: [{ name: 't', partitions }] }))));
  }
  const bytes = Buffer.concat(frames);
  // Each batch starts with its baseOffset and carries magic 2 at +16: find them via the records keys.
  const batchStarts: Array<{ at: number; batchLength: number }> = [];
  for (let k = bytes.indexOf('\xa7records', 0, 'latin1'); k >= 0; k = bytes.indexOf('\xa7records', k + 1, 'latin1')) {
    const marker = bytes[k + 8]!;
    const lengthBytes = marker === 0xc4 ? 1 : marker === 0xc5 ? 2 : 4;
    let at = k + 9 + lengthBytes;
    const end = at + bytes.readUIntBE(k + 9, lengthBytes);
    while (at < end) {
      const batchLength = bytes.readInt32BE(at + 8);
      batchStarts.push({ at, batchLength });
      at += 12 + batchLength;
    }
  }
  return { bytes, batchStarts };
}

/** `bytes` cut into copies of 1..maxPiece bytes (each its own ArrayBuffer, as socket reads are). */
function cut(bytes: Buffer, maxPiece: number, seed: number): Buffer[] {
  let x = seed;
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = Math.min(bytes.length - at, 1 + (x % maxPiece));
    pieces.push(Buffer.from(bytes.subarray(at, at + n)));
    at += n;
  }
  return pieces;
}

/** Where wire position `at` lies: its piece's ArrayBuffer and byte offset. */
function locate(pieces: Buffer[], at: number): { buffer: ArrayBufferLike; byteOffset: number } {
  let base = 0;
  for (const p of pieces) {
    if (at < base + p.length) return { buffer: p.buffer, byteOffset: p.byteOffset + at - base };
    base += p.length;
  }
  throw new Error('past the end');
}

describe('BatchCrcScout', () => {
  for (const [maxPiece, seed] of [[7, 1], [64, 2], [700, 3], [5000, 4], [100_000, 5]] as const) {
    it(`records every batch, pieces of up to ${maxPiece} bytes`, () => {
      const { bytes, batchStarts } = wire(4);
      expect(batchStarts.length).toBe(24);
      const pieces = cut(bytes, maxPiece, seed);
      const scout = new BatchCrcScout();
      for (const p of pieces) scout.push(p);
      for (const { at, batchLength } of batchStarts) {
        const { buffer, byteOffset } = locate(pieces, at);
        expect(verifiedBatch(buffer, byteOffset, batchLength)).toBe(true);
        // Only for that length at that place.
        expect(verifiedBatch(buffer, byteOffset, batchLength + 1)).toBe(false);
        expect(verifiedBatch(buffer, byteOffset + 1, batchLength)).toBe(false);
      }
    });
  }

  it('does not record a corrupt batch; the decoder raises it after the good ones, across chunks', () => {
    const { bytes, batchStarts } = wire(4);
    const bad = batchStarts[2]!; // partition 0's third batch, first frame
    bytes[bad.at + 12 + bad.batchLength - 5] ^= 0xff; // a byte inside its records
    const pieces = cut(bytes, 3000, 9);
    const scout = new BatchCrcScout();
    const frames = new FrameDecoder(64 * 1024 * 1024);
    const bodies = [];
    for (const p of pieces) {
      scout.push(p);
      bodies.push(...frames.pushSegmented(p));
    }
    for (const { at, batchLength } of batchStarts) {
      const { buffer, byteOffset } = locate(pieces, at);
      expect(verifiedBatch(buffer, byteOffset, batchLength)).toBe(at !== bad.at);
    }
    const payload = decodeResponseBody(FETCH, bodies[0]!, true, 'test') as { topics: Array<{ partitions: Array<{ partition: number; records: FetchedRecords }> }> };
    const p0 = payload.topics[0]!.partitions[0]!;
    const out = new ChunkDecoder().decode('t', 0, 0, p0.records);
    expect(out.chunk.count).toBe(20 + 21);
    expect(out.failure).toBeInstanceOf(CorruptBatchError);
    expect((out.failure as CorruptBatchError).message).toMatch(/CRC/);
  });

  it('decodes an answer the same with and without the scout', () => {
    const { bytes } = wire(3);
    const decodeAll = (scouted: boolean): Array<[number, string | undefined]> => {
      const pieces = cut(bytes, 4096, 11);
      const scout = new BatchCrcScout();
      const frames = new FrameDecoder(64 * 1024 * 1024);
      const out: Array<[number, string | undefined]> = [];
      for (const p of pieces) {
        if (scouted) scout.push(p);
        for (const body of frames.pushSegmented(p)) {
          const payload = decodeResponseBody(FETCH, body, true, 'test') as { topics: Array<{ partitions: Array<{ partition: number; records: FetchedRecords }> }> };
          for (const part of payload.topics[0]!.partitions) {
            const { chunk, failure } = new ChunkDecoder().decode('t', part.partition, 0, part.records);
            expect(failure).toBeNull();
            for (const m of chunk.takeRest()) out.push([m.offset, m.value?.toString('latin1')]);
          }
        }
      }
      return out;
    };
    const plain = decodeAll(false);
    expect(plain.length).toBe(2 * 3 * (20 + 21 + 22));
    expect(decodeAll(true)).toEqual(plain);
  });

  it('passes over what is not a Fetch answer, and a records key with no bin after it', () => {
    const scout = new BatchCrcScout();
    const noise = Buffer.concat([Buffer.from('\xa7records\xc0', 'latin1'), Buffer.alloc(1000, 0x5a), Buffer.from('\xa7records\xc4\x03abc', 'latin1')]);
    for (const p of cut(noise, 5, 3)) scout.push(p);
    // A 3-byte bin cannot hold a batch: nothing recorded, nothing thrown, and it goes on scanning.
    const { bytes, batchStarts } = wire(1);
    const pieces = cut(bytes, 999, 5);
    for (const p of pieces) scout.push(p);
    const { buffer, byteOffset } = locate(pieces, batchStarts[0]!.at);
    expect(verifiedBatch(buffer, byteOffset, batchStarts[0]!.batchLength)).toBe(true);
  });
});
