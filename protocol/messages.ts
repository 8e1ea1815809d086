/**
 * Request and response bodies (inside a frame, see frame.ts):
 *
 *   request body:  apiKey:u16be | apiVersion:u16be | correlationId:u32be | msgpack(payload)
 *   response body: correlationId:u32be | msgpack(payload)
 *
 * The fixed binary header lets the broker answer with an error even when the payload fails to
 * decode. Payloads are plain msgpack maps (msgpackr with `useRecords: false`, so any msgpack
 * library can read them); 64-bit integers decode as JS numbers. `bin` values decode as Buffer
 * VIEWS into the body: never reuse a body buffer while a decoded payload is alive.
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

/** Encodes a whole request frame (size prefix included) in one buffer. */
export function encodeRequestFrame(apiKey: number, apiVersion: number, correlationId: number, payload: unknown): Buffer {
  const body = packr.pack(payload);
  const out = Buffer.allocUnsafe(REQUEST_PREFIX_BYTES + body.length);
  writeRequestPrefix(out, { apiKey, apiVersion, correlationId }, body.length);
  body.copy(out, REQUEST_PREFIX_BYTES);
  return out;
}

/** Encodes a whole response frame (size prefix included) in one buffer. */
export function encodeResponseFrame(correlationId: number, payload: unknown): Buffer {
  const body = packr.pack(payload);
  const out = Buffer.allocUnsafe(RESPONSE_PREFIX_BYTES + body.length);
  writeResponsePrefix(out, correlationId, body.length);
  body.copy(out, RESPONSE_PREFIX_BYTES);
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

export function pack(value: unknown): Buffer {
  return packr.pack(value);
}
