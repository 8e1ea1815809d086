/**
 * The fixed binary headers of rill's request and response bodies: the one codec the broker
 * and the client both use (the payload after them is msgpack, see messages.ts).
 *
 * Byte format (big-endian), inside a frame (frame.ts: size:u32be, then the body):
 *
 *   request body:   pos size field
 *                     0   2  apiKey         u16
 *                     2   2  apiVersion     u16
 *                     4   4  correlationId  u32
 *                     8      payload        msgpack
 *   response body:    0   4  correlationId  u32 (the request's)
 *                     4      payload        msgpack
 *
 * The header is fixed so the broker can answer with an error, to the right correlation id,
 * even when the payload does not decode.
 */
import { rillError } from './errors.js';
import { FRAME_HEADER_BYTES } from './frame.js';

export const REQUEST_HEADER_BYTES = 8;
export const RESPONSE_HEADER_BYTES = 4;
/** Frame size + request header: what precedes a request's payload on the wire. */
export const REQUEST_PREFIX_BYTES = FRAME_HEADER_BYTES + REQUEST_HEADER_BYTES;
/** Frame size + response header: what precedes a response's payload on the wire. */
export const RESPONSE_PREFIX_BYTES = FRAME_HEADER_BYTES + RESPONSE_HEADER_BYTES;

const API_KEY_POS = 0;
const API_VERSION_POS = 2;
const REQUEST_CORRELATION_ID_POS = 4;
const RESPONSE_CORRELATION_ID_POS = 0;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

/**
 * Writes the frame size and request header for a payload of `payloadBytes` into
 * `out[0, REQUEST_PREFIX_BYTES)`; the payload goes after it (or in a separate chunk).
 */
export function writeRequestPrefix(out: Buffer, header: RequestHeader, payloadBytes: number): void {
  out.writeUInt32BE(REQUEST_HEADER_BYTES + payloadBytes, 0);
  out.writeUInt16BE(header.apiKey, FRAME_HEADER_BYTES + API_KEY_POS);
  out.writeUInt16BE(header.apiVersion, FRAME_HEADER_BYTES + API_VERSION_POS);
  out.writeUInt32BE(header.correlationId >>> 0, FRAME_HEADER_BYTES + REQUEST_CORRELATION_ID_POS);
}

/** Writes the frame size and response header into `out[0, RESPONSE_PREFIX_BYTES)`. */
export function writeResponsePrefix(out: Buffer, correlationId: number, payloadBytes: number): void {
  out.writeUInt32BE(RESPONSE_HEADER_BYTES + payloadBytes, 0);
  out.writeUInt32BE(correlationId >>> 0, FRAME_HEADER_BYTES + RESPONSE_CORRELATION_ID_POS);
}

/** Reads the fixed request header; throws INVALID_REQUEST when the body is too short. */
export function decodeRequestHeader(body: Buffer): RequestHeader {
  if (body.length < REQUEST_HEADER_BYTES) {
    throw rillError('INVALID_REQUEST', `request body of ${body.length} bytes is shorter than its ${REQUEST_HEADER_BYTES}-byte header`);
  }
  return {
    apiKey: body.readUInt16BE(API_KEY_POS),
    apiVersion: body.readUInt16BE(API_VERSION_POS),
    correlationId: body.readUInt32BE(REQUEST_CORRELATION_ID_POS),
  };
}

/** A response's correlation id; throws INVALID_REQUEST when the body is shorter than its header. */
export function responseCorrelationId(body: Buffer): number {
  if (body.length < RESPONSE_HEADER_BYTES) {
    throw rillError('INVALID_REQUEST', `response body of ${body.length} bytes is shorter than its ${RESPONSE_HEADER_BYTES}-byte header`);
  }
  return body.readUInt32BE(RESPONSE_CORRELATION_ID_POS);
}
