/**
 * A broken or hostile client gets a clear error or a closed connection, never a crashed or
 * wedged broker: after every case, a second, well-behaved client on the same broker still
 * produces and fetches.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APIS } from '../../protocol/apis/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { CRC_POS, encodeBatch } from '../../protocol/record-batch.js';
import { encodeRequestFrame, pack } from '../../protocol/messages.js';
import type { BrokerHandle } from '../../broker/index.js';
import { RawClient, type RawResponse } from '../helpers/raw-client.js';
import { Fixture, batch, createTopic, produce, readAll } from '../broker/harness.js';

const fx = new Fixture();
let broker: BrokerHandle;
let healthy: RawClient;
let healthyCount = 0;

beforeEach(async () => {
  broker = await fx.broker({ 'socket.request.max.bytes': 1024 * 1024 });
  healthy = await fx.client(broker, 'healthy');
  await createTopic(healthy, 't', 1);
  healthyCount = 0;
});
afterEach(async () => {
  await fx.cleanup();
});

/** The well-behaved client still gets its work done. */
async function stillHealthy(): Promise<void> {
  const ack = await produce(healthy, 't', 0, batch([`ok-${healthyCount}`]));
  expect(ack).toMatchObject({ errorCode: 0, baseOffset: healthyCount });
  healthyCount++;
  const records = await readAll(healthy, 't', 0);
  expect(records.map((r) => r.value)).toEqual(Array.from({ length: healthyCount }, (_, i) => `ok-${i}`));
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be replayed. */
function randomBytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Resolves with the first response on `client`, or 'closed' if the broker closed instead. */
function firstResponseOrClose(client: RawClient, timeoutMs = 5000): Promise<RawResponse | 'closed'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the broker neither answered nor closed')), timeoutMs);
    const check = setInterval(() => {
      if (client.unsolicited.length > 0) done(client.unsolicited[0]!);
    }, 5);
    const done = (r: RawResponse | 'closed') => {
      clearTimeout(timer);
      clearInterval(check);
      resolve(r);
    };
    void client.closed.then(() => done(client.unsolicited[0] ?? 'closed'));
  });
}

