/**
 * The answer every API gives to a request it cannot read: the payload is not msgpack, or it
 * fails the API's request schema (a field missing, of the wrong type, or out of range).
 *
 *   response: { errorCode, errorMessage }
 *
 * Exactly these two keys, errorCode non-zero: INVALID_REQUEST (42) unless the offending
 * field's schema names a more specific code (Produce `acks` → INVALID_REQUIRED_ACKS), and an
 * errorMessage that starts with the field's path ("topics[0].timeoutMs: expected integer").
 * The connection stays open. UNSUPPORTED_VERSION (unknown apiKey or version) uses the same
 * shape. A client recognizes it with `isRequestErrorResponse` before checking the API's own
 * response schema. Produce with acks 0 is the exception: it is never answered, so the broker
 * closes the connection instead (the only signal a fire-and-forget producer gets).
 */
import { Kind, Type, type Static, type TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ERRORS } from '../errors.js';

export const RequestErrorResponse = Type.Object({
  errorCode: Type.Integer({ minimum: -1, maximum: 32767, description: 'never 0' }),
  errorMessage: Type.String(),
});
export type RequestErrorResponse = Static<typeof RequestErrorResponse>;

/** Schema option naming the error code a bad value of that field is answered with. */
export interface ErrorCodeAnnotation {
  errorCode?: number;
}

export function isRequestErrorResponse(payload: unknown): payload is RequestErrorResponse {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return false;
  const p = payload as Record<string, unknown>;
  let keys = 0;
  for (const _ in p) keys++;
  return keys === 2 && Number.isInteger(p.errorCode) && p.errorCode !== 0 && typeof p.errorMessage === 'string';
}

/** Every request payload is a msgpack map; anything else is answered before the schema runs. */
export function notAMap(payload: unknown): RequestErrorResponse | null {
  if (payload !== null && typeof payload === 'object' && Object.getPrototypeOf(payload) === Object.prototype) return null;
  return { errorCode: ERRORS.INVALID_REQUEST.code, errorMessage: `request: expected a msgpack map, got ${preview(payload)}` };
}

/** "/topics/0/timeoutMs" → "topics[0].timeoutMs"; the root is "request". */
export function fieldPath(pointer: string): string {
  if (pointer === '' || pointer === '/') return 'request';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** The request-error answer for the first thing wrong with a payload. */
export function describeSchemaError(error: ValueError): RequestErrorResponse {
  const missing = error.type === ValueErrorType.ObjectRequiredProperty;
  // A field's own code is for a bad value; a missing field is a malformed request.
  const code = (missing ? undefined : (error.schema as TSchema & ErrorCodeAnnotation).errorCode) ?? ERRORS.INVALID_REQUEST.code;
  const what = missing
    ? 'required field is missing'
    : error.type === ValueErrorType.Union
      ? `expected one of ${describeUnion(error.schema)}, got ${preview(error.value)}`
      : `${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}, got ${preview(error.value)}`;
  return { errorCode: code, errorMessage: `${fieldPath(error.path)}: ${what}` };
}

function describeUnion(schema: TSchema): string {
  const options = (schema.anyOf as TSchema[] | undefined) ?? [];
  return options.map((o) => ('const' in o ? JSON.stringify(o.const) : o.type === 'null' ? 'null' : String(o.type ?? o[Kind]))).join(' | ');
}

const PREVIEW_MAX_CHARS = 40;
function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value instanceof Uint8Array) return `${value.length} bytes of bin`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a map';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > PREVIEW_MAX_CHARS ? `${text.slice(0, PREVIEW_MAX_CHARS)}...` : text;
}
