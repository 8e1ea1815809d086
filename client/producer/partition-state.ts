/**
 * The sender's per-partition state: sequence numbers (idempotence.ts keeps them), the batches
 * in flight and the retry queue. One object per partition the producer has written to.
 */
import type { ProducerBatch } from './accumulator.js';

export interface PartitionSendState {
  topic: string;
  partition: number;
  /** partitionKey(topic, partition), the accumulator's queue key. */
  key: string;
  /** Sequence the next new batch gets. */
  nextSequence: number;
  /** Sequence of the last record acked, -1 before any. */
  lastAckedSequence: number;
  /** Batches sent and unanswered, oldest first. */
  inFlight: ProducerBatch[];
  /** Batches to send again, in sequence (creation) order. */
  retries: ProducerBatch[];
  /** True while re-sending the retry queue after a settled round. */
  resending: boolean;
}

export function newPartitionState(topic: string, partition: number, key: string): PartitionSendState {
  return { topic, partition, key, nextSequence: 0, lastAckedSequence: -1, inFlight: [], retries: [], resending: false };
}
