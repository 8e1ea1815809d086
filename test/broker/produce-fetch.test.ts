import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { decodeBatches, encodeBatch } from '../../protocol/record-batch.js';
import { Fixture, batch, createTopic, fetchOnce, produce, readAll } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('Produce', () => {
  it('acks 1 and -1 answer with consecutive base offsets and the data reads back byte for byte', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    const a = await produce(client, 't', 0, batch(['a0', 'a1', 'a2']), 1);
    const b = await produce(client, 't', 0, batch([{ key: 'k', value: 'b0', headers: { h: 'v' } }]), -1);
    expect(a).toMatchObject({ errorCode: 0, errorMessage: null, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 });
    expect(b).toMatchObject({ errorCode: 0, baseOffset: 3 });
    const records = await readAll(client, 't', 0);
    expect(records.map((r) => [r.offset, r.key, r.value])).toEqual([
      [0, null, 'a0'],
      [1, null, 'a1'],
      [2, null, 'a2'],
      [3, 'k', 'b0'],
    ]);
    const raw = (await fetchOnce(client, 't', 0, 3)).records as Buffer;
    const decoded = decodeBatches(raw);
    expect(decoded[0]!.records[0]!.headers).toEqual([{ key: 'h', value: Buffer.from('v') }]);
  });

  it('acks 0 gets no response at all, and the records are appended', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    for (let i = 0; i < 5; i++) client.sendNoResponse('Produce', { acks: 0, timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partition: 0, records: batch([`v${i}`]) }] }] });
    // Offsets follow request order, and responses leave in request order: this acked produce
    // lands after the five, and once it is answered any acks-0 answer would have arrived too.
    const acked = await produce(client, 't', 0, batch(['v5']), -1);
    expect(acked.baseOffset).toBe(5);
    expect(client.unsolicited).toEqual([]);
    expect((await readAll(client, 't', 0)).map((r) => r.value)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
  });

  it('acks 0 to an unknown partition closes the connection (the only way to tell the producer)', async () => {
    const broker = await fx.broker({ 'auto.create.topics.enable': false });
    const client = await fx.client(broker);
    client.sendNoResponse('Produce', { acks: 0, timeoutMs: 1000, topics: [{ name: 'missing', partitions: [{ partition: 0, records: batch(['x']) }] }] });
    await client.closed;
    expect(client.unsolicited).toEqual([]);
  });

  it('auto-creates unknown topics on produce with num.partitions, or refuses when disabled', async () => {
    const on = await fx.broker({ 'num.partitions': 4 });
    const c1 = await fx.client(on);
    expect((await produce(c1, 'fresh', 3, batch(['x'])))).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(on.context.topics.get('fresh')!.partitions).toBe(4);
    expect((await produce(c1, 'fresh', 4, batch(['x']))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce(c1, '__not_there', 0, batch(['x']))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // The group coordinator created __consumer_offsets; clients may not write it.
    expect((await produce(c1, '__consumer_offsets', 0, batch([{ key: 'k', value: 'v' }]))).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await produce(c1, 'bad!name', 0, batch(['x']))).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);

    const off = await fx.broker({ 'auto.create.topics.enable': false });
    const c2 = await fx.client(off);
    expect((await produce(c2, 'fresh', 0, batch(['x']))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(off.context.topics.get('fresh')).toBeUndefined();
  });

  it('keeps pipelined produces to a topic being auto-created in order', async () => {
    const broker = await fx.broker({ 'num.partitions': 1 });
    const client = await fx.client(broker);
    // An idempotent producer's batches to new topics, pipelined: request i carries sequence
    // i/2 for new-a or new-b (alternating, so each request creates or waits on a different
    // topic) and sequence i for new-c. Any reordering would fail with OUT_OF_ORDER_SEQUENCE_NUMBER.
    const sends = [];
    for (let i = 0; i < 20; i++) {
      const side = i % 2 === 0 ? 'new-a' : 'new-b';
      const enc = encodeBatch([{ value: `${side}${i >> 1}` }], { producerId: i % 2 === 0 ? 1 : 2, producerEpoch: 0, baseSequence: i >> 1 });
      const c = encodeBatch([{ value: `c${i}` }], { producerId: 3, producerEpoch: 0, baseSequence: i });
      sends.push(client.request('Produce', { acks: -1, timeoutMs: 1000, topics: [{ name: side, partitions: [{ partition: 0, records: enc }] }, { name: 'new-c', partitions: [{ partition: 0, records: c }] }] }));
    }
    const responses = await Promise.all(sends);
    for (const r of responses) for (const t of r.topics) expect(t.partitions[0]!.errorCode).toBe(0);
    expect((await readAll(client, 'new-c', 0)).map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
    expect((await readAll(client, 'new-a', 0)).map((r) => r.value)).toEqual(Array.from({ length: 10 }, (_, i) => `new-a${i}`));
  });

  it('stamps LogAppendTime on topics configured for it', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 'lat', 1, { 'message.timestamp.type': 'LogAppendTime' });
    const before = Date.now();
    const r = await produce(client, 'lat', 0, batch([{ value: 'x', timestamp: 1000 }]));
    expect(r.logAppendTimeMs).toBeGreaterThanOrEqual(before);
    const [rec] = await readAll(client, 'lat', 0);
    expect(rec!.timestamp).toBe(r.logAppendTimeMs);
  });

  it('compacted topics refuse records without keys (INVALID_RECORD), and accept keyed ones', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 'state', 1, { 'cleanup.policy': 'compact' });
    expect((await produce(client, 'state', 0, batch([{ key: 'a', value: '1' }, { key: null, value: '2' }]))).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await produce(client, 'state', 0, batch([{ key: 'a', value: '1' }, { key: 'b', value: null }]))).errorCode).toBe(0);
    expect((await readAll(client, 'state', 0)).map((r) => [r.key, r.value])).toEqual([['a', '1'], ['b', null]]);
  });

  it('accepts gzip batches (decoded to validate) and several batches in one blob', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 'z', 1);
    const blob = Buffer.concat([encodeBatch([{ value: 'g0' }, { value: 'g1' }], { compression: 'gzip' }), encodeBatch([{ value: 'p0' }])]);
    expect(await produce(client, 'z', 0, blob)).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect((await readAll(client, 'z', 0)).map((r) => [r.offset, r.value])).toEqual([[0, 'g0'], [1, 'g1'], [2, 'p0']]);
  });

  it('refuses transactional batches and batches with offset gaps', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    const tx = encodeBatch([{ value: 'x' }], { producerId: 5, producerEpoch: 0, baseSequence: 0, isTransactional: true });
    expect((await produce(client, 't', 0, tx)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    const gap = encodeBatch([{ value: 'a', offset: 0 }, { value: 'b', offset: 5 }]);
    expect((await produce(client, 't', 0, gap)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const empty = await client.request('Produce', { acks: -1, timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partition: 0, records: Buffer.alloc(0) }] }] });
    expect(empty.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});

