/**
 * Kafka request and response frames: size prefix, headers, and the message body through the
 * generic codec. The size prefix is Kafka's int32 (the same 4 bytes as protocol/frame.ts, whose
 * FrameDecoder splits the stream); everything here works on one frame body.
 *
 *   request frame   size:int32 | apiKey:int16 apiVersion:int16 correlationId:int32
 *                   clientId:nullable string (int16 length, in every header version)
 *                   [v2: tagged fields] | body
 *   response frame  size:int32 | correlationId:int32 [v1: tagged fields] | body
 *
 * Header versions follow from the API's flexible versions: request header v2 and response
 * header v1 for flexible versions, v1 and v0 otherwise, except that ApiVersions' response
 * header is always v0 (a client that sent a version the broker does not know must still be
 * able to read the answer).
 */
import { ErrorCode, rillError } from '../errors.js';
import { apiVersionsTable, isFlexibleVersion, KafkaApiKey, messagePlan } from './apis.js';
import { readMessage, writeMessage } from './codec.js';
import type { KafkaMessage } from './schema.js';
import { KafkaReader, KafkaWriter, malformed } from './types.js';

/** apiKey, apiVersion, correlationId: what every request header version starts with. */
export const REQUEST_HEADER_FIXED_BYTES = 8;

export interface KafkaRequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** 1 or 2. */
  headerVersion: number;
  /** Where the request body starts in the frame body. */
  bodyOffset: number;
}

export interface KafkaRequest {
  header: KafkaRequestHeader;
  apiKey: number;
  apiVersion: number;
  body: KafkaMessage;
}

/**
 * Reads the request header of a frame body, for any apiKey and version (so even a request rill
 * cannot decode can be answered by correlation id). Throws INVALID_REQUEST when malformed.
 */
export function decodeRequestHeader(frameBody: Buffer): KafkaRequestHeader {
  const r = new KafkaReader(frameBody);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.string(false);
  const headerVersion = isFlexibleVersion(apiKey, apiVersion) ? 2 : 1;
  if (headerVersion === 2) skipTaggedFields(r);
  return { apiKey, apiVersion, correlationId, clientId, headerVersion, bodyOffset: r.pos };
}

/** Headers carry no tagged field rill reads: skip them all. */
function skipTaggedFields(r: KafkaReader): void {
  const count = r.uvarint();
  if (count * 2 > r.remaining) throw malformed(`tagged field count ${count} exceeds the bytes left`);
  for (let i = 0; i < count; i++) {
    r.uvarint();
    r.take(r.uvarint());
  }
}

/**
 * Decodes a request frame body. Throws RillError UNSUPPORTED_VERSION when (apiKey, apiVersion)
 * is not served (see `unsupportedVersionResponse`), INVALID_REQUEST when the bytes are malformed.
 * Bytes after the body are ignored, as Apache Kafka's parser ignores them.
 */
export function decodeRequest(frameBody: Buffer): KafkaRequest {
  const header = decodeRequestHeader(frameBody);
  const plan = messagePlan(header.apiKey, header.apiVersion, 'request');
  if (plan === undefined) {
    throw rillError('UNSUPPORTED_VERSION', `Kafka API ${header.apiKey} version ${header.apiVersion} is not supported`);
  }
  const body = readMessage(plan, new KafkaReader(frameBody, header.bodyOffset));
  return { header, apiKey: header.apiKey, apiVersion: header.apiVersion, body };
}

function responseHeaderIsV1(apiKey: number, apiVersion: number): boolean {
  return apiKey !== KafkaApiKey.ApiVersions && isFlexibleVersion(apiKey, apiVersion);
}

/**
 * Encodes a response as frame chunks (size prefix included): small scratch buffers with record
 * Buffers as their own chunks, for `socket.cork()` + writes or `writev`.
 */
export function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: KafkaMessage): Buffer[] {
  const plan = messagePlan(apiKey, apiVersion, 'response');
  if (plan === undefined) throw new TypeError(`Kafka API ${apiKey} version ${apiVersion} is not served`);
  const w = new KafkaWriter(true);
  w.int32(correlationId);
  if (responseHeaderIsV1(apiKey, apiVersion)) w.uvarint(0);
  writeMessage(plan, body, w);
  return w.finish();
}

/** Encodes a request as frame chunks (size prefix included): for tests and Kafka-speaking clients. */
export function encodeRequest(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: KafkaMessage,
): Buffer[] {
  const plan = messagePlan(apiKey, apiVersion, 'request');
  if (plan === undefined) throw new TypeError(`Kafka API ${apiKey} version ${apiVersion} is not served`);
  const w = new KafkaWriter(true);
  w.int16(apiKey);
  w.int16(apiVersion);
  w.int32(correlationId);
  w.string(clientId, false);
  if (isFlexibleVersion(apiKey, apiVersion)) w.uvarint(0);
  writeMessage(plan, body, w);
  return w.finish();
}

/** Decodes a response frame body of a known (apiKey, apiVersion); throws INVALID_REQUEST when malformed. */
export function decodeResponse(apiKey: number, apiVersion: number, frameBody: Buffer): { correlationId: number; body: KafkaMessage } {
  const plan = messagePlan(apiKey, apiVersion, 'response');
  if (plan === undefined) throw new TypeError(`Kafka API ${apiKey} version ${apiVersion} is not served`);
  const r = new KafkaReader(frameBody);
  const correlationId = r.int32();
  if (responseHeaderIsV1(apiKey, apiVersion)) skipTaggedFields(r);
  return { correlationId, body: readMessage(plan, r) };
}

/**
 * The answer Kafka gives a request whose version it does not serve, or null when Kafka gives
 * none. For ApiVersions it is the KIP-511 answer: an ApiVersions v0 response (header v0) with
 * error UNSUPPORTED_VERSION and the served API list, so the client can retry with a version in
 * range. Any other API has no response version both sides know, and Apache Kafka closes the
 * connection; null tells the listener to do the same.
 */
export function unsupportedVersionResponse(header: Pick<KafkaRequestHeader, 'apiKey' | 'correlationId'>): Buffer[] | null {
  if (header.apiKey !== KafkaApiKey.ApiVersions) return null;
  return encodeResponse(KafkaApiKey.ApiVersions, 0, header.correlationId, {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: apiVersionsTable(),
  });
}
