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
 * In a cluster only the leader answers (NOT_LEADER_OR_FOLLOWER elsewhere; a `currentLeaderEpoch`
 * older than the leader's → FENCED_LEADER_EPOCH, newer → UNKNOWN_LEADER_EPOCH). A Fetch with
 * `replicaId` >= 0 is a follower's: it reads to the log end and reports the follower's position
 * (ClusterHandle.recordFollowerFetch) once per request; consumers read below the high watermark
 * and a parked consumer fetch wakes when the high watermark moves.
 *
 * `records` is an empty `bin` when there is nothing to return, null on a partition error, whose
 * reason is in `errorMessage`.
 */
import { rillError, type RillError } from '../../protocol/errors.js';
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

/** Per partition of a cluster fetch: the leader check's error, or null to read. */
type LeaderChecks = Map<string, RillError | null> | null;

/**
 * In a cluster: checks leadership (and currentLeaderEpoch) of every partition once per request,
 * and for a follower's fetch (replicaId >= 0) records its position at the leader, which may
 * expand the ISR and acknowledge parked acks=all produces. null on a standalone broker.
 */
function checkLeaders(ctx: BrokerContext, req: FetchRequest): LeaderChecks {
  const cluster = ctx.cluster;
  if (cluster === null) return null;
  const out = new Map<string, RillError | null>();
  for (const t of req.topics) {
    for (const p of t.partitions) {
      let err = cluster.checkLeader(t.name, p.partition, p.currentLeaderEpoch);
      if (err === null && req.replicaId >= 0) err = cluster.recordFollowerFetch(t.name, p.partition, req.replicaId, p.fetchOffset);
      out.set(`${t.name}\u0000${p.partition}`, err);
    }
  }
  return out;
}

async function readFetch(ctx: BrokerContext, req: FetchRequest, maxBytes: number, checks: LeaderChecks): Promise<FetchRead> {
  let bytes = 0;
  let anyError = false;
  const logs: PartitionLog[] = [];
  const topics: FetchResponse['topics'] = [];
  // A follower reads to the log end; consumers only below the high watermark.
  const isolation = checks !== null && req.replicaId >= 0 ? 'logEnd' : 'highWatermark';
  for (const t of req.topics) {
    const partitions: FetchPartitionResponse[] = [];
    for (const p of t.partitions) {
      const refused = checks?.get(`${t.name}\u0000${p.partition}`) ?? null;
      const log = refused !== null ? undefined : checks === null ? ctx.topics.partitionLog(t.name, p.partition) : ctx.cluster!.localLog(t.name, p.partition);
      if (log === undefined) {
        anyError = true;
        const e = refused ?? ctx.topics.noSuchPartition(t.name, p.partition);
        partitions.push({ partition: p.partition, errorCode: e.code, errorMessage: e.message, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: null });
        continue;
      }
      logs.push(log);
      const remaining = maxBytes - bytes;
      try {
        let records: Buffer = EMPTY;
        let highWatermark = log.highWatermark;
        let logStartOffset = log.logStartOffset;
        // Between the high watermark and the log end (a new leader's HW still catching up):
        // nothing to read yet, as in Kafka; not out of range.
        const aheadOfHw = isolation === 'highWatermark' && checks !== null && p.fetchOffset > highWatermark && p.fetchOffset <= log.logEndOffset;
        if (!aheadOfHw && (remaining > 0 || bytes === 0)) {
          const r = await log.read(p.fetchOffset, Math.min(p.partitionMaxBytes, remaining), { minOneBatch: bytes === 0, isolation });
          records = r.records;
          highWatermark = r.highWatermark;
          logStartOffset = r.logStartOffset;
        } else if (!aheadOfHw && (p.fetchOffset < logStartOffset || p.fetchOffset > highWatermark)) {
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
  const checks = checkLeaders(ctx, req);
  let result = await readFetch(ctx, req, maxBytes, checks);
  const satisfied = req.maxWaitMs === 0 || result.bytes >= req.minBytes || result.anyError || result.logs.length === 0 || ctx.closing;
  if (!satisfied) {
    result = await ctx.purgatory.park({
      logs: result.logs,
      missingBytes: req.minBytes - result.bytes,
      maxWaitMs: req.maxWaitMs,
      signal: conn.signal,
      current: result,
      // A consumer in a cluster waits for the high watermark to move, a follower for appends.
      waitFor: checks !== null && req.replicaId < 0 ? 'highWatermark' : 'append',
      complete: () => readFetch(ctx, req, maxBytes, checks),
    });
  }
  countOut(ctx, result.response);
  return result.response;
};
