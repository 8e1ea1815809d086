import { describe, expect, it } from 'vitest';
import { APIS, allApis, apiByKey, validateRequest } from '../../protocol/apis/index.js';
import { decodeRequestHeader, decodeRequestPayload, decodeResponse, encodeRequestFrame, encodeResponseFrame } from '../../protocol/messages.js';
import { RillError } from '../../protocol/errors.js';

describe('API registry', () => {
  it('has unique keys and resolves every key back to its API', () => {
    const keys = new Set<number>();
    for (const [name, def] of Object.entries(APIS)) {
      expect(keys.has(def.key)).toBe(false);
      keys.add(def.key);
      expect(apiByKey(def.key)?.name).toBe(name);
    }
    expect(allApis().length).toBe(keys.size);
    expect(apiByKey(12345)).toBeUndefined();
  });

  it('round-trips a produce request through the wire encoding with records as a Buffer view', () => {
    const records = Buffer.from('0123456789abcdef', 'hex');
    const payload = { acks: -1, timeoutMs: 30000, topics: [{ name: 'orders', partitions: [{ partition: 2, records }] }] };
    const frame = encodeRequestFrame(APIS.Produce.key, 0, 0xfffffffe, payload);
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    const body = frame.subarray(4);
    expect(decodeRequestHeader(body)).toEqual({ apiKey: 0, apiVersion: 0, correlationId: 0xfffffffe });
    const decoded = decodeRequestPayload(body) as typeof payload;
    expect(validateRequest(apiByKey(0)!, decoded)).toBeNull();
    expect(Buffer.compare(decoded.topics[0]!.partitions[0]!.records, records)).toBe(0);
  });

  it('keeps 64-bit offsets exact up to 2^53', () => {
    const frame = encodeResponseFrame(7, { offset: Number.MAX_SAFE_INTEGER, neg: -1, mid: 2 ** 40 + 3 });
    const { correlationId, payload } = decodeResponse(frame.subarray(4));
    expect(correlationId).toBe(7);
    expect(payload).toEqual({ offset: Number.MAX_SAFE_INTEGER, neg: -1, mid: 2 ** 40 + 3 });
  });

  it('names the offending field of a payload of the wrong shape', () => {
    const def = apiByKey(APIS.Fetch.key)!;
    const bad = { maxWaitMs: 100, minBytes: 1, maxBytes: 1024, topics: [{ name: 't', partitions: [{ partition: -1, fetchOffset: 0, partitionMaxBytes: 10 }] }] };
    expect(validateRequest(def, bad)).toMatch(/\/topics\/0\/partitions\/0\/partition/);
    expect(validateRequest(def, 'nonsense')).not.toBeNull();
    expect(validateRequest(def, { ...bad, topics: [{ name: 't', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 10 }] }] })).toBeNull();
  });

  it('refuses a short header or non-msgpack payload with INVALID_REQUEST', () => {
    expect(() => decodeRequestHeader(Buffer.alloc(3))).toThrow(RillError);
    const body = Buffer.concat([Buffer.alloc(8), Buffer.from([0x82, 0xa1])]); // a map of 2 cut after one byte of its first key
    expect(() => decodeRequestPayload(body)).toThrow(/not valid msgpack/);
  });
});
