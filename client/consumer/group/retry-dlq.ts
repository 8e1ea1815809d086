/**
 * What happens when a run() handler throws, for consumers with a groupId or a deadLetterTopic
 * (docs/CLIENT.md, "Handler failures"):
 *
 *  1. the handler is called again for the same message (eachBatch: the batch from its first
 *     unresolved message), up to `retry.retries` more times, with exponential backoff and
 *     jitter between `initialBackoffMs` and `maxBackoffMs`; the partition waits meanwhile (its
 *     order is kept). A revocation, pause, seek, stop() or close() ends the wait at once and
 *     the message stays unprocessed (it is delivered again, here or to the next owner);
 *  2. then, for eachMessage with a `deadLetterTopic`, the message is produced there — same
 *     key, value and headers plus the `rill.dlq.*` headers below — by an idempotent acks=all
 *     producer, and once that is acknowledged it counts as processed (so it is committed) and
 *     consumption moves on;
 *  3. otherwise the partition is paused at the failed message and the error is surfaced as a
 *     ConsumerHandlerError (consumer.ts decides how: the 'error' event, else run() rejects).
 *
 * eachBatch failures are never dead-lettered: a batch handler that throws does not say which
 * message failed, so it gets step 1 and then step 3.
 */
import type { Logger } from 'pino';
import type { Producer } from '../../producer/producer.js';
import { backoffMs, sleep } from '../../retry.js';
import type { ConsumedMessage, Message, MessageHeaders, RetryOptions } from '../../types.js';

/** Headers added to a dead-lettered message; the values are UTF-8 strings. */
export const DLQ_HEADERS = {
  /** The topic the message was consumed from. */
  topic: 'rill.dlq.topic',
  /** Its partition, in decimal. */
  partition: 'rill.dlq.partition',
  /** Its offset, in decimal. */
  offset: 'rill.dlq.offset',
  /** The last error's message (its `name: message`, at most DLQ_ERROR_MAX_CHARS). */
  error: 'rill.dlq.error',
  /** How many times the handler was called for it, in decimal. */
  attempts: 'rill.dlq.attempts',
} as const;

export const DLQ_ERROR_MAX_CHARS = 1000;

/** A handler kept failing for a message (or batch) after its retries; the partition is paused there. */
export class ConsumerHandlerError extends Error {
  readonly topic: string;
  readonly partition: number;
  /** The failed message (eachBatch: the first unresolved message of the batch). */
  readonly offset: number;
  readonly attempts: number;

  constructor(handler: 'eachMessage' | 'eachBatch', topic: string, partition: number, offset: number, attempts: number, cause: unknown) {
    super(`${handler} failed for ${topic}[${partition}] at offset ${offset} after ${attempts} attempt${attempts === 1 ? '' : 's'}; the partition is paused: ${describeError(cause)}`, { cause });
    this.name = 'ConsumerHandlerError';
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.attempts = attempts;
  }
}

export type HandlerOutcome =
  | { kind: 'processed' }
  /** The partition went stale (revoked, paused, seeked) or the run stopped: not processed, no error. */
  | { kind: 'abandoned' }
  | { kind: 'failed'; error: unknown; attempts: number };

export interface AttemptControl {
  /** True once the partition was revoked, paused or seeked, or the run is stopping. */
  isStale(): boolean;
  /** Aborted at the same moments, to cut a backoff short. */
  signal: AbortSignal;
}

export interface FailurePolicyOptions {
  retry: RetryOptions;
  deadLetterTopic: string | null;
  /** The producer for dead letters (created on first use by the consumer). */
  producer: () => Producer;
  logger: Logger;
}

export class HandlerFailurePolicy {
  readonly deadLetterTopic: string | null;

  constructor(private readonly opts: FailurePolicyOptions) {
    this.deadLetterTopic = opts.deadLetterTopic;
  }

  /**
   * Calls `attempt(n)` (n = 1, 2, ...) until it resolves, retries run out, or the partition goes
   * stale. A stale partition is given up after the attempt in progress, never retried.
   */
  async run(attempt: (n: number) => Promise<void>, ctrl: AttemptControl): Promise<HandlerOutcome> {
    const maxAttempts = 1 + this.opts.retry.retries;
    for (let n = 1; ; n++) {
      try {
        await attempt(n);
        return { kind: 'processed' };
      } catch (error) {
        if (ctrl.isStale()) return { kind: 'abandoned' };
        if (n >= maxAttempts) return { kind: 'failed', error, attempts: n };
        const waitMs = backoffMs(this.opts.retry, n);
        this.opts.logger.debug({ err: describeError(error), attempt: n, waitMs }, 'handler failed; will retry');
        try {
          await sleep(waitMs, ctrl.signal);
        } catch {
          return { kind: 'abandoned' };
        }
        if (ctrl.isStale()) return { kind: 'abandoned' };
      }
    }
  }

  /** Produces `m` to the dead-letter topic and waits for the ack. */
  async deadLetter(m: ConsumedMessage, error: unknown, attempts: number): Promise<void> {
    const topic = this.deadLetterTopic;
    if (topic === null) throw new Error('no deadLetterTopic is configured');
    await this.opts.producer().send({ topic, messages: [deadLetterMessage(m, error, attempts)] });
    this.opts.logger.warn({ topic: m.topic, partition: m.partition, offset: m.offset, attempts, deadLetterTopic: topic, err: describeError(error) }, 'message dead-lettered');
  }
}

/** The dead letter for `m`: its key, value and headers, plus the rill.dlq.* headers. */
export function deadLetterMessage(m: ConsumedMessage, error: unknown, attempts: number): Message {
  // Null header values are kept as they are: the producer encodes them as Kafka's null headers.
  const headers = { ...m.headers } as MessageHeaders;
  headers[DLQ_HEADERS.topic] = m.topic;
  headers[DLQ_HEADERS.partition] = String(m.partition);
  headers[DLQ_HEADERS.offset] = String(m.offset);
  headers[DLQ_HEADERS.error] = describeError(error).slice(0, DLQ_ERROR_MAX_CHARS);
  headers[DLQ_HEADERS.attempts] = String(attempts);
  return { key: m.key, value: m.value, headers };
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.name === 'Error' ? err.message : `${err.name}: ${err.message}`;
  return String(err);
}
