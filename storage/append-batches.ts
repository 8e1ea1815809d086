/**
 * The checks of an append before anything changes: the structure of the batches handed to
 * PartitionLog.append / appendAsFollower (one pass reading the header fields the append path
 * needs, or a typed error naming the first bad batch), and the idempotent-producer verdicts
 * of a leader's append. Nothing in the buffer or the producer state changes here.
 */
import { rillError } from '../protocol/errors.js';
import {
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  MAGIC,
  MIN_BATCH_LENGTH,
  readBatchLength,
  readLastOffsetDelta,
  readMagic,
  readMaxTimestamp,
  readProducerState,
  readRecordCount,
} from '../protocol/record-batch.js';
import type { ProducerAppendTxn, ProducerBatchMetadata, ProducerStateManager } from './producer-state.js';

export interface AppendBatch {
  /** Position in the appended buffer. */
  pos: number;
  sizeBytes: number;
  lastOffsetDelta: number;
  /** Assigned by append() once every batch passed its checks (kept as is by a follower). */
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

/**
 * Every batch of `records`, checked for framing; a batch over `maxBatchBytes` is refused with
 * MESSAGE_TOO_LARGE (a follower passes Infinity: its leader already accepted the batch).
 */
export function parseAppendBatches(records: Buffer, maxBatchBytes: number, topic: string, partition: number): AppendBatch[] {
  const batches: AppendBatch[] = [];
  let pos = 0;
  if (records.length === 0) throw rillError('CORRUPT_MESSAGE', 'No record batch to append');
  while (pos < records.length) {
    const left = records.length - pos;
    if (left < BATCH_HEADER_BYTES) throw rillError('CORRUPT_MESSAGE', `Truncated record batch: ${left} bytes at position ${pos}`);
    const magic = readMagic(records, pos);
    if (magic !== MAGIC) throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has magic ${magic}, expected ${MAGIC}`);
    const batchLength = readBatchLength(records, pos);
    if (batchLength < MIN_BATCH_LENGTH) throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has batchLength ${batchLength}`);
    const sizeBytes = LOG_OVERHEAD + batchLength;
    if (sizeBytes > left) throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} claims ${sizeBytes} bytes, ${left} present`);
    if (sizeBytes > maxBatchBytes) {
      throw rillError('MESSAGE_TOO_LARGE', `Record batch of ${sizeBytes} bytes exceeds max.message.bytes ${maxBatchBytes}`, { topic, partition });
    }
    const lastOffsetDelta = readLastOffsetDelta(records, pos);
    const recordCount = readRecordCount(records, pos);
    if (lastOffsetDelta < 0 || recordCount < 0 || lastOffsetDelta < recordCount - 1) {
      throw rillError('CORRUPT_MESSAGE', `Record batch at position ${pos} has lastOffsetDelta ${lastOffsetDelta} and recordCount ${recordCount}`);
    }
    batches.push({ pos, sizeBytes, lastOffsetDelta, baseOffset: -1, lastOffset: -1, maxTimestamp: readMaxTimestamp(records, pos) });
    pos += sizeBytes;
  }
  return batches;
}

/**
 * Judges every idempotent batch of a leader's append whose first offset will be `firstOffset`:
 * null when there is none, the duplicate (first one found, as Kafka does) or a transaction to
 * record the accepted ones in. Throws on a bad sequence. Nothing changes until the caller
 * commits the transaction.
 */
export function judgeProducerBatches(
  producers: ProducerStateManager,
  records: Buffer,
  batches: readonly AppendBatch[],
  firstOffset: number,
  nowMs: number,
): ProducerAppendTxn | { duplicate: ProducerBatchMetadata } | null {
  let txn: ProducerAppendTxn | null = null;
  let offset = firstOffset;
  for (const b of batches) {
    const { producerId, producerEpoch, baseSequence } = readProducerState(records, b.pos);
    const lastOffsetDelta = b.lastOffsetDelta;
    if (producerId >= 0) {
      txn ??= producers.begin();
      const info = { producerId, producerEpoch, baseSequence, lastOffsetDelta };
      const verdict = txn.check(info);
      if (verdict.kind === 'duplicate') return { duplicate: verdict.batch };
      // Recorded in the transaction only: later batches of the same call see it, the
      // manager sees it on commit (once every batch passed).
      txn.record(info, offset, b.maxTimestamp, nowMs);
    }
    offset += lastOffsetDelta + 1;
  }
  return txn;
}
