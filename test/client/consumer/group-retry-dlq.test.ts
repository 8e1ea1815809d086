import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DLQ_ERROR_MAX_CHARS, DLQ_HEADERS, HandlerFailurePolicy, deadLetterMessage } from '../../../client/consumer/group/retry-dlq.js';
import type { ConsumedMessage } from '../../../client/types.js';

const logger = pino({ level: 'silent' });

/** Dead-lettering itself goes through a real producer and broker: test/integration/groups-dlq.test.ts. */
function policy(retries: number): HandlerFailurePolicy {
  return new HandlerFailurePolicy({
    retry: { retries, initialBackoffMs: 1, maxBackoffMs: 4 },
    deadLetterTopic: null,
    producer: () => {
      throw new Error('no dead-letter topic here');
    },
    logger,
  });
}

function control(): { isStale: () => boolean; signal: AbortSignal; abort: () => void; stale: { value: boolean } } {
  const ac = new AbortController();
  const stale = { value: false };
  return { isStale: () => stale.value, signal: ac.signal, abort: () => ac.abort(), stale };
}

const message: ConsumedMessage = {
  topic: 'orders',
  partition: 3,
  offset: 1234,
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  headers: { trace: Buffer.from('abc'), empty: null },
  timestamp: 1_700_000_000_000,
};

describe('handler failure policy', () => {
  it('retries up to `retries` more times, then reports the last error and the attempt count', async () => {
    let calls = 0;
    const out = await policy(3).run(async (n) => {
      calls++;
      expect(n).toBe(calls);
      throw new Error(`fail ${n}`);
    }, control());
    expect(calls).toBe(4);
    expect(out.kind).toBe('failed');
    if (out.kind === 'failed') {
      expect(out.attempts).toBe(4);
      expect((out.error as Error).message).toBe('fail 4');
    }
  });

  it('stops at the first success', async () => {
    let calls = 0;
    const out = await policy(5).run(async () => {
      if (++calls < 3) throw new Error('not yet');
    }, control());
    expect(out).toEqual({ kind: 'processed' });
    expect(calls).toBe(3);
  });

  it('gives up without an error when the partition goes stale during the backoff', async () => {
    const ctrl = control();
    let calls = 0;
    const slow = new HandlerFailurePolicy({ retry: { retries: 5, initialBackoffMs: 60_000, maxBackoffMs: 60_000 }, deadLetterTopic: null, producer: () => {
      throw new Error('no dead-letter topic here');
    }, logger });
    const running = slow.run(async () => {
      calls++;
      throw new Error('x');
    }, ctrl);
    await new Promise((r) => setTimeout(r, 20));
    ctrl.stale.value = true;
    ctrl.abort();
    expect(await running).toEqual({ kind: 'abandoned' });
    expect(calls).toBe(1);
  });

  it('builds the dead letter: key, value and headers kept, rill.dlq.* added as strings', () => {
    const err = new TypeError('bad input');
    const dead = deadLetterMessage(message, err, 4);
    expect(dead.key).toBe(message.key);
    expect(dead.value).toBe(message.value);
    expect(dead.headers).toEqual({
      trace: message.headers.trace,
      empty: null,
      [DLQ_HEADERS.topic]: 'orders',
      [DLQ_HEADERS.partition]: '3',
      [DLQ_HEADERS.offset]: '1234',
      [DLQ_HEADERS.error]: 'TypeError: bad input',
      [DLQ_HEADERS.attempts]: '4',
    });
    expect((deadLetterMessage(message, new Error('y'.repeat(5000)), 1).headers![DLQ_HEADERS.error] as string).length).toBe(DLQ_ERROR_MAX_CHARS);
    expect(deadLetterMessage(message, 'a string was thrown', 1).headers![DLQ_HEADERS.error]).toBe('a string was thrown');
  });
});
