/**
 * send()'s input checks, done per message before anything is buffered: a bad message is a
 * typed RillError naming its index, and nothing of it is appended. Keys become Buffers (the
 * partitioner hashes their bytes); values and headers stay as given — the batch encoder copies
 * Buffers and writes strings straight into the batch — and only their byte lengths are taken
 * here, for the record's size estimate.
 */
import { rillError } from '../../protocol/errors.js';
import type { AckMode, RecordHeader } from './producer-batch.js';
import type { Acks, MessageHeaders } from '../types.js';

/** Worst-case per-record framing: length, attributes, timestamp/offset deltas, key/value lengths, header count. */
export const RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** Worst-case framing per header: key and value lengths. */
const HEADER_OVERHEAD_BYTES = 10;

export function normalizeAcks(acks: Acks): AckMode {
  if (acks === 'all' || acks === -1) return -1;
  if (acks === 0 || acks === 1) return acks;
  throw rillError('INVALID_REQUIRED_ACKS', `acks must be 0, 1, -1 or 'all', got ${String(acks)}`);
}

/** A key as a Buffer (null for none): strings are encoded once, here. */
export function toKeyBuffer(v: unknown, index: number): Buffer | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw rillError('INVALID_RECORD', `message ${index}: key must be a Buffer, a string or null`);
}

/** Byte length of a value or header value (0 for null); anything else is INVALID_RECORD. */
export function dataBytes(v: unknown, what: string, index: number): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') return v.length === 0 ? 0 : Buffer.byteLength(v, 'utf8');
  if (v instanceof Uint8Array) return v.byteLength;
  throw rillError('INVALID_RECORD', `message ${index}: ${what} must be a Buffer, a string or null`);
}

/** A Buffer of a value (for a custom partitioner, which is given Buffers). */
export function toValueBuffer(v: Uint8Array | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Upper bound of the headers' encoded bytes, checking each (a list of `{ key, value }` or an object). */
export function estimateHeaderBytes(headers: MessageHeaders | readonly RecordHeader[] | null | undefined, index: number): number {
  if (headers === null || headers === undefined) return 0;
  if (typeof headers !== 'object') throw rillError('INVALID_RECORD', `message ${index}: headers must be an object`);
  let n = 0;
  if (Array.isArray(headers)) {
    for (const h of headers as readonly RecordHeader[]) {
      if (h === null || typeof h !== 'object' || typeof h.key !== 'string') throw rillError('INVALID_RECORD', `message ${index}: headers must be { key: string, value }`);
      n += HEADER_OVERHEAD_BYTES + Buffer.byteLength(h.key) + dataBytes(h.value, `header '${h.key}'`, index);
    }
    return n;
  }
  const map = headers as MessageHeaders;
  for (const key in map) {
    if (!Object.prototype.hasOwnProperty.call(map, key)) continue;
    n += HEADER_OVERHEAD_BYTES + Buffer.byteLength(key) + dataBytes(map[key], `header '${key}'`, index);
  }
  return n;
}

/** The message's timestamp (`now` when it has none), checked. */
export function timestampOf(t: unknown, now: number, index: number): number {
  if (t === undefined || t === null) return now;
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw rillError('INVALID_TIMESTAMP', `message ${index}: timestamp must be ms since the epoch, got ${String(t)}`);
  return t;
}
