import { afterEach, describe, expect, it } from 'vitest';
import type { RecordAccumulator } from '../../../client/producer/accumulator.js';
import type { Rill } from '../../../client/index.js';
import { TestEnv } from '../../integration/harness.js';

/** Every record of a one-partition topic, read back from offset 0. */
async function readAll(rill: Rill, topic: string, count: number): Promise<Array<{ key: string | null; value: string | null; headers: Record<string, string>; timestamp: number }>> {
  const consumer = rill.consumer({ maxWaitMs: 100 });
  consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
  const out: Array<{ key: string | null; value: string | null; headers: Record<string, string>; timestamp: number }> = [];
  for await (const m of consumer) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers)) headers[k] = v === null || v === undefined ? '<null>' : v.toString();
    out.push({ key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, headers, timestamp: m.timestamp });
    if (out.length === count) break;
  }
  await consumer.close();
  return out;
}

describe('send(): records encoded into the batch as appended', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('writes string, Buffer and Uint8Array keys/values, headers and timestamps as given', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'shapes', numPartitions: 1 }] });
    const seen: Array<{ key: Buffer | null; value: Buffer | null }> = [];
    const producer = rill.producer({
      lingerMs: 0,
      partitioner: ({ key, value }) => {
        seen.push({ key, value });
        return 0;
      },
    });
    await producer.send({
      topic: 'shapes',
      messages: [
        { key: 'ключ', value: 'ünïcødé ✓', headers: { a: 'x', b: Buffer.from('y') }, timestamp: 1_600_000_000_000 },
        { key: Buffer.from('k2'), value: new Uint8Array([104, 105]) as Buffer },
        { value: null, timestamp: 1_500_000_000_000 },
        { key: '', value: '' },
      ],
    });
    await producer.close();
    // A custom partitioner is still given Buffers, whatever the message held.
    expect(seen.map((s) => [s.key?.toString() ?? null, s.value?.toString() ?? null])).toEqual([
      ['ключ', 'ünïcødé ✓'],
      ['k2', 'hi'],
      [null, null],
      ['', ''],
    ]);
    const got = await readAll(rill, 'shapes', 4);
    expect(got.map((r) => [r.key, r.value, r.headers])).toEqual([
      ['ключ', 'ünïcødé ✓', { a: 'x', b: 'y' }],
      ['k2', 'hi', {}],
      [null, null, {}],
      ['', '', {}],
    ]);
    // Timestamps earlier than the batch's first are kept (signed deltas).
    expect(got[0]!.timestamp).toBe(1_600_000_000_000);
    expect(got[2]!.timestamp).toBe(1_500_000_000_000);
  });

  it('refuses bad messages with INVALID_RECORD / INVALID_TIMESTAMP naming the message, and frees their memory', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'bad', numPartitions: 1 }] });
    const producer = rill.producer({ lingerMs: 0 });
    await producer.send({ topic: 'bad', messages: [{ value: 'ok' }] });
    const accumulator = (producer as unknown as { accumulator: RecordAccumulator }).accumulator;
    const cases: Array<[unknown, RegExp]> = [
      [{ value: 42 }, /message 0: value must be a Buffer, a string or null/],
      [{ key: { k: 1 }, value: 'v' }, /message 0: key must be/],
      [{ value: 'v', headers: { h: 7 } }, /message 0: header 'h' must be/],
      [{ value: 'v', headers: 'nope' }, /message 0: headers must be an object/],
      [{ value: 'v', timestamp: -5 }, /message 0: timestamp must be ms since the epoch/],
      [null, /message 0 must be an object/],
    ];
    for (const [message, error] of cases) {
      await expect(producer.send({ topic: 'bad', messages: [message as never] })).rejects.toThrow(error);
    }
    await producer.flush();
    expect(accumulator.bufferedBytes).toBe(0);
    await producer.send({ topic: 'bad', messages: [{ value: 'after' }] });
    await producer.close();
    expect((await readAll(rill, 'bad', 2)).map((r) => r.value)).toEqual(['ok', 'after']);
  });

  it('re-encodes a batch without the records of an aborted send: the others arrive intact', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'hole', numPartitions: 1 }] });
    const producer = rill.producer({ lingerMs: 60_000 });
    const primed = producer.send({ topic: 'hole', messages: [{ value: 'first' }] });
    await producer.flush();
    await primed;
    const before = producer.send({ topic: 'hole', messages: [{ key: 'b', value: 'before', headers: { n: '1' } }] });
    const controller = new AbortController();
    const aborted = producer.send({ topic: 'hole', messages: [{ value: 'x1' }, { value: Buffer.alloc(500, 120) }] }, { signal: controller.signal });
    const after = producer.send({ topic: 'hole', messages: [{ value: 'after-1' }, { key: 'a', value: 'after-2' }] });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    await producer.flush();
    expect((await before).map((m) => m.offset)).toEqual([1]);
    expect((await after).map((m) => m.offset)).toEqual([2, 3]);
    await producer.close();
    const got = await readAll(rill, 'hole', 4);
    expect(got.map((r) => [r.key, r.value, r.headers])).toEqual([
      [null, 'first', {}],
      ['b', 'before', { n: '1' }],
      [null, 'after-1', {}],
      ['a', 'after-2', {}],
    ]);
  });
});
