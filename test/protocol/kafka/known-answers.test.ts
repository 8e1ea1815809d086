/**
 * Known-answer bytes, computed by hand from Kafka's protocol specification (the message JSON
 * files and KIP-482), for a few requests and responses: the codec must read and write exactly
 * these bytes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, RillError } from '../../../protocol/errors.js';
import { apiVersionsTable, KafkaApiKey } from '../../../protocol/kafka/apis.js';
import {
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  unsupportedVersionResponse,
} from '../../../protocol/kafka/frames.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const bytes = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

const fixtureBatch = hex(
  (JSON.parse(readFileSync(new URL('../../fixtures/kafka-record-batches/headers-uncompressed.json', import.meta.url), 'utf8')) as Array<{ hex: string }>)[0]!.hex,
);

describe('Kafka known-answer bytes', () => {
  it('ApiVersions v3 request as librdkafka sends it (header v2, compact strings, ClientId int16)', () => {
    const frame = bytes(
      hex('00000025'), // size 37
      hex('0012 0003 00000001'), // apiKey 18, version 3, correlationId 1
      hex('0007'), ascii('rdkafka'), // clientId: int16 length even in header v2
      hex('00'), // header tagged fields: none
      hex('0b'), ascii('librdkafka'), // clientSoftwareName: compact string, length + 1
      hex('07'), ascii('v2.3.0'), // clientSoftwareVersion
      hex('00'), // body tagged fields: none
    );
    const req = decodeRequest(frame.subarray(4));
    expect(req.header).toMatchObject({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka', headerVersion: 2 });
    expect(req.body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: 'v2.3.0' });
    expect(Buffer.concat(encodeRequest(18, 3, 1, 'rdkafka', req.body))).toEqual(frame);
  });

  it('Metadata v1 request: topic list, and null for all topics', () => {
    const frame = bytes(
      hex('00000016 0003 0001 00000007 0001'), ascii('c'),
      hex('00000002'), hex('0001'), ascii('a'), hex('0002'), ascii('bc'),
    );
    const req = decodeRequest(frame.subarray(4));
    expect(req.header).toMatchObject({ apiKey: 3, apiVersion: 1, correlationId: 7, clientId: 'c', headerVersion: 1 });
    // v1 has topics only; allowAutoTopicCreation (v4+) reads as its default, true.
    expect(req.body).toEqual({ topics: [{ name: 'a' }, { name: 'bc' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    expect(Buffer.concat(encodeRequest(3, 1, 7, 'c', req.body))).toEqual(frame);

    const all = Buffer.concat(encodeRequest(3, 4, 8, null, { topics: null, allowAutoTopicCreation: false }));
    expect(all).toEqual(hex('0000000f 0003 0004 00000008 ffff ffffffff 00'));
  });

  it('Produce v3 request carrying a batch Kafka wrote: the records come back as a view of the frame', () => {
    const frame = bytes(
      hex(`${(2 + 2 + 4 + 2 + 7 + 2 + 2 + 4 + 4 + 2 + 10 + 4 + 4 + 4 + fixtureBatch.length).toString(16).padStart(8, '0')}`),
      hex('0000 0003 0000002a 0007'), ascii('kafkajs'),
      hex('ffff'), // transactionalId null
      hex('ffff'), // acks -1
      hex('00007530'), // timeoutMs 30000
      hex('00000001 000a'), ascii('test-topic'),
      hex('00000001 00000000'), // one partition, index 0
      hex(fixtureBatch.length.toString(16).padStart(8, '0')), fixtureBatch,
    );
    const req = decodeRequest(frame.subarray(4));
    expect(req.body).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
    const topics = req.body.topicData as Array<{ name: string; partitionData: Array<{ index: number; records: Buffer }> }>;
    expect(topics[0]!.name).toBe('test-topic');
    const records = topics[0]!.partitionData[0]!.records;
    expect(records).toEqual(fixtureBatch);
    expect(records.buffer).toBe(frame.buffer); // untouched: a view, not a copy
    expect(Buffer.concat(encodeRequest(0, 3, 42, 'kafkajs', req.body))).toEqual(frame);
  });

  it('ApiVersions v3 response: header v0, compact array, a tagged field written because it is not its default', () => {
    const body = { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 9 }], throttleTimeMs: 0, finalizedFeaturesEpoch: 5 };
    const frame = Buffer.concat(encodeResponse(18, 3, 9, body));
    expect(frame).toEqual(hex('0000001d 00000009 0000 02 0000 0003 0009 00 00000000 01 01 08 0000000000000005'));
    const back = decodeResponse(18, 3, frame.subarray(4));
    expect(back.body).toMatchObject(body);
    expect(back.body.supportedFeatures).toEqual([]);
    expect(back.body.zkMigrationReady).toBe(false);
    // At its default (-1) the tagged field is left off: the tagged-field count is 0.
    expect(Buffer.concat(encodeResponse(18, 3, 9, { ...body, finalizedFeaturesEpoch: -1 }))).toEqual(hex('00000013 00000009 0000 02 0000 0003 0009 00 00000000 00'));
  });

  it('Fetch v12 response: header v1 and compact records', () => {
    const body = {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0, abortedTransactions: null, preferredReadReplica: -1, records: fixtureBatch }] }],
    };
    const frame = Buffer.concat(encodeResponse(1, 12, 3, body));
    expect(frame.subarray(4)).toEqual(bytes(
      hex('00000003 00'), // correlationId, header tagged fields
      hex('00000000 0000 00000000'), // throttleTimeMs, errorCode, sessionId
      hex('02 02'), ascii('t'), // one topic, name 't'
      hex('02 00000000 0000 000000000000000a 000000000000000a 0000000000000000'),
      hex('00 ffffffff'), // abortedTransactions null, preferredReadReplica -1
      hex('da01'), fixtureBatch, // records: uvarint 217 + 1
      hex('00 00 00'), // partition, topic and message tagged fields
    ));
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  });

  it('large records stay their own chunk in the encoded frame', () => {
    const batch = Buffer.alloc(16384, 7);
    const chunks = encodeResponse(1, 11, 1, { responses: [{ topic: 't', partitions: [{ partitionIndex: 0, highWatermark: 1, records: batch }] }] });
    expect(chunks).toContain(batch);
  });

  it('an unsupported ApiVersions version gets the v0 answer with UNSUPPORTED_VERSION and the served APIs', () => {
    // ApiVersions v4 (header v2, as Kafka parses it) is beyond what rill serves.
    const request = bytes(hex('0012 0004 00000005 0001'), ascii('x'), hex('00'), hex('02'), ascii('x'), hex('02'), ascii('1'), hex('00'));
    let caught: unknown;
    try {
      decodeRequest(request);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RillError);
    expect((caught as RillError).code).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const header = decodeRequestHeader(request);
    const frame = Buffer.concat(unsupportedVersionResponse(header)!);
    expect(frame.subarray(0, 18)).toEqual(hex(`${(4 + 2 + 4 + 6 * 20).toString(16).padStart(8, '0')} 00000005 0023 00000014 0000 0003`));
    const back = decodeResponse(18, 0, frame.subarray(4));
    expect(back.body).toMatchObject({ errorCode: 35, apiKeys: apiVersionsTable() });
    // Other APIs have no answer both sides can read: the listener closes, as Kafka does.
    expect(unsupportedVersionResponse({ apiKey: KafkaApiKey.Produce, correlationId: 1 })).toBeNull();
  });
});
