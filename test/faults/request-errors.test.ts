/**
 * Bad requests get an answer, not a dropped connection: every payload that fails its API's
 * schema is answered with the shared { errorCode, errorMessage } shape (the code INVALID_REQUEST
 * or the field's own, the message naming the field), and the connection stays usable. Fields
 * Kafka lets a client leave out may be left out. Topic names follow one rule, answered
 * INVALID_TOPIC_EXCEPTION per topic.
 */
import { execFileSync } from 'node:child_process';
import { Unpackr } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APIS, allApis, isRequestErrorResponse, validateResponse, type ApiName } from '../../protocol/apis/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { BrokerHandle } from '../../broker/index.js';
import { DEBIAN_PYTHON, requireTool } from '../helpers/outside-tools.js';
import { RawClient, type RawResponse } from '../helpers/raw-client.js';
import { Fixture, batch, createTopic, produce } from '../broker/harness.js';

const fx = new Fixture();
let broker: BrokerHandle;
let client: RawClient;

beforeEach(async () => {
  broker = await fx.broker({ 'num.partitions': 3 });
  client = await fx.client(broker);
  await createTopic(client, 't', 1);
});
afterEach(async () => {
  await fx.cleanup();
});

/** Sends `payload` as API `name`; expects the shared request-error answer and a live connection. */
async function expectRequestError(name: ApiName, payload: unknown, code: number, message: RegExp): Promise<void> {
  const r = await client.requestRaw(APIS[name].key, 0, payload);
  expect(r.payload).toEqual({ errorCode: code, errorMessage: expect.stringMatching(message) });
  const versions = await client.request('ApiVersions', { clientId: 'after' });
  expect(versions.errorCode).toBe(0);
}

async function answer(name: ApiName, payload: unknown): Promise<Record<string, unknown>> {
  const r = await client.requestRaw(APIS[name].key, 0, payload);
  expect(isRequestErrorResponse(r.payload), JSON.stringify(r.payload)).toBe(false);
  expect(validateResponse(APIS[name] as never, r.payload)).toBeNull();
  return r.payload as Record<string, unknown>;
}

describe('bad requests get an answer', () => {
  it('CreateTopics with configs null, a list or numbers: INVALID_REQUEST naming topics[0].configs', async () => {
    for (const configs of [null, ['retention.ms', '1'], { 'retention.ms': 1000 }]) {
      await expectRequestError('CreateTopics', { topics: [{ name: 'c', numPartitions: 1, replicationFactor: 1, configs }] }, ErrorCode.INVALID_REQUEST, /^topics\[0\]\.configs/);
    }
  });

  it('CreateTopics with timeoutMs of the wrong type names it', async () => {
    await expectRequestError('CreateTopics', { topics: [], timeoutMs: 'soon' }, ErrorCode.INVALID_REQUEST, /^timeoutMs: expected integer/);
  });

  it('Produce with acks 2: INVALID_REQUIRED_ACKS; records as a msgpack str: INVALID_REQUEST', async () => {
    await expectRequestError('Produce', { acks: 2, timeoutMs: 1000, topics: [] }, ErrorCode.INVALID_REQUIRED_ACKS, /^acks: expected one of 0 \| 1 \| -1, got 2/);
    await expectRequestError(
      'Produce',
      { acks: 1, timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partition: 0, records: 'abc' }] }] },
      ErrorCode.INVALID_REQUEST,
      /^topics\[0\]\.partitions\[0\]\.records: /,
    );
  });

  it('ListOffsets with a timestamp of 5.5 or 2^60 names the timestamp', async () => {
    for (const timestamp of [5.5, 2 ** 60]) {
      await expectRequestError('ListOffsets', { topics: [{ name: 't', partitions: [{ partition: 0, timestamp }] }] }, ErrorCode.INVALID_REQUEST, /^topics\[0\]\.partitions\[0\]\.timestamp: /);
    }
  });

  it('a required field missing is named', async () => {
    await expectRequestError('Fetch', { maxWaitMs: 0, minBytes: 0, maxBytes: 100 }, ErrorCode.INVALID_REQUEST, /^topics: required field is missing/);
    await expectRequestError('OffsetCommit', { groupId: 'g', topics: [{ name: 't', partitions: [{ partition: 0 }] }] }, ErrorCode.INVALID_REQUEST, /^topics\[0\]\.partitions\[0\]\.committedOffset: required/);
  });

  it('every API answers an empty or wrong-typed payload with its response or the shared shape, and the connection stays', async () => {
    for (const def of allApis()) {
      for (const payload of [{}, 'nonsense', [1, 2]]) {
        const r = await client.requestRaw(def.key, 0, payload);
        const ok = isRequestErrorResponse(r.payload) || validateResponse(def, r.payload) === null;
        expect(ok, `${def.name} ${JSON.stringify(payload)} → ${JSON.stringify(r.payload)}`).toBe(true);
        if (isRequestErrorResponse(r.payload)) expect(r.payload.errorMessage.length).toBeGreaterThan(0);
      }
    }
    expect(client.isClosed).toBe(false);
  });
});

