/**
 * The Fetch response's payload as a chunk list (see ../msgpack-chunks.ts): the envelope
 * `{ throttleTimeMs, errorCode, topics: [{ name, partitions: [{ partition, errorCode,
 * errorMessage, highWatermark, lastStableOffset, logStartOffset, records }] }] }` (fetch.ts)
 * encoded by hand in that key order, each partition's `records` (whole batches read from the
 * log) written as the broker's Buffer itself, never copied into one response buffer. Offsets
 * are msgpack integers (int64/uint64 beyond 32 bits). It decodes to what msgpack of the same
 * object decodes to, so clients read it with the generic path.
 */
import { MsgpackChunkWriter } from '../msgpack-chunks.js';
import type { FetchResponse } from './fetch.js';

export function encodeFetchResponseChunks(response: FetchResponse): { chunks: Buffer[]; totalBytes: number } {
  const w = new MsgpackChunkWriter();
  w.mapHeader(3).str('throttleTimeMs').int(response.throttleTimeMs).str('errorCode').int(response.errorCode).str('topics').arrayHeader(response.topics.length);
  for (const t of response.topics) {
    w.mapHeader(2).str('name').str(t.name).str('partitions').arrayHeader(t.partitions.length);
    for (const p of t.partitions) {
      w.mapHeader(7).str('partition').int(p.partition).str('errorCode').int(p.errorCode).str('errorMessage');
      if (p.errorMessage === null || p.errorMessage === undefined) w.nil();
      else w.str(p.errorMessage);
      w.str('highWatermark').int(p.highWatermark).str('lastStableOffset').int(p.lastStableOffset).str('logStartOffset').int(p.logStartOffset).str('records');
      if (p.records === null) w.nil();
      else w.bin(p.records);
    }
  }
  return w.finish();
}
