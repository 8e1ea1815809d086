/**
 * Malformed Kafka input: every bad frame raises one typed error (RillError INVALID_REQUEST, or
 * UNSUPPORTED_VERSION for a version rill does not serve), never a RangeError, never an
 * allocation sized by an untrusted count. Ends with a bounded, seeded fuzz of truncations and
 * byte mutations of valid frames for every API.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, RillError } from '../../../protocol/errors.js';
import { KAFKA_APIS } from '../../../protocol/kafka/apis.js';
import { decodeRequest, decodeRequestHeader, decodeResponse, encodeRequest, encodeResponse } from '../../../protocol/kafka/frames.js';
import { inVersions } from '../../../protocol/kafka/schema.js';
import { sampleMessage } from './sample-messages.js';
import { mulberry32 as prng } from '../../helpers/rng.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function errorOf(fn: () => unknown): RillError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RillError);
    return err as RillError;
  }
  throw new Error('expected a RillError, nothing was thrown');
}

const invalid = (body: Buffer): void => {
  expect(errorOf(() => decodeRequest(body)).code).toBe(ErrorCode.INVALID_REQUEST);
};

describe('malformed Kafka requests', () => {
  it('a header shorter than its fixed fields', () => {
    invalid(hex(''));
    invalid(hex('0003 0001 0000'));
    invalid(hex('0003 0001 00000007 00')); // clientId length cut in half
    invalid(hex('0003 0001 00000007 0005 6162')); // clientId shorter than its length
  });

  it('an array count of 2^31 - 1 with nothing behind it is refused before any allocation', () => {
    invalid(hex('0003 0001 00000007 ffff 7fffffff'));
    invalid(hex('0003 0001 00000007 ffff 7fffffff 0001 61')); // one real item does not help
    // Compact (uvarint) counts too: Metadata v9, count 2^32 - 2.
    invalid(hex('0003 0009 00000007 ffff 00 ffffffff0f'));
  });

  it('negative lengths other than the null marker', () => {
    invalid(hex('0003 0001 00000007 ffff 00000001 fffe')); // string length -2
    invalid(hex('0003 0001 00000007 ffff fffffffe')); // array count -2
    invalid(hex('0003 0001 00000007 fffe')); // clientId length -2
  });

  it('null where the version does not allow it', () => {
    invalid(hex('0003 0000 00000007 ffff ffffffff')); // Metadata v0 topics cannot be null
    invalid(hex('0003 0001 00000007 ffff 00000001 ffff')); // topic name cannot be null
    // DescribeConfigs v0: configurationKeys may be null, its items may not.
    expect(decodeRequest(hex('0020 0000 00000001 ffff 00000001 02 0001 74 ffffffff')).body.resources).toEqual([{ resourceType: 2, resourceName: 't', configurationKeys: null }]);
    invalid(hex('0020 0000 00000001 ffff 00000001 02 0001 74 00000001 ffff'));
  });

  it('lengths past the end', () => {
    invalid(hex('0003 0001 00000007 ffff 00000001 0010 6162'));
    // Produce v3, records length 1000 with 3 bytes present.
    invalid(hex('0000 0003 00000001 ffff ffff 0001 00007530 00000001 0001 74 00000001 00000000 000003e8 010203'));
  });

  it('strings over 32767 bytes, compact or not', () => {
    const long = Buffer.alloc(40000, 0x61);
    // Metadata v9 (flexible): compact string length 40000 + 1 = uvarint c2 b8 02.
    invalid(Buffer.concat([hex('0003 0009 00000007 ffff 00 02 c2b802'), long, hex('00 00 00 00 00')]));
  });

  it('an unsigned varint longer than 5 bytes', () => {
    invalid(hex('0012 0003 00000001 ffff 00 8080808080800001'));
  });

  it('int64 outside the safe-integer range', () => {
    // ListOffsets v1: replicaId, one topic 't', one partition 0, timestamp 2^63 - 1.
    invalid(hex('0002 0001 00000001 ffff ffffffff 00000001 0001 74 00000001 00000000 7fffffffffffffff'));
    // 2^53 - 1 itself is fine.
    const ok = decodeRequest(hex('0002 0001 00000001 ffff ffffffff 00000001 0001 74 00000001 00000000 001fffffffffffff'));
    expect((ok.body.topics as Array<{ partitions: Array<{ timestamp: number }> }>)[0]!.partitions[0]!.timestamp).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('tagged fields: unknown tags are skipped, a known tag whose size disagrees is refused', () => {
    // ApiVersions v3 request with an unknown tag 7 (3 bytes) in the body's tagged fields.
    const withUnknown = decodeRequest(hex('0012 0003 00000001 ffff 00 02 61 02 31 01 07 03 aabbcc'));
    expect(withUnknown.body).toEqual({ clientSoftwareName: 'a', clientSoftwareVersion: '1' });
    // Header tagged fields are skipped as well.
    expect(decodeRequest(hex('0012 0003 00000001 ffff 01 05 02 aabb 02 61 02 31 00')).body).toEqual({ clientSoftwareName: 'a', clientSoftwareVersion: '1' });
    // Fetch v12 request: clusterId is tag 0; its size says 3 but the compact string inside takes 2.
    const fetch = Buffer.concat(encodeRequest(1, 12, 1, null, { replicaId: -1, maxWaitMs: 1, minBytes: 1, topics: [], forgottenTopicsData: [] }));
    const body = fetch.subarray(4, fetch.length - 1); // drop the empty tagged-field count
    invalid(Buffer.concat([body, hex('01 00 03 02 61 00')]));
    expect(decodeRequest(Buffer.concat([body, hex('01 00 02 02 61')])).body.clusterId).toBe('a');
    // A tagged-field count larger than the bytes left.
    invalid(Buffer.concat([body, hex('7f 00')]));
  });

  it('unknown API keys and unserved versions are UNSUPPORTED_VERSION, with the header still readable', () => {
    for (const frame of [hex('7fff 0000 00000009 ffff'), hex('0000 0002 00000009 ffff ffff ffff 00000000 00000000'), hex('0001 000d 00000009 ffff 00')]) {
      expect(errorOf(() => decodeRequest(frame)).code).toBe(ErrorCode.UNSUPPORTED_VERSION);
      expect(decodeRequestHeader(frame).correlationId).toBe(9);
    }
  });
});


const ALLOWED = new Set<number>([ErrorCode.INVALID_REQUEST, ErrorCode.UNSUPPORTED_VERSION]);

function decodesOrThrowsTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof RillError) || !ALLOWED.has(err.code)) throw err;
  }
}

describe('fuzz: truncations and mutations of valid frames', () => {
  const TRUNCATIONS = 40;
  const MUTATIONS = 60;
  for (const api of KAFKA_APIS) {
    it(`${api.name}, every served version`, () => {
      const random = prng(api.key + 1);
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        const flexible = inVersions(api.flexibleVersions, v);
        const request = Buffer.concat(encodeRequest(api.key, v, 1, 'fuzz', sampleMessage(api.request, v, flexible, 'full'))).subarray(4);
        const response = Buffer.concat(encodeResponse(api.key, v, 1, sampleMessage(api.response, v, flexible, 'full'))).subarray(4);
        for (let i = 0; i < TRUNCATIONS; i++) {
          const cut = Math.floor(random() * request.length);
          decodesOrThrowsTyped(() => decodeRequest(request.subarray(0, cut)));
          const cutResponse = Math.floor(random() * response.length);
          decodesOrThrowsTyped(() => decodeResponse(api.key, v, response.subarray(0, cutResponse)));
        }
        for (let i = 0; i < MUTATIONS; i++) {
          for (const [frame, decode] of [
            [request, (b: Buffer) => decodeRequest(b)],
            [response, (b: Buffer) => decodeResponse(api.key, v, b)],
          ] as const) {
            const mutated = Buffer.from(frame);
            const edits = 1 + Math.floor(random() * 4);
            for (let e = 0; e < edits; e++) {
              const at = Math.floor(random() * mutated.length);
              // Favour the bytes that do damage: 0xff (null markers, huge counts), 0x80 (varint continuation), 0x00.
              const pick = random();
              mutated[at] = pick < 0.3 ? 0xff : pick < 0.5 ? 0x80 : pick < 0.6 ? 0 : Math.floor(random() * 256);
            }
            decodesOrThrowsTyped(() => decode(mutated));
          }
        }
      }
    });
  }
});