describe('Fetch', () => {
  it('reads many partitions in one request within partitionMaxBytes and maxBytes, whole batches only', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    const partitions = 8;
    await createTopic(client, 'many', partitions);
    // Each partition: 10 batches of one ~1 KB record.
    const value = 'v'.repeat(1000);
    const oneBatch = batch([value]).length;
    const produceReq = { acks: -1 as const, timeoutMs: 1000, topics: [{ name: 'many', partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p, records: Buffer.concat(Array.from({ length: 10 }, (_, i) => batch([`${value}`], { now: 1000 + i }))) })) }] };
    const pr = await client.request('Produce', produceReq);
    expect(pr.topics[0]!.partitions.map((p) => p.errorCode)).toEqual(Array(partitions).fill(0));

    // partitionMaxBytes bounds each partition to 3 whole batches.
    const fetchAllParts = (partitionMaxBytes: number, maxBytes: number) =>
      client.request('Fetch', { maxWaitMs: 0, minBytes: 0, maxBytes, topics: [{ name: 'many', partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p, fetchOffset: 0, partitionMaxBytes })) }] });
    const r1 = await fetchAllParts(oneBatch * 3 + 10, 64 * 1024 * 1024);
    for (const p of r1.topics[0]!.partitions) {
      expect(p).toMatchObject({ errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0 });
      expect(decodeBatches(p.records as Buffer)).toHaveLength(3);
      expect((p.records as Buffer).length).toBe(oneBatch * 3);
    }
    // maxBytes bounds the response: partitions fill in order until it is spent.
    const r2 = await fetchAllParts(oneBatch * 4, oneBatch * 6);
    const counts = r2.topics[0]!.partitions.map((p) => decodeBatches(p.records as Buffer).length);
    expect(counts).toEqual([4, 2, 0, 0, 0, 0, 0, 0]);
    for (const p of r2.topics[0]!.partitions) expect(p.highWatermark).toBe(10);
    // KIP-74: a first batch larger than every limit still comes back, alone.
    const r3 = await fetchAllParts(10, 10);
    expect(r3.topics[0]!.partitions.map((p) => decodeBatches(p.records as Buffer).length)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('returns the batch holding a mid-batch offset, empty records at the end, OFFSET_OUT_OF_RANGE beyond', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    await produce(client, 't', 0, batch(['0', '1', '2', '3']));
    const mid = await fetchOnce(client, 't', 0, 2);
    expect(decodeBatches(mid.records as Buffer)[0]!.header.baseOffset).toBe(0);
    const end = await fetchOnce(client, 't', 0, 4);
    expect(end).toMatchObject({ errorCode: 0, highWatermark: 4 });
    expect((end.records as Buffer).length).toBe(0);
    const beyond = await fetchOnce(client, 't', 0, 5);
    expect(beyond).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: 4, logStartOffset: 0, records: null });
    const unknown = await fetchOnce(client, 't', 1, 0);
    expect(unknown.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
