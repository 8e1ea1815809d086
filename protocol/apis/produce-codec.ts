/**
 * The Produce request's payload as a chunk list (see ../msgpack-chunks.ts): the envelope
 * `{ acks, timeoutMs, topics: [{ name, partitions: [{ partition, records }] }] }` (produce.ts)
 * encoded by hand in that key order, each partition's `records` written as the caller's Buffer
 * itself. It decodes to exactly what msgpack of the same object decodes to, so the broker reads
 * it with the generic path; only the client's write avoids copying every batch.
 */
import { MsgpackChunkWriter } from '../msgpack-chunks.js';
import type { ProduceRequest } from './produce.js';

export function encodeProduceRequestChunks(request: ProduceRequest): { chunks: Buffer[]; totalBytes: number } {
  const w = new MsgpackChunkWriter();
  w.mapHeader(3).str('acks').int(request.acks).str('timeoutMs').int(request.timeoutMs).str('topics').arrayHeader(request.topics.length);
  for (const t of request.topics) {
    w.mapHeader(2).str('name').str(t.name).str('partitions').arrayHeader(t.partitions.length);
    for (const p of t.partitions) w.mapHeader(2).str('partition').int(p.partition).str('records').bin(p.records);
  }
  return w.finish();
}
