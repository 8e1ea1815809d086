import { describe, expect, it } from 'vitest';
import { APIS, allApis, apiByKey, applyRequestDefaults, validateRequest } from '../../protocol/apis/index.js';
import { decodeRequestHeader, decodeRequestPayload, decodeResponse, encodeRequestFrame, encodeResponseFrame, integersAsInt64, pack } from '../../protocol/messages.js';
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

describe('request defaults', () => {
  /** Every optional request field carries a default, so handlers never see it missing. */
  function optionalWithoutDefault(schema: unknown, path: string, out: string[]): void {
    if (schema === null || typeof schema !== 'object') return;
    const s = schema as { properties?: Record<string, Record<string, unknown>>; required?: string[]; items?: unknown; anyOf?: unknown[] };
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      if (!(s.required ?? []).includes(name) && !('default' in prop)) out.push(`${path}.${name}`);
      optionalWithoutDefault(prop, `${path}.${name}`, out);
    }
    optionalWithoutDefault(s.items, `${path}[]`, out);
    for (const o of s.anyOf ?? []) optionalWithoutDefault(o, path, out);
  }

  it('every optional request field has a default, applied in place by applyRequestDefaults', () => {
    const missing: string[] = [];
    for (const def of allApis()) optionalWithoutDefault(def.request, def.name, missing);
    expect(missing).toEqual([]);
    const req = { topics: [{ name: 'x' }] };
    applyRequestDefaults(apiByKey(APIS.CreateTopics.key)!, req);
    expect(req).toEqual({ topics: [{ name: 'x', numPartitions: -1, replicationFactor: -1, configs: {}, assignments: [] }], timeoutMs: 60000, validateOnly: false });
  });
});

describe('64-bit integers on the wire', () => {
  /** The msgpack type byte of `value` in { v: value }: map16 header (3 bytes), fixstr "v" (2), then the value. */
  const typeByte = (value: unknown) => pack({ v: value })[5];

  it('integers beyond 32 bits are int64 (0xd3), never float64 (0xcb); small ones stay compact', () => {
    expect(typeByte(1796104685456)).toBe(0xd3);
    expect(typeByte(-(2 ** 40))).toBe(0xd3);
    expect(typeByte(Number.MAX_SAFE_INTEGER)).toBe(0xd3);
    expect(typeByte(2 ** 32 - 1)).toBe(0xce);
    expect(typeByte(-1)).toBe(0xff);
    expect(typeByte(1.5)).toBe(0xcb);
    expect(decodeRequestPayload(encodeRequestFrame(2, 0, 1, { t: 1796104685456 }).subarray(4))).toEqual({ t: 1796104685456 });
  });

  it('copies only what it changes and never walks bin values', () => {
    const records = Buffer.alloc(16, 0xab);
    const untouched = { a: [1, 2, { b: 'x' }], records };
    expect(integersAsInt64(untouched)).toBe(untouched);
    const nested = { topics: [{ partitions: [{ offset: 5 }, { timestamp: 2 ** 41 }] }], records };
    const wire = integersAsInt64(nested) as typeof nested & { topics: Array<{ partitions: Array<Record<string, unknown>> }> };
    expect(wire.topics[0]!.partitions[1]!.timestamp).toBe(2n ** 41n);
    expect(wire.topics[0]!.partitions[0]).toBe(nested.topics[0]!.partitions[0]);
    expect(wire.records).toBe(records);
    expect(nested.topics[0]!.partitions[1]!.timestamp).toBe(2 ** 41);
  });
});
