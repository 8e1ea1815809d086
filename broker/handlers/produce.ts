/**
 * Produce: validate every batch, append, answer per partition.
 *
 * Validation before append (the log trusts what it is given): each batch in the `records`
 * blob passes `validateBatch` (magic, length, CRC-32C, at most the topic's max.message.bytes),
 * has no offset gaps (a producer's batch never has), is neither transactional nor a control
 * batch (rill has no transactions). Every codec Kafka has is accepted (none, gzip, snappy, lz4,
 * zstd) and the batch is stored as it arrived; its records are decompressed for the walk below
 * only, to at most decompressionLimitBytes(max.message.bytes) (a bomb is CORRUPT_MESSAGE).
 * Then every record's framing is walked (protocol/record-validation.ts) without
 * materializing the records: lengths that fit and are consumed exactly, offsetDelta i for record
 * i, exactly recordCount records, and for a compacted topic a key on every record. A batch that
 * fails the walk gets INVALID_RECORD with the reason, as Kafka's broker answers a record its
 * DefaultRecord.readFrom cannot read: the CRC only proves the bytes are the producer's, and a
 * malformed record once appended would stop every consumer at it. INVALID_RECORD, unlike
 * CORRUPT_MESSAGE (a CRC failure, maybe damage in transit), is not retriable: sending the same
 * bytes again cannot help.
 *
 * Internal topics (`__consumer_offsets`) are written by the broker only: a client produce to
 * one fails with INVALID_TOPIC_EXCEPTION, as in Kafka.
 *
 * Storage's append does the rest: offsets, LogAppendTime stamping, idempotent-producer
 * sequence checks (a duplicate is answered with its original offsets; a gap fails with
 * OUT_OF_ORDER_SEQUENCE_NUMBER), and it resolves per the topic's flush policy. On one broker
 * acks=1 and acks=-1 therefore both mean "written, and flushed if flush.messages says so"
 * (as on a Kafka leader, whose flush.messages flush also happens before its ack); acks=0 gets
 * no response at all (the dispatcher drops it).
 *
 * In a cluster (`ctx.cluster`), each partition goes through ClusterHandle.appendAsLeader: only
 * its leader appends (NOT_LEADER_OR_FOLLOWER elsewhere), and acks=all is answered once the ISR
 * has the batch (NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT at the
 * request's timeoutMs).
 *
 * Ordering: appends of one request, and of successive requests on one connection, reach the
 * logs in the order they were sent — storage assigns offsets in call order, and this handler
 * calls append synchronously unless it must wait for a topic to be auto-created, in which case
 * later produce requests of the same connection wait behind it (`creationGates`), so an
 * idempotent producer's pipelined batches never overtake each other.
 */
import { decompressionLimitBytes } from '../../protocol/compression/index.js';
import { ERRORS, rillError } from '../../protocol/errors.js';
import type { ProducePartitionResponse, ProduceRequest } from '../../protocol/apis/index.js';
import {
  CONTROL_MASK,
  TRANSACTIONAL_MASK,
  batchSize,
  validateBatch,
} from '../../protocol/record-batch.js';
import { PRODUCED_BATCH_RULES, PRODUCED_COMPACTED_BATCH_RULES, checkBatchRecords } from '../../protocol/record-validation.js';
import { isCompacted, type LogConfig } from '../../storage/log-config.js';
import type { AppendResult } from '../../storage/partition-log.js';
import type { BrokerContext, ConnectionInfo, Handler } from '../context.js';
import { classifyError } from '../error-codes.js';
import type { TopicInfo } from '../topic-registry.js';

/** Per connection: settles when that connection's topic auto-creations are done. */
const creationGates = new WeakMap<ConnectionInfo, Promise<void>>();

interface Validated {
  messages: number;
}

/** msgpack `bin` decodes to a Buffer in Node; a plain Uint8Array is wrapped without a copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Checks every batch of a produce blob (see the file comment); returns the record count. */
export function validateProduceRecords(buf: Buffer, config: LogConfig): Validated {
  if (buf.length === 0) throw rillError('CORRUPT_MESSAGE', 'The produce request carries no record batch');
  const compacted = isCompacted(config);
  let messages = 0;
  let pos = 0;
  while (pos < buf.length) {
    const header = validateBatch(buf, pos, config.maxMessageBytes);
    if ((header.attributes & (TRANSACTIONAL_MASK | CONTROL_MASK)) !== 0) {
      throw rillError('INVALID_RECORD', `Record batch at position ${pos} is transactional or a control batch; rill has no transactions`);
    }
    if (header.lastOffsetDelta !== header.recordCount - 1) {
      throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has lastOffsetDelta ${header.lastOffsetDelta} for ${header.recordCount} records; a producer's batch has no gaps`);
    }
    const rules = compacted ? PRODUCED_COMPACTED_BATCH_RULES : PRODUCED_BATCH_RULES;
    const malformed = checkBatchRecords(buf, pos, header, rules, decompressionLimitBytes(config.maxMessageBytes));
    if (malformed !== null) throw rillError('INVALID_RECORD', `Record batch at position ${pos} (${header.recordCount} records): ${malformed}`);
    messages += header.recordCount;
    pos += batchSize(buf, pos);
  }
  return { messages };
}

