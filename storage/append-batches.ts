/**
 * Structure checks of the batches handed to PartitionLog.append / appendAsFollower: one pass
 * over the buffer that reads each batch's header fields the append path needs, or throws a
 * typed error naming the first bad batch. Nothing in the buffer changes here.
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
  readRecordCount,
} from '../protocol/record-batch.js';

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