describe('optional fields, as in Kafka', () => {
  it('Metadata without allowAutoTopicCreation auto-creates (default true) with num.partitions', async () => {
    const md = (await answer('Metadata', { topics: ['auto'] })) as { topics: Array<{ errorCode: number; partitions: unknown[] }> };
    expect(md.topics[0]).toMatchObject({ errorCode: 0 });
    expect(md.topics[0]!.partitions).toHaveLength(3);
  });

  it('CreateTopics without timeoutMs, validateOnly, configs or numPartitions uses the defaults and reports the count', async () => {
    const r = await answer('CreateTopics', { topics: [{ name: 'defaults' }] });
    expect(r.topics).toEqual([{ name: 'defaults', errorCode: 0, errorMessage: null, numPartitions: 3 }]);
    const minusOne = await answer('CreateTopics', { topics: [{ name: 'minus', numPartitions: -1, replicationFactor: -1 }], validateOnly: true });
    expect(minusOne.topics).toEqual([{ name: 'minus', errorCode: 0, errorMessage: null, numPartitions: 3 }]);
  });

  it('OffsetCommit without committedMetadata (or memberId/memberEpoch) is a simple commit', async () => {
    let r: Record<string, unknown> = {};
    for (let attempt = 0; attempt < 50; attempt++) {
      r = await answer('OffsetCommit', { groupId: 'g', topics: [{ name: 't', partitions: [{ partition: 0, committedOffset: 0 }] }] });
      const code = (r as { topics: Array<{ partitions: Array<{ errorCode: number }> }> }).topics[0]!.partitions[0]!.errorCode;
      if (code !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && code !== ErrorCode.COORDINATOR_NOT_AVAILABLE) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(r.topics).toEqual([{ name: 't', partitions: [{ partition: 0, errorCode: 0, errorMessage: null }] }]);
    const fetched = await client.request('OffsetFetch', { groupId: 'g' });
    expect(fetched.topics).toEqual([{ name: 't', partitions: [{ partition: 0, committedOffset: 0, metadata: null, errorCode: 0 }] }]);
  });
});

describe('topic names: one rule, INVALID_TOPIC_EXCEPTION per topic', () => {
  const BAD = ['', 'a'.repeat(300), '..', '.', 'has space', 'slash/name'];

  it('CreateTopics, DeleteTopics, Metadata, DescribeConfigs answer each bad name with a message', async () => {
    const created = await client.request('CreateTopics', { topics: BAD.map((name) => ({ name, numPartitions: 1 })) });
    for (const t of created.topics) expect(t, t.name).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: expect.stringMatching(/^Topic name/) });
    expect(created.topics.find((t) => t.name.length === 300)!.errorMessage).toMatch(/300 characters long; the maximum is 249/);
    const deleted = await client.request('DeleteTopics', { topics: BAD });
    for (const t of deleted.topics) expect(t.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const md = await client.request('Metadata', { topics: BAD, allowAutoTopicCreation: true });
    for (const t of md.topics) expect(t.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const configs = await client.request('DescribeConfigs', { resources: BAD.map((resourceName) => ({ resourceType: 'topic' as const, resourceName })) });
    for (const r of configs.resources) expect(r.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('Produce, ListOffsets and Fetch answer a bad name per partition, with errorMessage', async () => {
    const long = 'a'.repeat(300);
    const p = await client.request('Produce', { acks: 1, timeoutMs: 1000, topics: [{ name: long, partitions: [{ partition: 0, records: batch(['x']) }] }] });
    expect(p.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: expect.stringMatching(/maximum is 249/) });
    const lo = await client.request('ListOffsets', { topics: [{ name: '', partitions: [{ partition: 0, timestamp: -1 }] }] });
    expect(lo.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: 'Topic name is empty' });
    const f = await client.request('Fetch', { maxWaitMs: 0, minBytes: 0, maxBytes: 1000, topics: [{ name: '..', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 100 }] }] });
    expect(f.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: expect.stringMatching(/not allowed/) });
    // A legal but missing partition says which.
    const missing = await client.request('ListOffsets', { topics: [{ name: 't', partitions: [{ partition: 7, timestamp: -1 }] }] });
    expect(missing.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: expect.stringMatching(/partition 7 does not exist/) });
  });
});

