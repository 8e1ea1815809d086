import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { Fixture, batch, createTopic, produce } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('ListOffsets', () => {
  it('answers earliest, latest and by timestamp', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 2);
    // Records at t=1000, 2000, 3000 (offsets 0..2) and 2500 (offset 3, out of order in time).
    await produce(client, 't', 0, batch([{ value: 'a', timestamp: 1000 }, { value: 'b', timestamp: 2000 }]));
    await produce(client, 't', 0, batch([{ value: 'c', timestamp: 3000 }, { value: 'd', timestamp: 2500 }]));
    const r = await client.request('ListOffsets', {
      topics: [
        {
          name: 't',
          partitions: [
            { partition: 0, timestamp: -2 },
            { partition: 0, timestamp: -1 },
            { partition: 0, timestamp: 0 },
            { partition: 0, timestamp: 1500 },
            { partition: 0, timestamp: 2000 },
            { partition: 0, timestamp: 2600 },
            { partition: 0, timestamp: 3001 },
            { partition: 1, timestamp: -1 },
            { partition: 9, timestamp: -1 },
          ],
        },
        { name: 'nope', partitions: [{ partition: 0, timestamp: -2 }] },
      ],
    });
    expect(r.topics[0]!.partitions.map((p) => [p.errorCode, p.offset, p.timestamp])).toEqual([
      [0, 0, -1],
      [0, 4, -1],
      [0, 0, 1000],
      [0, 1, 2000],
      [0, 1, 2000],
      [0, 2, 3000],
      [0, -1, -1],
      [0, 0, -1],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
    ]);
    expect(r.topics[1]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