function frameWithBody(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

function requestBody(apiKey: number, apiVersion: number, correlationId: number, payloadBytes: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(apiKey, 0);
  h.writeUInt16BE(apiVersion, 2);
  h.writeUInt32BE(correlationId, 4);
  return Buffer.concat([h, payloadBytes]);
}

describe('bad input', () => {
  it('random bytes: an error or a closed connection', async () => {
    for (const seed of [1, 7, 42, 1234, 99991]) {
      const bad = await RawClient.connect(broker.port);
      bad.sendRaw(randomBytes(seed, 8192));
      bad.socket.end();
      const outcome = await firstResponseOrClose(bad);
      if (outcome !== 'closed') expect((outcome.payload as { errorCode: number }).errorCode).not.toBe(0);
      await bad.close();
      await stillHealthy();
    }
    // Random bodies inside well-formed frames: each is answered with an error or closes.
    for (const seed of [3, 5, 11]) {
      const bad = await RawClient.connect(broker.port);
      const body = randomBytes(seed, 300);
      body.writeUInt16BE(APIS.Fetch.key, 0); // a known API, so the payload itself is what is random
      body.writeUInt16BE(0, 2);
      bad.sendRaw(frameWithBody(body));
      const outcome = await firstResponseOrClose(bad);
      expect(outcome).not.toBe('closed');
      expect((outcome as RawResponse).payload).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
      await bad.close();
      await stillHealthy();
    }
  });

  it('a frame announcing a huge size closes that connection only', async () => {
    const bad = await RawClient.connect(broker.port);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xfffffff0, 0);
    bad.sendRaw(header);
    await bad.closed;
    await stillHealthy();
    // Just over socket.request.max.bytes, too.
    const over = await RawClient.connect(broker.port);
    header.writeUInt32BE(1024 * 1024 + 1, 0);
    over.sendRaw(header);
    await over.closed;
    await stillHealthy();
  });

  it('an empty frame or a body shorter than the request header closes the connection', async () => {
    for (const body of [Buffer.alloc(0), Buffer.from([0, 18, 0])]) {
      const bad = await RawClient.connect(broker.port);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length, 0);
      bad.sendRaw(Buffer.concat([header, body]));
      await bad.closed;
      await stillHealthy();
    }
  });

  it('an unknown API key or version gets UNSUPPORTED_VERSION and the connection stays usable', async () => {
    const client = await fx.client(broker);
    const unknown = await client.requestRaw(999, 0, { anything: true });
    expect(unknown.payload).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_VERSION });
    const version = await client.requestRaw(APIS.Produce.key, 7, { acks: 1 });
    expect(version.payload).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_VERSION });
    expect((version.payload as { errorMessage: string }).errorMessage).toContain('Produce v7');
    // Same connection, a valid request right after.
    const meta = await client.request('Metadata', { topics: ['t'], allowAutoTopicCreation: false });
    expect(meta.topics[0]!.errorCode).toBe(0);
    await stillHealthy();
  });

  it('a payload of the wrong shape: the shared { errorCode, errorMessage } answer on every API, connection kept', async () => {
    const client = await fx.client(broker);
    const fetch = await client.requestRaw(APIS.Fetch.key, 0, { maxWaitMs: 'soon', minBytes: 0, maxBytes: 10, topics: 'all' });
    expect(fetch.payload).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(/^maxWaitMs: /) });
    const versions = await client.requestRaw(APIS.ApiVersions.key, 0, { clientId: 12 });
    expect(versions.payload).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(/^clientId: expected string/) });
    const negative = await client.requestRaw(APIS.InitProducerId.key, 0, { transactionalId: null, transactionTimeoutMs: -5, producerId: -1, producerEpoch: -1 });
    expect(negative.payload).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(/^transactionTimeoutMs: /) });
    const produce = await client.requestRaw(APIS.Produce.key, 0, { acks: 1, timeoutMs: 0, topics: [{ name: 't', partitions: [{ partition: 0, records: 'not bytes' }] }] });
    expect(produce.payload).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(/^topics\[0\]\.partitions\[0\]\.records: /) });
    expect(client.isClosed).toBe(false);
    await stillHealthy();

    // acks 0 is never answered: closing is the only signal the producer gets.
    const closing = await fx.client(broker);
    await expect(closing.requestRaw(APIS.Produce.key, 0, { acks: 0, timeoutMs: 'x', topics: [] })).rejects.toThrow(/closed/);
    await stillHealthy();
  });

  it('a payload that is not msgpack is refused the same way', async () => {
    const client = await fx.client(broker);
    const id = client.takeCorrelationId();
    // 0xc1 is the one byte msgpack never uses.
    const r = await client.requestFrame(id, frameWithBody(requestBody(APIS.Fetch.key, 0, id, Buffer.from([0xc1, 0x00]))));
    expect(r.payload).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
    const id2 = client.takeCorrelationId();
    const truncated = pack({ maxWaitMs: 0, minBytes: 0, maxBytes: 10, topics: [] }).subarray(0, 5);
    const r2 = await client.requestFrame(id2, frameWithBody(requestBody(APIS.Fetch.key, 0, id2, truncated)));
    expect(r2.payload).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
    const empty = client.takeCorrelationId();
    const r3 = await client.requestFrame(empty, frameWithBody(requestBody(APIS.Fetch.key, 0, empty, Buffer.alloc(0))));
    expect(r3.payload).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
    const produce = client.takeCorrelationId();
    const r4 = await client.requestFrame(produce, frameWithBody(requestBody(APIS.Produce.key, 0, produce, Buffer.from([0xc1]))));
    expect(r4.payload).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(/^request: /) });
    await stillHealthy();
  });

  it('record batches with a bad CRC, truncated, or otherwise broken get CORRUPT_MESSAGE per partition', async () => {
    const client = await fx.client(broker);
    const good = encodeBatch([{ key: 'k', value: 'v' }]);
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1]! ^= 0xff;
    const badCrcField = Buffer.from(good);
    badCrcField.writeUInt32BE((badCrcField.readUInt32BE(CRC_POS) + 1) >>> 0, CRC_POS);
    const truncated = good.subarray(0, good.length - 3);
    const headerOnly = good.subarray(0, 30);
    const badMagic = Buffer.from(good);
    badMagic[16] = 1;
    const trailing = Buffer.concat([good, Buffer.from([1, 2, 3])]);
    const cases = { badCrc, badCrcField, truncated, headerOnly, badMagic, trailing };
    const r = await client.request('Produce', {
      acks: -1,
      timeoutMs: 1000,
      topics: [{ name: 't', partitions: Object.values(cases).map((records) => ({ partition: 0, records })) }],
    });
    const codes = r.topics[0]!.partitions.map((p) => p.errorCode);
    expect(codes).toEqual(Object.keys(cases).map(() => ErrorCode.CORRUPT_MESSAGE));
    for (const p of r.topics[0]!.partitions) expect(p.errorMessage).toMatch(/CRC|Truncated|magic|batch/i);
    // Nothing was appended; the connection still works.
    expect((await client.request('ListOffsets', { topics: [{ name: 't', partitions: [{ partition: 0, timestamp: -1 }] }] })).topics[0]!.partitions[0]!.offset).toBe(healthyCount);
    await stillHealthy();
  });

  it('garbage in a pipelined stream affects only that connection', async () => {
    const client = await RawClient.connect(broker.port);
    const ok = encodeRequestFrame(APIS.Metadata.key, 0, 1, { topics: null, allowAutoTopicCreation: false });
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0xffffffff, 0);
    const answered = client.requestFrame(1, Buffer.concat([ok, huge]));
    // The valid request before the garbage may or may not be answered before the close; either way the broker survives.
    await Promise.allSettled([answered]);
    await client.closed;
    await stillHealthy();
  });
});
