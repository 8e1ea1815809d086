/**
 * A bug that makes a handler throw is logged and answered (UNKNOWN_SERVER_ERROR on every
 * partition of the request), never a crashed broker or a silent connection. The faults are
 * injected into a real broker's topic registry and partition log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { Fixture, batch, createTopic, fetchOnce, produce } from '../broker/harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('handler errors', () => {
  it('an exception escaping a handler → UNKNOWN_SERVER_ERROR per partition; the broker keeps serving', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 2);
    const registry = broker.context.topics;
    const original = registry.partitionLog.bind(registry);
    registry.partitionLog = () => {
      throw new TypeError('injected bug');
    };
    const r = await client.request('Produce', { acks: -1, timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partition: 0, records: batch(['a']) }, { partition: 1, records: batch(['b']) }] }] });
    expect(r.topics[0]!.partitions.map((p) => [p.partition, p.errorCode])).toEqual([
      [0, ErrorCode.UNKNOWN_SERVER_ERROR],
      [1, ErrorCode.UNKNOWN_SERVER_ERROR],
    ]);
    expect(r.topics[0]!.partitions[0]!.errorMessage).toBe('injected bug');
    registry.partitionLog = original;
    expect((await produce(client, 't', 0, batch(['c']))).errorCode).toBe(0);
  });

  it('a partition whose read throws fails alone', async () => {
    const broker = await fx.broker();
    const client = await fx.client(broker);
    await createTopic(client, 't', 2);
    await produce(client, 't', 1, batch(['fine']));
    const log = broker.context.logs.get('t', 0)!;
    log.read = () => Promise.reject(new RangeError('injected read bug'));
    const r = await client.request('Fetch', {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ name: 't', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }, { partition: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    expect(r.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([ErrorCode.UNKNOWN_SERVER_ERROR, 0]);
    expect((r.topics[0]!.partitions[1]!.records as Buffer).length).toBeGreaterThan(0);
    expect((await fetchOnce(client, 't', 1, 0)).errorCode).toBe(0);
  });
});
