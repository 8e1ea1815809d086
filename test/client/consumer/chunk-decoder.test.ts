/**
 * ChunkDecoder (client/consumer/chunk-decoder.ts): fetched bytes into a MessageChunk whose
 * messages (made when delivered: `takeRest`) are what the app receives, with the edge cases a fetch answer brings — records below the fetch
 * offset, control batches, a trailing partial batch, and a corrupt batch after good ones.
 */
import { describe, expect, it } from 'vitest';
import { ChunkDecoder, RECORD_ACCOUNTING_OVERHEAD_BYTES } from '../../../client/consumer/chunk-decoder.js';
import { CorruptBatchError } from '../../../client/errors.js';
import { SegmentedBytes } from '../../../protocol/frame.js';
import { CRC_POS, encodeBatch } from '../../../protocol/record-batch.js';

function batch(baseOffset: number, values: string[], opts: { isControl?: boolean } = {}): Buffer {
  return encodeBatch(
    values.map((v, i) => ({ key: `k${i}`, value: v, headers: i === 0 ? { h: 'x' } : undefined, timestamp: 1_000 + i })),
    { baseOffset, now: 1_000, ...opts },
  );
}

/** decode() with the chunk's messages made at once, as run()'s eachBatch delivery makes them. */
function decode(topic: string, partition: number, fetchOffset: number, records: Buffer | SegmentedBytes) {
  const out = new ChunkDecoder().decode(topic, partition, fetchOffset, records);
  return { ...out, messages: out.chunk.takeRest() };
}

