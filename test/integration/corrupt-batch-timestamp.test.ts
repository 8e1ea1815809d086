/**
 * A consumer starting at a timestamp in a log that holds a poisoned batch (valid CRC, a
 * malformed record, written straight into storage as corrupt-batch.test.ts does): ListOffsets
 * answers every timestamp instead of failing with the retriable CORRUPT_MESSAGE (a consumer
 * would retry it forever). A timestamp that lands on the poisoned batch answers its offset, and
 * fetching from there raises CorruptBatchError with the offsets to seek past.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptBatchError, type ConsumedMessage, type Consumer } from '../../client/index.js';
import { encodeBatch, readMaxTimestamp } from '../../protocol/record-batch.js';
import { poisonedBatch, readUntilError } from '../helpers/poisoned-batch.js';
import { TestEnv } from './harness.js';

const at = (values: string[], timestampMs: number): Buffer => encodeBatch(values.map((value, i) => ({ key: null, value, timestamp: timestampMs + i })));

describe('ListOffsets by timestamp over a poisoned batch', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  /** t-0: a0..a2 at 1000.. (0-2), b0, b1 at 2000.. (3-4), the poison at 5 (header maxTimestamp `poisonTs`), c0, c1 at poisonTs + 1000.. (6-7). */
  async function poisonedLog(): Promise<{ port: number; poisonTs: number }> {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    const log = broker.context.topics.partitionLog('t', 0)!;
    const poison = poisonedBatch();
    const poisonTs = readMaxTimestamp(poison);
    await log.append(at(['a0', 'a1', 'a2'], 1000));
    await log.append(at(['b0', 'b1'], 2000));
    expect((await log.append(poison)).baseOffset).toBe(5);
    await log.append(at(['c0', 'c1'], poisonTs + 1000));
    return { port: broker.port, poisonTs };
  }

  it('admin offsetsForTimes answers before, inside and after it', async () => {
    const { port, poisonTs } = await poisonedLog();
    const admin = env.client(port).admin();
    const offsetAt = async (ts: number): Promise<number> => (await admin.offsetsForTimes('t', ts))[0]!.offset;
    expect(await offsetAt(1500)).toBe(3);
    expect(await offsetAt(2002)).toBe(5);
    expect(await offsetAt(poisonTs)).toBe(5);
    expect(await offsetAt(poisonTs + 1)).toBe(6);
    expect(await offsetAt(poisonTs + 1001)).toBe(7);
    expect(await offsetAt(poisonTs + 1002)).toBe(-1);
  });

  it('a consumer assigned at a timestamp before or after it reads the good records', async () => {
    const { port, poisonTs } = await poisonedLog();
    const rill = env.client(port);
    const before = rill.consumer({ maxWaitMs: 50 });
    before.assign([{ topic: 't', partition: 0, offset: { timestamp: 1500 } }]);
    const early = await readUntilError(before, 2);
    expect(early.error).toBeNull();
    expect(early.messages.map((m) => [m.offset, m.value!.toString()])).toEqual([
      [3, 'b0'],
      [4, 'b1'],
    ]);
    const after = rill.consumer({ maxWaitMs: 50 });
    after.assign([{ topic: 't', partition: 0, offset: { timestamp: poisonTs + 1 } }]);
    const late = await readUntilError(after, 2);
    expect(late.error).toBeNull();
    expect(late.messages.map((m) => [m.offset, m.value!.toString()])).toEqual([
      [6, 'c0'],
      [7, 'c1'],
    ]);
  });

  it('a consumer assigned at a timestamp inside it gets CorruptBatchError, and a seek past it goes on', async () => {
    const { port, poisonTs } = await poisonedLog();
    const consumer = env.client(port).consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: { timestamp: poisonTs } }]);
    const { messages, error } = await readUntilError(consumer, 100);
    expect(messages).toEqual([]);
    expect(error).toBeInstanceOf(CorruptBatchError);
    expect(error).toMatchObject({ topic: 't', partition: 0, baseOffset: 5, lastOffset: 5 });
    consumer.seek({ topic: 't', partition: 0, offset: (error as CorruptBatchError).lastOffset + 1 });
    const rest = await readUntilError(consumer, 2);
    expect(rest.error).toBeNull();
    expect(rest.messages.map((m) => m.value!.toString())).toEqual(['c0', 'c1']);
  });
});
