import { afterEach, describe, expect, it } from 'vitest';
import { decodeBatches } from '../../protocol/record-batch.js';
import { Fixture, batch, createTopic, fetchOnce, produce } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('partitionLeaderEpoch', () => {
  it('the broker stamps the leader epoch Metadata reports over the producer\'s -1, and the CRC still holds', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    const sent = batch(['a', 'b']); // encodeBatch default: partitionLeaderEpoch -1, as producers send
    expect(decodeBatches(sent)[0]!.header.partitionLeaderEpoch).toBe(-1);
    expect((await produce(client, 't', 0, sent)).errorCode).toBe(0);

    const meta = await client.request('Metadata', { topics: ['t'], allowAutoTopicCreation: false });
    const reported = meta.topics[0]!.partitions[0]!.leaderEpoch;
    expect(reported).toBe(0);
    // decodeBatches validates each batch's CRC: stamping must not break it.
    const fetched = decodeBatches((await fetchOnce(client, 't', 0, 0)).records as Buffer);
    expect(fetched.map((b) => b.header.partitionLeaderEpoch)).toEqual([reported]);
  });

  it('a new leader epoch on the partition log reaches later batches and Metadata; earlier batches keep theirs', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 1);
    await produce(client, 't', 0, batch(['before']));
    broker.context.logs.get('t', 0)!.setLeaderEpoch(5);
    await produce(client, 't', 0, batch(['after'], { partitionLeaderEpoch: 2 }));

    const meta = await client.request('Metadata', { topics: ['t'], allowAutoTopicCreation: false });
    expect(meta.topics[0]!.partitions[0]!.leaderEpoch).toBe(5);
    const fetched = decodeBatches((await fetchOnce(client, 't', 0, 0)).records as Buffer);
    expect(fetched.map((b) => [b.header.baseOffset, b.header.partitionLeaderEpoch])).toEqual([[0, 0], [1, 5]]);
  });
});
