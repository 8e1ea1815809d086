/**
 * send()'s input checks: an application Message becomes a PendingRecord (Buffers, headers as a
 * list, a timestamp), and acks settings are normalised. Bad input is a typed RillError.
 */
import { rillError } from '../../protocol/errors.js';
import type { AckMode, PendingRecord, RecordHeader } from './accumulator.js';
import type { Acks, Message, MessageHeaders } from '../types.js';

export function normalizeAcks(acks: Acks): AckMode {
  if (acks === 'all' || acks === -1) return -1;
  if (acks === 0 || acks === 1) return acks;
  throw rillError('INVALID_REQUIRED_ACKS', `acks must be 0, 1, -1 or 'all', got ${String(acks)}`);
}

function toBuffer(v: unknown, what: string, index: number): Buffer | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw rillError('INVALID_RECORD', `message ${index}: ${what} must be a Buffer, a string or null`);
}

const NO_HEADERS: RecordHeader[] = [];

function toHeaders(h: MessageHeaders | undefined, index: number): RecordHeader[] {
  if (h === undefined || h === null) return NO_HEADERS;
  const out: RecordHeader[] = [];
  for (const key of Object.keys(h)) out.push({ key, value: toBuffer(h[key], `header '${key}'`, index) });
  return out;
}

export function toPendingRecord(m: Message, now: number, index: number): PendingRecord {
  if (m === null || typeof m !== 'object') throw rillError('INVALID_RECORD', `message ${index} must be an object`);
  const timestamp = m.timestamp ?? now;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw rillError('INVALID_TIMESTAMP', `message ${index}: timestamp must be ms since the epoch, got ${timestamp}`);
  return { key: toBuffer(m.key, 'key', index), value: toBuffer(m.value, 'value', index), headers: toHeaders(m.headers, index), timestamp };
}