describe('ChunkDecoder', () => {
  it('decodes every record of back-to-back batches into one message each, with topic, partition, offset, key, value, headers, timestamp', () => {
    const records = Buffer.concat([batch(0, ['a', 'b']), batch(2, ['c'])]);
    const out = decode('t', 3, 0, records);
    expect(out.failure).toBeNull();
    expect(out.wholeBatches).toBe(2);
    expect(out.nextOffset).toBe(3);
    expect(out.messages.map((m) => [m.topic, m.partition, m.offset, m.key?.toString(), m.value?.toString(), m.timestamp])).toEqual([
      ['t', 3, 0, 'k0', 'a', 1_000],
      ['t', 3, 1, 'k1', 'b', 1_001],
      ['t', 3, 2, 'k0', 'c', 1_000],
    ]);
    expect(out.messages[0]!.headers.h!.toString()).toBe('x');
    expect(out.messages[1]!.headers).toEqual({});
    expect(out.bytes).toBe(3 * RECORD_ACCOUNTING_OVERHEAD_BYTES + 2 + 1 + 2 + 1 + 2 + 1);
  });

  it('skips records below the fetch offset and whole batches below it', () => {
    const records = Buffer.concat([batch(0, ['a', 'b']), batch(2, ['c', 'd', 'e'])]);
    const out = decode('t', 0, 3, records);
    expect(out.messages.map((m) => m.offset)).toEqual([3, 4]);
    expect(out.nextOffset).toBe(5);
  });

  it('skips control batches but moves past them', () => {
    const records = Buffer.concat([batch(0, ['a']), batch(1, ['marker'], { isControl: true }), batch(2, ['b'])]);
    const out = decode('t', 0, 0, records);
    expect(out.messages.map((m) => m.value?.toString())).toEqual(['a', 'b']);
    expect(out.nextOffset).toBe(3);
  });

  it('leaves a trailing partial batch for the next fetch, and reports when nothing whole came back', () => {
    const first = batch(0, ['a']);
    const second = batch(1, ['b', 'c']);
    const cut = Buffer.concat([first, second.subarray(0, second.length - 5)]);
    const out = decode('t', 0, 0, cut);
    expect(out.messages.map((m) => m.offset)).toEqual([0]);
    expect(out.nextOffset).toBe(1);
    const none = decode('t', 0, 1, second.subarray(0, 30));
    expect(none.wholeBatches).toBe(0);
    expect(none.messages).toEqual([]);
  });

  it('keeps the records before a corrupt batch, none of it, and returns a CorruptBatchError with its offsets', () => {
    const bad = batch(2, ['c', 'd']);
    bad.writeUInt32BE((bad.readUInt32BE(CRC_POS) ^ 1) >>> 0, CRC_POS);
    const records = Buffer.concat([batch(0, ['a', 'b']), bad, batch(4, ['e'])]);
    const out = decode('t', 1, 0, records);
    expect(out.messages.map((m) => m.offset)).toEqual([0, 1]);
    expect(out.nextOffset).toBe(2);
    expect(out.failure).toBeInstanceOf(CorruptBatchError);
    expect(out.failure).toMatchObject({ topic: 't', partition: 1, baseOffset: 2, lastOffset: 3 });
  });

  it('skips a corrupt batch wholly below the fetch offset (the app sought past it)', () => {
    const bad = batch(0, ['a', 'b']);
    bad.writeUInt32BE((bad.readUInt32BE(CRC_POS) ^ 1) >>> 0, CRC_POS);
    const out = decode('t', 0, 2, Buffer.concat([bad, batch(2, ['c'])]));
    expect(out.failure).toBeNull();
    expect(out.messages.map((m) => m.offset)).toEqual([2]);
  });

  describe('records that arrived in several socket chunks (SegmentedBytes, never joined)', () => {
    /** `buf` cut at every `every` bytes, each piece a view of it, as the socket's chunks would be. */
    function chunks(buf: Buffer, every: number, offset = 0): SegmentedBytes {
      const parts: Buffer[] = [];
      let prev = 0;
      for (let at = offset > 0 ? offset : every; at < buf.length; at += every) {
        parts.push(buf.subarray(prev, at));
        prev = at;
      }
      parts.push(buf.subarray(prev));
      return new SegmentedBytes(parts);
    }
    const summary = (out: ReturnType<typeof decode>): unknown[] =>
      out.messages.map((m) => [m.offset, m.key?.toString() ?? null, m.value?.toString() ?? null, Object.keys(m.headers), m.timestamp]);

    it('gives the same messages, offsets and accounting as one buffer, wherever the cuts fall', () => {
      const records = Buffer.concat([batch(0, ['a', 'bb', 'ccc']), batch(3, ['d'.repeat(200), 'e']), batch(5, ['f', 'g', 'h', 'i'])]);
      const whole = decode('t', 2, 1, records);
      for (const every of [7, 13, 61, 64, 100, 250]) {
        for (const offset of [1, 3, 29, 62]) {
          const out = decode('t', 2, 1, chunks(records, every, offset));
          expect(summary(out)).toEqual(summary(whole));
          expect([out.bytes, out.nextOffset, out.wholeBatches, out.failure]).toEqual([whole.bytes, whole.nextOffset, whole.wholeBatches, null]);
        }
      }
    });

    it('leaves a trailing partial batch and raises a corrupt batch after the good ones, as with one buffer', () => {
      const bad = batch(2, ['c', 'd']);
      bad.writeUInt32BE((bad.readUInt32BE(CRC_POS) ^ 1) >>> 0, CRC_POS);
      const good = batch(0, ['a', 'b']);
      const corrupt = decode('t', 1, 0, chunks(Buffer.concat([good, bad, batch(4, ['e'])]), 50));
      expect(corrupt.messages.map((m) => m.offset)).toEqual([0, 1]);
      expect(corrupt.failure).toBeInstanceOf(CorruptBatchError);
      expect(corrupt.failure).toMatchObject({ topic: 't', partition: 1, baseOffset: 2, lastOffset: 3 });
      const second = batch(2, ['x', 'y']);
      const partial = decode('t', 1, 0, chunks(Buffer.concat([good, second.subarray(0, second.length - 4)]), 33));
      expect(partial.messages.map((m) => m.offset)).toEqual([0, 1]);
      expect(partial.nextOffset).toBe(2);
      expect(partial.failure).toBeNull();
    });
  });
});