function failed(partition: number, err: unknown, ctx: BrokerContext, topic: string): ProducePartitionResponse {
  const e = classifyError(err);
  if (e.level !== null) ctx.logger[e.level]({ err, topic, partition }, 'produce failed');
  return { partition, errorCode: e.code, errorMessage: e.message, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

function unknownPartition(partition: number, topic: string): ProducePartitionResponse {
  return { partition, errorCode: ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code, errorMessage: `Unknown topic-partition ${topic}-${partition}`, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

/** Resolves every topic of the request, auto-creating the missing ones. */
async function resolveTopics(ctx: BrokerContext, req: ProduceRequest, conn: ConnectionInfo): Promise<Map<string, TopicInfo | Error | null>> {
  // Wait behind earlier produce requests of this connection that are creating topics.
  for (let gate = creationGates.get(conn); gate !== undefined; gate = creationGates.get(conn)) await gate;

  const resolved = new Map<string, TopicInfo | Error | null>();
  const pending: Array<Promise<void>> = [];
  for (const t of req.topics) {
    if (resolved.has(t.name)) continue;
    let found: ReturnType<typeof ctx.topics.getOrAutoCreate>;
    try {
      found = ctx.topics.getOrAutoCreate(t.name);
    } catch (err) {
      resolved.set(t.name, err as Error);
      continue;
    }
    if (found === undefined) resolved.set(t.name, null);
    else if (found instanceof Promise) {
      resolved.set(t.name, null);
      pending.push(
        found.then(
          (info) => void resolved.set(t.name, info),
          (err: unknown) => void resolved.set(t.name, err as Error),
        ),
      );
    } else resolved.set(t.name, found);
  }
  if (pending.length > 0) {
    const gate: Promise<void> = Promise.all(pending).then(() => {
      if (creationGates.get(conn) === gate) creationGates.delete(conn);
    });
    creationGates.set(conn, gate);
    await gate;
  }
  return resolved;
}

export const produceHandler: Handler<'Produce'> = async (ctx, req, conn) => {
  const topics = await resolveTopics(ctx, req, conn);
  // Start every append synchronously, in request order; then wait for all of them.
  const out = req.topics.map((t) => {
    const topic = topics.get(t.name);
    const config = topic instanceof Error || topic == null ? undefined : ctx.topics.effectiveConfig(t.name);
    const partitions = t.partitions.map((p): ProducePartitionResponse | Promise<ProducePartitionResponse> => {
      if (topic instanceof Error) return failed(p.partition, topic, ctx, t.name);
      if (topic != null && topic.internal) {
        return failed(p.partition, rillError('INVALID_TOPIC_EXCEPTION', `Cannot produce to internal topic '${t.name}': only the broker writes it`), ctx, t.name);
      }
      const cluster = ctx.cluster;
      const log = topic == null || cluster !== null ? undefined : ctx.topics.partitionLog(t.name, p.partition);
      if (config === undefined || (cluster === null ? log === undefined : p.partition >= topic!.partitions)) return unknownPartition(p.partition, t.name);
      const records = asBuffer(p.records);
      let messages: number;
      try {
        ({ messages } = validateProduceRecords(records, config));
      } catch (err) {
        return failed(p.partition, err, ctx, t.name);
      }
      // In a cluster only the leader appends; acks=all waits for the ISR (replication purgatory).
      const appended = cluster === null ? log!.append(records) : cluster.appendAsLeader(t.name, p.partition, records, req.acks === -1 ? -1 : 1, req.timeoutMs);
      return appended.then(
        (r: AppendResult) => {
          if (!r.duplicate) {
            ctx.metrics.messagesIn.inc({ topic: t.name }, messages);
            ctx.metrics.bytesIn.inc({ topic: t.name }, records.length);
          }
          return { partition: p.partition, errorCode: 0, errorMessage: null, baseOffset: r.baseOffset, logAppendTimeMs: r.logAppendTimeMs, logStartOffset: r.logStartOffset };
        },
        (err: unknown) => failed(p.partition, err, ctx, t.name),
      );
    });
    return { name: t.name, partitions };
  });
  const topicsOut = [];
  for (const t of out) topicsOut.push({ name: t.name, partitions: await Promise.all(t.partitions) });
  return { throttleTimeMs: 0, topics: topicsOut };
};
