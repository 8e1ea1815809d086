/**
 * What happens when a handler fails, wired for one consumer: with a group or a
 * `deadLetterTopic`, a HandlerFailurePolicy (group/retry-dlq.ts: retry, dead-letter or pause)
 * whose dead-letter producer (idempotent, acks all, no linger) is created on first use and
 * closed with the consumer; without either, null (run() rejects and the partition is rewound).
 */
import type { Logger } from 'pino';
import { validateTopicName } from '../../protocol/topic-name.js';
import type { ClientContext } from '../context.js';
import { Producer } from '../producer/producer.js';
import type { RetryOptions } from '../types.js';
import { HandlerFailurePolicy } from './group/retry-dlq.js';

export function handlerFailurePolicy(
  ctx: ClientContext,
  deadLetterTopic: string | null,
  inGroup: boolean,
  retry: RetryOptions,
  log: Logger,
  onClose: (hook: () => Promise<void>) => void,
): HandlerFailurePolicy | null {
  if (deadLetterTopic !== null) {
    const problem = typeof deadLetterTopic === 'string' ? validateTopicName(deadLetterTopic) : 'not a string';
    if (problem !== null) throw new RangeError(`deadLetterTopic must be a legal topic name: ${problem}`);
  }
  if (!inGroup && deadLetterTopic === null) return null;
  let producer: Producer | null = null;
  const deadLetterProducer = (): Producer => {
    if (producer === null) {
      const created = new Producer(ctx, { acks: 'all', idempotent: true, lingerMs: 0 });
      producer = created;
      onClose(() => created.close());
    }
    return producer;
  };
  return new HandlerFailurePolicy({ retry, deadLetterTopic, producer: deadLetterProducer, logger: log });
}
