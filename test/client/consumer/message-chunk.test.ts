/**
 * MessageChunk (client/consumer/message-chunk.ts): records held as numbers and positions until
 * delivery, then made into the messages the app receives — real Buffers (views of the buffers
 * the records lie in), null keys and values, header maps, offsets read before delivery, a
 * failed batch dropped, columns that grow and go back to their pool.
 */
import { describe, expect, it } from 'vitest';
import { ColumnPool, MessageChunk } from '../../../client/consumer/message-chunk.js';

/** `data` holding `key`/`value` strings back to back; returns the chunk with one record per pair. */
function chunkOf(pairs: Array<[string | null, string | null]>, pool = new ColumnPool(), capacity = 1): { chunk: MessageChunk; data: Buffer } {
  const data = Buffer.from(pairs.map(([k, v]) => (k ?? '') + (v ?? '')).join(''));
  const chunk = new MessageChunk('orders', 4, capacity, pool);
  let at = 0;
  pairs.forEach(([k, v], i) => {
    const keyLength = k === null ? -1 : k.length;
    const keyStart = at;
    at += Math.max(0, keyLength);
    const valueLength = v === null ? -1 : v.length;
    const valueStart = at;
    at += Math.max(0, valueLength);
    chunk.add(100 + i, 1_700_000_000_000 + i, data, keyStart, keyLength, valueStart, valueLength, i === 1 ? [{ key: 'trace', value: Buffer.from('t1') }] : []);
  });
  return { chunk, data };
}

describe('MessageChunk', () => {
  it('makes each record into a message with topic, partition, offset, timestamp, key/value Buffers and headers', () => {
    const { chunk } = chunkOf([['k0', 'v0'], [null, 'value-1'], ['k2', null]]);
    expect(chunk.count).toBe(3);
    const [m0, m1, m2] = chunk.takeRest();
    expect(m0).toEqual({ topic: 'orders', partition: 4, offset: 100, key: Buffer.from('k0'), value: Buffer.from('v0'), headers: {}, timestamp: 1_700_000_000_000 });
    expect(m1!.key).toBeNull();
    expect(m1!.value!.toString()).toBe('value-1');
    expect(m1!.headers.trace!.toString()).toBe('t1');
    expect(m2!.value).toBeNull();
    expect(m2!.offset).toBe(102);
    expect(m2!.timestamp).toBe(1_700_000_000_002);
  });

  it('gives keys and values that are real Buffers: isBuffer, equals, toString, slicing, JSON', () => {
    const { chunk, data } = chunkOf([['key', 'hello world']]);
    const m = chunk.take();
    const value = m.value!;
    expect(Buffer.isBuffer(value)).toBe(true);
    expect(value).toBeInstanceOf(Buffer);
    expect(value.equals(Buffer.from('hello world'))).toBe(true);
    expect(value.toString('utf8', 6)).toBe('world');
    expect(value.subarray(0, 5).toString()).toBe('hello');
    expect(Buffer.isBuffer(value.subarray(1))).toBe(true);
    expect(JSON.stringify(m.key)).toBe(JSON.stringify(Buffer.from('key')));
    // A view, not a copy: it shares the bytes the record lies in.
    expect(value.buffer).toBe(data.buffer);
  });

  it('reads offsets before delivery and hands records out one at a time or all the rest at once', () => {
    const { chunk } = chunkOf([['a', '1'], ['b', '2'], ['c', '3'], ['d', '4']]);
    expect(chunk.offsetAt(2)).toBe(102);
    expect(chunk.take().offset).toBe(100);
    expect(chunk.next).toBe(1);
    expect(chunk.offsetAt(chunk.next)).toBe(101);
    expect(chunk.takeRest().map((m) => m.key!.toString())).toEqual(['b', 'c', 'd']);
    expect(chunk.next).toBe(chunk.count);
  });

  it('drops the records of a batch that failed midway (truncate), headers included', () => {
    const { chunk, data } = chunkOf([['a', '1'], ['b', '2']]);
    chunk.truncate(1);
    chunk.add(101, 5, data, 0, 1, 1, 1, []);
    const messages = chunk.takeRest();
    expect(messages.map((m) => [m.offset, m.headers])).toEqual([
      [100, {}],
      [101, {}],
    ]);
  });

  it('grows past its first capacity and keeps every record', () => {
    const pairs: Array<[string, string]> = Array.from({ length: 1000 }, (_, i) => [`k${i}`, `value-${i}`]);
    const { chunk } = chunkOf(pairs);
    const messages = chunk.takeRest();
    expect(messages).toHaveLength(1000);
    expect(messages.every((m, i) => m.offset === 100 + i && m.key!.toString() === `k${i}` && m.value!.toString() === `value-${i}`)).toBe(true);
  });

  it('gives its columns back to the pool once every record is a message, and the next chunk reuses them', () => {
    const pool = new ColumnPool();
    const first = chunkOf([['a', '1']], pool, 64).chunk;
    first.take();
    // The released columns still hold the first record's offset (a fresh array would be zeros).
    const reused = pool.get(64 * 7);
    expect(reused[0]).toBe(100);
    pool.put(reused);
    // A chunk over reused (dirty) columns reads back exactly what it was given.
    const { chunk } = chunkOf([['x', 'y'], [null, null]], pool, 64);
    expect(chunk.takeRest().map((m) => [m.offset, m.key?.toString() ?? null, m.value?.toString() ?? null])).toEqual([
      [100, 'x', 'y'],
      [101, null, null],
    ]);
  });

  it('keeps at most a bounded amount of column memory in a pool', () => {
    const pool = new ColumnPool();
    const big = new Float64Array(1024 * 1024); // 8 MiB: the whole bound
    const small = new Float64Array(16);
    pool.put(big);
    pool.put(small); // over the bound: not kept
    expect(pool.get(16)).toBe(big);
    const next = pool.get(16);
    expect(next).not.toBe(small);
    expect(next).toHaveLength(16);
  });

  it('makes views of records in buffers that start inside a larger ArrayBuffer, several buffers in one chunk', () => {
    const slab = Buffer.alloc(64, 0x2e);
    slab.write('AAkey1val1', 7);
    slab.write('key2val2', 40);
    const first = slab.subarray(7, 17);
    const second = slab.subarray(40, 48);
    const chunk = new MessageChunk('t', 0, 1, new ColumnPool());
    chunk.add(0, 1, first, 2, 4, 6, 4, []);
    chunk.add(1, 2, second, 0, 4, 4, 4, []);
    chunk.add(2, 3, first, 2, 0, 6, -1, []);
    const [a, b, c] = chunk.takeRest();
    expect([a!.key!.toString(), a!.value!.toString()]).toEqual(['key1', 'val1']);
    expect([b!.key!.toString(), b!.value!.toString()]).toEqual(['key2', 'val2']);
    expect(c!.key!.length).toBe(0);
    expect(c!.value).toBeNull();
    expect(Buffer.isBuffer(a!.value)).toBe(true);
    // Views, not copies: they see the bytes they were made from.
    slab[13] = 0x56;
    expect(a!.value!.toString()).toBe('Val1');
  });
});
