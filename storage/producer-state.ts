/**
 * Idempotent-producer state of one partition (Kafka's ProducerStateManager, simplified: no
 * transactions, no snapshot files). For every producer id seen in the log it keeps the epoch
 * and the last PRODUCER_BATCH_CACHE_SIZE batches' sequence and offset ranges, and judges each
 * new batch:
 *
 *   unknown producer              any sequence is accepted (log start may have removed its history)
 *   epoch <  current epoch        INVALID_PRODUCER_EPOCH
 *   epoch >  current epoch        must start at sequence 0, else OUT_OF_ORDER_SEQUENCE_NUMBER
 *   same epoch, seq range equals a cached batch   duplicate: answer with that batch's offsets
 *   same epoch, baseSequence == lastSeq + 1       append
 *   same epoch, anything else     OUT_OF_ORDER_SEQUENCE_NUMBER
 *
 * Sequences wrap from 2^31-1 to 0. The state lives in memory only and is rebuilt on open from
 * the batch headers in the log (`replayBatch`), so it survives restarts and crashes as far as
 * the log itself does.
 */
import { rillError } from '../protocol/errors.js';

export const PRODUCER_BATCH_CACHE_SIZE = 5;
export const SEQUENCE_MAX = 0x7fffffff;
/** Producers silent for longer than this are forgotten by `removeExpired` (Kafka's producer.id.expiration.ms). */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000;

export interface ProducerBatchMetadata {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
  /** The batch's maxTimestamp (or the append wall clock if it has none). */
  timestampMs: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCH_CACHE_SIZE. */
  batches: ProducerBatchMetadata[];
  /** Wall clock of the last append (or the last replayed batch's timestamp). */
  lastUpdateMs: number;
}

export interface ProducerBatchInfo {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
}

/** `seq + by`, wrapping past 2^31-1 to 0 like Kafka's DefaultRecordBatch.incrementSequence. */
export function incrementSequence(seq: number, by: number): number {
  if (seq > SEQUENCE_MAX - by) return by - (SEQUENCE_MAX - seq) - 1;
  return seq + by;
}

export function lastSequenceOf(batch: ProducerBatchInfo): number {
  return incrementSequence(batch.baseSequence, batch.lastOffsetDelta);
}

export function lastSequenceOfEntry(entry: ProducerEntry): number {
  const last = entry.batches[entry.batches.length - 1];
  return last === undefined ? -1 : last.lastSeq;
}

/** What `check` decided for one batch. */
export type ProducerVerdict =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: ProducerBatchMetadata };

/**
 * Pending changes of one append call (it may carry several batches of the same producer):
 * checks see earlier batches of the same call, and nothing reaches the manager until `commit`.
 */
export class ProducerAppendTxn {
  private readonly pending = new Map<number, ProducerEntry>();

  constructor(private readonly manager: ProducerStateManager) {}

  private current(producerId: number): ProducerEntry | undefined {
    return this.pending.get(producerId) ?? this.manager.get(producerId);
  }

  /** Judges a batch against the state (including this call's earlier batches); throws on a bad one. */
  check(batch: ProducerBatchInfo): ProducerVerdict {
    const { producerId, producerEpoch, baseSequence } = batch;
    if (baseSequence < 0 || producerEpoch < 0) {
      throw rillError('OUT_OF_ORDER_SEQUENCE_NUMBER', `Producer ${producerId} sent epoch ${producerEpoch} and base sequence ${baseSequence}; an idempotent batch needs both >= 0`);
    }
    const entry = this.current(producerId);
    if (entry === undefined || entry.batches.length === 0) return { kind: 'append' };
    if (producerEpoch < entry.epoch) {
      throw rillError('INVALID_PRODUCER_EPOCH', `Producer ${producerId} epoch ${producerEpoch} is older than the current epoch ${entry.epoch}`);
    }
    if (producerEpoch > entry.epoch) {
      if (baseSequence !== 0) {
        throw rillError('OUT_OF_ORDER_SEQUENCE_NUMBER', `Producer ${producerId} started epoch ${producerEpoch} at sequence ${baseSequence}; a new epoch starts at 0`);
      }
      return { kind: 'append' };
    }
    const lastSeq = lastSequenceOf(batch);
    for (const cached of entry.batches) {
      if (cached.firstSeq === baseSequence && cached.lastSeq === lastSeq) return { kind: 'duplicate', batch: cached };
    }
    const expected = incrementSequence(lastSequenceOfEntry(entry), 1);
    if (baseSequence !== expected) {
      throw rillError('OUT_OF_ORDER_SEQUENCE_NUMBER', `Producer ${producerId} epoch ${producerEpoch}: expected sequence ${expected}, got ${baseSequence}`);
    }
    return { kind: 'append' };
  }

  /** Records an accepted batch (after `check` said append and offsets were assigned). */
  record(batch: ProducerBatchInfo, baseOffset: number, timestampMs: number, nowMs: number): void {
    const prev = this.current(batch.producerId);
    const entry: ProducerEntry = {
      producerId: batch.producerId,
      epoch: batch.producerEpoch,
      batches: prev !== undefined && prev.epoch === batch.producerEpoch ? prev.batches.slice() : [],
      lastUpdateMs: nowMs,
    };
    pushBatch(entry, {
      firstSeq: batch.baseSequence,
      lastSeq: lastSequenceOf(batch),
      baseOffset,
      lastOffset: baseOffset + batch.lastOffsetDelta,
      timestampMs,
    });
    this.pending.set(batch.producerId, entry);
  }

  commit(): void {
    for (const [id, entry] of this.pending) this.manager.set(id, entry);
    this.pending.clear();
  }
}

function pushBatch(entry: ProducerEntry, meta: ProducerBatchMetadata): void {
  entry.batches.push(meta);
  if (entry.batches.length > PRODUCER_BATCH_CACHE_SIZE) entry.batches.shift();
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();

  get(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  set(producerId: number, entry: ProducerEntry): void {
    this.producers.set(producerId, entry);
  }

  get size(): number {
    return this.producers.size;
  }

  begin(): ProducerAppendTxn {
    return new ProducerAppendTxn(this);
  }

  /**
   * Replays a batch header found in the log on open: trusts the log (no checks), keeps the
   * latest epoch and the last batches. A batch of an older epoch than the one known is ignored.
   */
  replayBatch(batch: ProducerBatchInfo, baseOffset: number, maxTimestampMs: number): void {
    if (batch.producerId < 0) return;
    let entry = this.producers.get(batch.producerId);
    if (entry !== undefined && batch.producerEpoch < entry.epoch) return;
    if (entry === undefined || batch.producerEpoch > entry.epoch) {
      entry = { producerId: batch.producerId, epoch: batch.producerEpoch, batches: [], lastUpdateMs: maxTimestampMs };
      this.producers.set(batch.producerId, entry);
    }
    pushBatch(entry, {
      firstSeq: batch.baseSequence,
      lastSeq: lastSequenceOf(batch),
      baseOffset,
      lastOffset: baseOffset + batch.lastOffsetDelta,
      timestampMs: maxTimestampMs,
    });
    entry.lastUpdateMs = Math.max(entry.lastUpdateMs, maxTimestampMs);
  }

  /** Forgets producers whose last append is older than `expirationMs`; returns how many. */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.producers) {
      if (nowMs - entry.lastUpdateMs > expirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.producers.clear();
  }
}