describe('64-bit integers are msgpack integers on the wire', () => {
  // int64AsType 'bigint' turns int64/uint64 into BigInt and leaves float64 a number: a
  // timestamp that decodes as a number here was sent as a float.
  const strict = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });
  const decode = (r: RawResponse): unknown => strict.unpack(r.body.subarray(4));

  it('ListOffsets timestamp and Produce logAppendTimeMs', async () => {
    await createTopic(client, 'append-time', 1, { 'message.timestamp.type': 'LogAppendTime' });
    const sent = await client.requestRaw(APIS.Produce.key, 0, { acks: 1, timeoutMs: 1000, topics: [{ name: 'append-time', partitions: [{ partition: 0, records: batch(['x']) }] }] });
    const produced = decode(sent) as { topics: Array<{ partitions: Array<{ logAppendTimeMs: unknown }> }> };
    expect(typeof produced.topics[0]!.partitions[0]!.logAppendTimeMs).toBe('bigint');

    const createTime = Date.now();
    await produce(client, 't', 0, batch([{ value: 'v', timestamp: createTime }]));
    const r = await client.requestRaw(APIS.ListOffsets.key, 0, { topics: [{ name: 't', partitions: [{ partition: 0, timestamp: 0 }] }] });
    const listed = decode(r) as { topics: Array<{ partitions: Array<{ timestamp: unknown; offset: unknown }> }> };
    expect(listed.topics[0]!.partitions[0]!.timestamp).toBe(BigInt(createTime));
    // Small values stay small integers; the SDK's decoder reads them all as numbers.
    expect(listed.topics[0]!.partitions[0]!.offset).toBe(0);
    expect((r.payload as { topics: Array<{ partitions: Array<{ timestamp: unknown }> }> }).topics[0]!.partitions[0]!.timestamp).toBe(createTime);
  });

  it.runIf(requireTool('python3-msgpack-crc32c'))('Python reads the timestamps and offsets as int, not float', async () => {
    const createTime = 1796104685456;
    await produce(client, 't', 0, batch([{ value: 'v', timestamp: createTime }]));
    const r = await client.requestRaw(APIS.ListOffsets.key, 0, { topics: [{ name: 't', partitions: [{ partition: 0, timestamp: 0 }] }] });
    const script = 'import sys, msgpack\np = msgpack.unpackb(sys.stdin.buffer.read())["topics"][0]["partitions"][0]\nprint(repr(p["timestamp"]), type(p["offset"]).__name__)';
    const out = execFileSync(DEBIAN_PYTHON, ['-c', script], { input: r.body.subarray(4) }).toString().trim();
    expect(out).toBe(`${createTime} int`);
  });
});
