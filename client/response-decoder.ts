/**
 * Turns one response frame body into the validated payload a request resolves with: the
 * msgpack payload after the correlation id, the broker's request-error shape turned into its
 * typed error, and the API's response schema checked. A body that arrived in several socket
 * chunks (`SegmentedBytes`) is joined first, except for a Fetch whose caller reads records
 * from a chunk list (`segmentedRecords`): that one is read in place and its partitions'
 * `records` stay views of the chunks, so multi-megabyte answers are never copied.
 */
import { isRequestErrorResponse, validateResponse, type ApiDefinition, type FetchResponse } from '../protocol/apis/index.js';
import { decodeSegmentedPayload } from '../protocol/apis/fetch-codec.js';
import { ErrorCode, errorFromCode } from '../protocol/errors.js';
import { SegmentedBytes } from '../protocol/frame.js';
import { RESPONSE_HEADER_BYTES, responseCorrelationId } from '../protocol/message-header.js';
import { decodeResponsePayload } from '../protocol/messages.js';

/** A partition's records in a Fetch answer read with `segmentedRecords`: one view, or views of several chunks. */
export type FetchedRecords = Buffer | SegmentedBytes;

/** A Fetch response whose records may span socket chunks (Connection.fetch). */
export type SegmentedFetchResponse = Omit<FetchResponse, 'topics'> & {
  topics: Array<Omit<FetchResponse['topics'][number], 'partitions'> & {
    partitions: Array<Omit<FetchResponse['topics'][number]['partitions'][number], 'records'> & { records: FetchedRecords | null }>;
  }>;
};

/** The correlation id of a response body, or -1 when it is shorter than its header. */
export function correlationIdOf(body: Buffer | SegmentedBytes): number {
  if (body.length < RESPONSE_HEADER_BYTES) return -1;
  return responseCorrelationId(body instanceof SegmentedBytes ? body.bytes(0, RESPONSE_HEADER_BYTES) : body);
}

/**
 * The payload of `body`, validated against `def`'s response schema; throws INVALID_REQUEST for
 * a malformed answer and the broker's code for its request-error shape.
 */
export function decodeResponseBody(def: ApiDefinition, body: Buffer | SegmentedBytes, segmentedRecords: boolean, address: string): unknown {
  let payload: unknown;
  if (!(body instanceof SegmentedBytes)) payload = decodeResponsePayload(body);
  else if (segmentedRecords) payload = decodeSegmentedPayload(body, RESPONSE_HEADER_BYTES);
  else payload = decodeResponsePayload(body.join());
  // The broker could not read the request (a field missing or out of range): the same
  // two-field answer on every API, never retried (the same request would fail again).
  if (isRequestErrorResponse(payload)) {
    throw errorFromCode(payload.errorCode, `${def.name} refused by ${address}: ${payload.errorMessage}`);
  }
  const invalid = segmentedRecords ? validateWithPlaceholders(def, payload) : validateResponse(def, payload);
  if (invalid !== null) {
    throw errorFromCode(ErrorCode.INVALID_REQUEST, `malformed ${def.name} response from ${address}: ${invalid}`);
  }
  return payload;
}

const PLACEHOLDER = Buffer.alloc(0);

/**
 * The schema says `records` is bytes; a chunk list is bytes too, just not in one Buffer. Check
 * the rest of the answer with an empty Buffer in its place, then put the chunk list back.
 */
function validateWithPlaceholders(def: ApiDefinition, payload: unknown): string | null {
  const swapped: Array<{ p: { records: unknown }; records: SegmentedBytes }> = [];
  const topics = (payload as { topics?: unknown } | null)?.topics;
  if (Array.isArray(topics)) {
    for (const t of topics) {
      const partitions = (t as { partitions?: unknown } | null)?.partitions;
      if (!Array.isArray(partitions)) continue;
      for (const p of partitions) {
        const records = (p as { records?: unknown } | null)?.records;
        if (records instanceof SegmentedBytes) {
          swapped.push({ p: p as { records: unknown }, records });
          (p as { records: unknown }).records = PLACEHOLDER;
        }
      }
    }
  }
  try {
    return validateResponse(def, payload);
  } finally {
    for (const s of swapped) s.p.records = s.records;
  }
}
