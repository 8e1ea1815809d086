/**
 * The Produce request's payload as a chunk list (see ../msgpack-chunks.ts): the envelope
 * `{ acks, timeoutMs, topics: [{ name, partitions: [{ partition, records }] }] }` (produce.ts)
 * encoded by hand in that key order, each partition's `records` written as the caller's Buffer
 * itself. It decodes to exactly what msgpack of the same object decodes to, so the broker reads
 * it with the generic path; only the client's write avoids copying every batch.
 */
import { MsgpackChunkWriter, encodedString } from '../msgpack-chunks.js';
import type { ProduceRequest } from './produce.js';

const K = {
  acks: encodedString('acks'),
  timeoutMs: encodedString('timeoutMs'),
  topics: encodedString('topics'),
  name: encodedString('name'),
  partitions: encodedString('partitions'),
  partition: encodedString('partition'),
  records: encodedString('records'),
};

export function encodeProduceRequestChunks(request: ProduceRequest): { chunks: Buffer[]; totalBytes: number } {
  const w = new MsgpackChunkWriter();
  w.mapHeader(3).raw(K.acks).int(request.acks).raw(K.timeoutMs).int(request.timeoutMs).raw(K.topics).arrayHeader(request.topics.length);
  for (const t of request.topics) {
    w.mapHeader(2).raw(K.name).str(t.name).raw(K.partitions).arrayHeader(t.partitions.length);
    for (const p of t.partitions) w.mapHeader(2).raw(K.partition).int(p.partition).raw(K.records).bin(p.records);
  }
  return w.finish();
}
