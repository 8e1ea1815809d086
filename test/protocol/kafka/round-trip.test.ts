import { describe, expect, it } from 'vitest';
import { KAFKA_APIS } from '../../../protocol/kafka/apis.js';
import { defaultOf } from '../../../protocol/kafka/codec.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../protocol/kafka/frames.js';
import { inVersions, type FieldDecl, type KafkaMessage } from '../../../protocol/kafka/schema.js';
import { sampleMessage, type Flavour } from './sample-messages.js';

/** What decoding should give: the sample, plus every field the version lacks (or that was left untagged) at its default. */
function expected(fields: readonly FieldDecl[], sample: KafkaMessage, version: number): KafkaMessage {
  const out: KafkaMessage = {};
  for (const f of fields) {
    if (!(f.name in sample)) {
      out[f.name] = defaultOf(f);
      continue;
    }
    const v = sample[f.name];
    if (f.fields !== undefined && v !== null && inVersions(f.versions, version)) {
      out[f.name] = Array.isArray(v) ? v.map((item) => expected(f.fields!, item as KafkaMessage, version)) : expected(f.fields, v as KafkaMessage, version);
    } else {
      out[f.name] = v;
    }
  }
  return out;
}

const cases = KAFKA_APIS.flatMap((api) => {
  const out: Array<{ api: typeof api; version: number; flavour: Flavour }> = [];
  for (let v = api.minVersion; v <= api.maxVersion; v++) {
    for (const flavour of ['full', 'empty'] as const) out.push({ api, version: v, flavour });
  }
  return out;
});

describe('Kafka codec round trips: every API, every served version', () => {
  it.each(cases.map((c) => [`${c.api.name} v${c.version} ${c.flavour}`, c] as const))('%s', (_name, { api, version, flavour }) => {
    const flexible = inVersions(api.flexibleVersions, version);

    const request = sampleMessage(api.request, version, flexible, flavour);
    const requestFrame = Buffer.concat(encodeRequest(api.key, version, 123456, flavour === 'full' ? 'client-é' : null, request));
    expect(requestFrame.readInt32BE(0)).toBe(requestFrame.length - 4);
    const decoded = decodeRequest(requestFrame.subarray(4));
    expect(decoded.apiKey).toBe(api.key);
    expect(decoded.apiVersion).toBe(version);
    expect(decoded.header.correlationId).toBe(123456);
    expect(decoded.header.clientId).toBe(flavour === 'full' ? 'client-é' : null);
    expect(decoded.header.headerVersion).toBe(flexible ? 2 : 1);
    expect(decoded.body).toEqual(expected(api.request, request, version));
    // Decoding then encoding again gives the same bytes.
    expect(Buffer.concat(encodeRequest(api.key, version, 123456, decoded.header.clientId, decoded.body))).toEqual(requestFrame);

    const response = sampleMessage(api.response, version, flexible, flavour);
    const responseFrame = Buffer.concat(encodeResponse(api.key, version, -7, response));
    expect(responseFrame.readInt32BE(0)).toBe(responseFrame.length - 4);
    const back = decodeResponse(api.key, version, responseFrame.subarray(4));
    expect(back.correlationId).toBe(-7);
    expect(back.body).toEqual(expected(api.response, response, version));
    expect(Buffer.concat(encodeResponse(api.key, version, -7, back.body))).toEqual(responseFrame);
  });

  it('covers the versions the issue asks for', () => {
    const ranges = Object.fromEntries(KAFKA_APIS.map((a) => [a.name, `${a.minVersion}-${a.maxVersion}`]));
    expect(ranges).toEqual({
      ApiVersions: '0-3', Metadata: '0-9', Produce: '3-9', Fetch: '4-12', ListOffsets: '0-9',
      FindCoordinator: '0-4', JoinGroup: '0-9', SyncGroup: '0-5', Heartbeat: '0-4', LeaveGroup: '0-5',
      OffsetCommit: '0-8', OffsetFetch: '0-8', DescribeGroups: '0-5', ListGroups: '0-4', DeleteGroups: '0-2',
      CreateTopics: '0-7', DeleteTopics: '0-6', InitProducerId: '0-4', DescribeConfigs: '0-4', CreatePartitions: '0-3',
    });
  });
});
