/**
 * The Fetch response's payload as a chunk list (see ../msgpack-chunks.ts): the envelope
 * `{ throttleTimeMs, errorCode, topics: [{ name, partitions: [{ partition, errorCode,
 * errorMessage, highWatermark, lastStableOffset, logStartOffset, records }] }] }` (fetch.ts)
 * encoded by hand in that key order, each partition's `records` (whole batches read from the
 * log) written as the broker's Buffer itself, never copied into one response buffer. Offsets
 * are msgpack integers (int64/uint64 beyond 32 bits). It decodes to what msgpack of the same
 * object decodes to, so clients read it with the generic path.
 */
import { MsgpackChunkWriter, encodedString } from '../msgpack-chunks.js';
import type { FetchResponse } from './fetch.js';

const K = {
  throttleTimeMs: encodedString('throttleTimeMs'),
  errorCode: encodedString('errorCode'),
  topics: encodedString('topics'),
  name: encodedString('name'),
  partitions: encodedString('partitions'),
  partition: encodedString('partition'),
  errorMessage: encodedString('errorMessage'),
  highWatermark: encodedString('highWatermark'),
  lastStableOffset: encodedString('lastStableOffset'),
  logStartOffset: encodedString('logStartOffset'),
  records: encodedString('records'),
};

export function encodeFetchResponseChunks(response: FetchResponse): { chunks: Buffer[]; totalBytes: number } {
  const w = new MsgpackChunkWriter();
  w.mapHeader(3).raw(K.throttleTimeMs).int(response.throttleTimeMs).raw(K.errorCode).int(response.errorCode).raw(K.topics).arrayHeader(response.topics.length);
  for (const t of response.topics) {
    w.mapHeader(2).raw(K.name).str(t.name).raw(K.partitions).arrayHeader(t.partitions.length);
    for (const p of t.partitions) {
      w.mapHeader(7).raw(K.partition).int(p.partition).raw(K.errorCode).int(p.errorCode).raw(K.errorMessage);
      if (p.errorMessage === null || p.errorMessage === undefined) w.nil();
      else w.str(p.errorMessage);
      w.raw(K.highWatermark).int(p.highWatermark).raw(K.lastStableOffset).int(p.lastStableOffset).raw(K.logStartOffset).int(p.logStartOffset).raw(K.records);
      if (p.records === null) w.nil();
      else w.bin(p.records);
    }
  }
  return w.finish();
}
