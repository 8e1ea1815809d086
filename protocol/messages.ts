/**
 * Request and response bodies (inside a frame, see frame.ts):
 *
 *   request body:  apiKey:u16be | apiVersion:u16be | correlationId:u32be | msgpack(payload)
 *   response body: correlationId:u32be | msgpack(payload)
 *
 * The fixed binary header lets the broker answer with an error even when the payload fails to
 * decode. Payloads are plain msgpack maps (msgpackr with `useRecords: false`, so any msgpack
 * library can read them). `bin` values decode as Buffer VIEWS into the body: never reuse a body
 * buffer while a decoded payload is alive.
 *
 * Integers are always msgpack integers. msgpackr writes a JS number outside the 32-bit range
 * (a timestamp, a large offset) as float64, which other languages read as a float
 * (Python: 1796104685456.0); so before packing, `integersAsInt64` swaps such numbers for
 * BigInts, which msgpackr writes as int64/uint64. Decoding turns int64 back into JS numbers
 * (`int64AsType: 'number'`; the schemas bound them to 2^53).
 */
import { Packr } from 'msgpackr';
import { rillError } from './errors.js';
import {
  REQUEST_HEADER_BYTES,
  REQUEST_PREFIX_BYTES,
  RESPONSE_HEADER_BYTES,
  RESPONSE_PREFIX_BYTES,
  responseCorrelationId,
  writeRequestPrefix,
  writeResponsePrefix,
} from './message-header.js';

// The header codec lives in message-header.ts; re-exported for existing importers.
export { REQUEST_HEADER_BYTES, RESPONSE_HEADER_BYTES, decodeRequestHeader, responseCorrelationId, type RequestHeader } from './message-header.js';

const packr = new Packr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true });

const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

function isWideInteger(n: number): boolean {
  return (n > UINT32_MAX || n < INT32_MIN) && Number.isInteger(n);
}

/**
 * `value` with every integer-valued number outside [-2^31, 2^32) replaced by a BigInt, so msgpackr
 * writes it as int64/uint64 instead of float64. Copy-on-write: an object or array without such a
 * number is returned as is (no allocation); `bin` values are never walked.
 */
export function integersAsInt64(value: unknown): unknown {
  if (typeof value === 'number') return isWideInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const wire = integersAsInt64(item);
      if (wire !== item) (copy ??= value.slice())[i] = wire;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | null = null;
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const item = obj[key];
    const wire = integersAsInt64(item);
    if (wire !== item) (copy ??= { ...obj })[key] = wire;
  }
  return copy ?? value;
}

/** Encodes a whole request frame (size prefix included) in one buffer. */
export function encodeRequestFrame(apiKey: number, apiVersion: number, correlationId: number, payload: unknown): Buffer {
  const body = pack(payload);
  const out = Buffer.allocUnsafe(REQUEST_PREFIX_BYTES + body.length);
  writeRequestPrefix(out, { apiKey, apiVersion, correlationId }, body.length);
  body.copy(out, REQUEST_PREFIX_BYTES);
  return out;
}

/** Encodes a whole response frame (size prefix included) in one buffer. */
export function encodeResponseFrame(correlationId: number, payload: unknown): Buffer {
  const body = pack(payload);
  const out = Buffer.allocUnsafe(RESPONSE_PREFIX_BYTES + body.length);
  writeResponsePrefix(out, correlationId, body.length);
  body.copy(out, RESPONSE_PREFIX_BYTES);
  return out;
}

/**
 * A response frame as chunks: size prefix + header, then a payload already encoded as chunks
 * (apis/fetch-codec.ts), whose bytes are not copied.
 */
export function encodeResponseFrameChunks(correlationId: number, payload: { chunks: Buffer[]; totalBytes: number }): Buffer[] {
  const prefix = Buffer.allocUnsafe(RESPONSE_PREFIX_BYTES);
  writeResponsePrefix(prefix, correlationId, payload.totalBytes);
  const out = new Array<Buffer>(payload.chunks.length + 1);
  out[0] = prefix;
  for (let i = 0; i < payload.chunks.length; i++) out[i + 1] = payload.chunks[i]!;
  return out;
}

/** Decodes a request's msgpack payload; throws INVALID_REQUEST when it is not msgpack. */
export function decodeRequestPayload(body: Buffer): unknown {
  return unpack(body.subarray(REQUEST_HEADER_BYTES));
}

export function decodeResponse(body: Buffer): { correlationId: number; payload: unknown } {
  const correlationId = responseCorrelationId(body);
  return { correlationId, payload: decodeResponsePayload(body) };
}

/** Decodes a response's msgpack payload (after its header); throws INVALID_REQUEST when it is not msgpack. */
export function decodeResponsePayload(body: Buffer): unknown {
  return unpack(body.subarray(RESPONSE_HEADER_BYTES));
}

export function unpack(bytes: Buffer): unknown {
  if (bytes.length === 0) throw rillError('INVALID_REQUEST', 'empty msgpack payload');
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw rillError('INVALID_REQUEST', `payload is not valid msgpack: ${(err as Error).message}`);
  }
}

/** msgpack of `value`, integers as msgpack integers (see the file comment). */
export function pack(value: unknown): Buffer {
  return packr.pack(integersAsInt64(value));
}
