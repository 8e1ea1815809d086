/**
 * Fetch: read many partitions, long-poll when there is not enough yet.
 *
 * Byte limits: each partition reads at most its `partitionMaxBytes`, and the response at most
 * `maxBytes` (itself capped by the broker's `fetch.max.bytes`), partitions filled in request
 * order; once the budget is spent, later partitions answer with no records (and their
 * offsets). Only whole batches are returned, and, as in Kafka (KIP-74), the first batch of the
 * response is returned even when it alone exceeds the limits, so a big batch never wedges a
 * consumer.
 *
 * Long poll: with fewer than `minBytes` in hand, no error and `maxWaitMs` > 0, the fetch parks
 * in the purgatory (fetch-purgatory.ts) and is re-read when enough bytes were appended to its
 * partitions or `maxWaitMs` passed. A partition error (unknown partition, offset out of range)
 * answers at once.
 *
 * `records` is an empty `bin` when there is nothing to return, null on a partition error, whose
 * reason is in `errorMessage`.
 */
import { rillError } from '../../protocol/errors.js';
import type { FetchPartitionResponse, FetchRequest, FetchResponse } from '../../protocol/apis/index.js';
import { BATCH_HEADER_BYTES, batchSize, readRecordCount } from '../../protocol/record-batch.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import type { BrokerContext, Handler } from '../context.js';
import { classifyError } from '../error-codes.js';

const EMPTY = Buffer.alloc(0);

interface FetchRead {
  response: FetchResponse;
  bytes: number;
  anyError: boolean;
  logs: PartitionLog[];
}

async function readFetch(ctx: BrokerContext, req: FetchRequest, maxBytes: number): Promise<FetchRead> {
  let bytes = 0;
  let anyError = false;
  const logs: PartitionLog[] = [];
  const topics: FetchResponse['topics'] = [];
  for (const t of req.topics) {
    const partitions: FetchPartitionResponse[] = [];
    for (const p of t.partitions) {
      const log = ctx.topics.partitionLog(t.name, p.partition);
      if (log === undefined) {
        anyError = true;
        const e = ctx.topics.noSuchPartition(t.name, p.partition);
        partitions.push({ partition: p.partition, errorCode: e.code, errorMessage: e.message, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: null });
        continue;
      }
      logs.push(log);
      const remaining = maxBytes - bytes;
      try {
        let records: Buffer = EMPTY;
        let highWatermark = log.highWatermark;
        let logStartOffset = log.logStartOffset;
        if (remaining > 0 || bytes === 0) {
          const r = await log.read(p.fetchOffset, Math.min(p.partitionMaxBytes, remaining), { minOneBatch: bytes === 0 });
          records = r.records;
          highWatermark = r.highWatermark;
          logStartOffset = r.logStartOffset;
        } else if (p.fetchOffset < logStartOffset || p.fetchOffset > highWatermark) {
          // The budget is spent, so nothing is read, but a bad offset is still reported.
          throw rillError('OFFSET_OUT_OF_RANGE', `Offset ${p.fetchOffset} is outside [${logStartOffset}, ${highWatermark}] of ${t.name}-${p.partition}`);
        }
        bytes += records.length;
        partitions.push({ partition: p.partition, errorCode: 0, errorMessage: null, highWatermark, lastStableOffset: highWatermark, logStartOffset, records });
      } catch (err) {
        anyError = true;
        const e = classifyError(err);
        if (e.level !== null) ctx.logger[e.level]({ err, topic: t.name, partition: p.partition }, 'fetch read failed');
        partitions.push({
          partition: p.partition,
          errorCode: e.code,
          errorMessage: e.message,
          highWatermark: log.highWatermark, lastStableOffset: log.highWatermark, logStartOffset: log.logStartOffset, records: null });
      }
    }
    topics.push({ name: t.name, partitions });
  }
  return { response: { throttleTimeMs: 0, errorCode: 0, topics }, bytes, anyError, logs };
}

/** Records and bytes served, per topic (whole batches only; headers read, records untouched). */
function countOut(ctx: BrokerContext, response: FetchResponse): void {
  for (const t of response.topics) {
    let messages = 0;
    let bytes = 0;
    for (const p of t.partitions) {
      const records = p.records as Buffer | null;
      if (records === null || records.length === 0) continue;
      bytes += records.length;
      let pos = 0;
      while (records.length - pos >= BATCH_HEADER_BYTES) {
        messages += readRecordCount(records, pos);
        pos += batchSize(records, pos);
      }
    }
    if (bytes > 0) {
      ctx.metrics.messagesOut.inc({ topic: t.name }, messages);
      ctx.metrics.bytesOut.inc({ topic: t.name }, bytes);
    }
  }
}

export const fetchHandler: Handler<'Fetch'> = async (ctx, req, conn) => {
  const maxBytes = Math.min(req.maxBytes, ctx.config['fetch.max.bytes']);
  let result = await readFetch(ctx, req, maxBytes);
  const satisfied = req.maxWaitMs === 0 || result.bytes >= req.minBytes || result.anyError || result.logs.length === 0 || ctx.closing;
  if (!satisfied) {
    result = await ctx.purgatory.park({
      logs: result.logs,
      missingBytes: req.minBytes - result.bytes,
      maxWaitMs: req.maxWaitMs,
      signal: conn.signal,
      current: result,
      complete: () => readFetch(ctx, req, maxBytes),
    });
  }
  countOut(ctx, result.response);
  return result.response;
};
