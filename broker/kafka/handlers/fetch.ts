/**
 * Fetch: translated to the rill Fetch handler, so Kafka consumers get the same reads, byte
 * limits (KIP-74: the first batch even when over the limit) and long poll (`maxWaitMs` /
 * `minBytes` in the broker's fetch purgatory). Record batches are served as stored.
 *
 * No transactions, so `isolationLevel` changes nothing: the last stable offset is the high
 * watermark and there are never aborted transactions. No fetch sessions (KIP-227): every
 * answer carries sessionId 0, which tells the client to keep sending full requests; a request
 * naming a session (sessionId != 0) can only be a stale incremental one and is answered
 * FETCH_SESSION_ID_NOT_FOUND, so the client starts over with a full fetch.
 */
import type { FETCH, KafkaRequestBody, KafkaResponseInput } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof FETCH>;
type Res = KafkaResponseInput<typeof FETCH>;

/** Kafka's FETCH_SESSION_ID_NOT_FOUND (not in rill's own error table: rill has no sessions). */
const FETCH_SESSION_ID_NOT_FOUND = 70;

export const fetchHandler: KafkaHandler = async (ctx, body, _info, conn) => {
  const req = body as Req;
  if (req.sessionId !== 0) {
    const res: Res = { throttleTimeMs: 0, errorCode: FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    return res;
  }
  const rill = await callRill(
    ctx,
    'Fetch',
    {
      replicaId: -1,
      maxWaitMs: Math.max(0, req.maxWaitMs),
      minBytes: Math.max(0, req.minBytes),
      maxBytes: req.maxBytes,
      topics: req.topics.map((t) => ({
        name: t.topic,
        partitions: t.partitions.map((p) => ({ partition: p.partition, currentLeaderEpoch: p.currentLeaderEpoch, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes })),
      })),
    },
    conn,
  );
  const res: Res = {
    throttleTimeMs: 0,
    errorCode: rill.errorCode,
    sessionId: 0,
    responses: rill.topics.map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partition,
        errorCode: p.errorCode,
        highWatermark: p.highWatermark,
        lastStableOffset: p.lastStableOffset,
        logStartOffset: p.logStartOffset,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: p.records === null ? null : Buffer.isBuffer(p.records) ? p.records : Buffer.from(p.records.buffer, p.records.byteOffset, p.records.byteLength),
      })),
    })),
  };
  return res;
};
