/**
 * The Fetcher (client/consumer/fetcher.ts) against a real broker on loopback: no head-of-line
 * blocking behind partitions at their end, and the prefetch bound in bytes.
 *
 * No timed assertions: the head-of-line tests set maxWaitMs (60 s) far beyond the test's own
 * timeout, so data held behind a parked fetch fails the test by timing out, whatever the
 * machine's speed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerPool } from '../../../client/broker-pool.js';
import { Fetcher } from '../../../client/consumer/fetcher.js';
import { LongPollConnections } from '../../../client/consumer/long-poll-connections.js';
import type { PartitionState } from '../../../client/consumer/partition-state.js';
import { Metadata } from '../../../client/metadata.js';
import { retryOptions } from '../../../client/retry.js';
import type { Rill } from '../../../client/index.js';
import { TestEnv, testLogger, waitFor } from '../../integration/harness.js';

const PARKED_FOREVER_MS = 60_000;
const TEST_TIMEOUT_MS = 20_000;
const VALUE = Buffer.alloc(100, 0x61);

async function produce(rill: Rill, topic: string, partition: number, count: number): Promise<void> {
  const producer = rill.producer({ lingerMs: 0 });
  for (let sent = 0; sent < count; sent += 500) {
    const n = Math.min(500, count - sent);
    await producer.send({ topic, messages: Array.from({ length: n }, () => ({ value: VALUE, partition })) });
  }
  await producer.close();
}

describe('Fetcher against a broker', () => {
  const env = new TestEnv();
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await env.cleanup();
  });

  /** A Fetcher wired as the consumer wires it, with chunks taken by the test. */
  function fetcherFor(port: number, opts: { maxBytesPerPartition: number; maxPrefetchBytes: number }): { fetcher: Fetcher; ready: PartitionState[] } {
    const retry = retryOptions({});
    const common = { clientId: 'fetcher-test', connectionTimeoutMs: 5_000, requestTimeoutMs: 10_000, retry, logger: testLogger };
    const pool = new BrokerPool([`127.0.0.1:${port}`], common);
    const longPolls = new LongPollConnections(pool, common);
    const metadata = new Metadata(pool, { logger: testLogger, retry, allowAutoTopicCreation: false });
    const ready: PartitionState[] = [];
    const fetcher = new Fetcher({
      pool,
      longPolls,
      metadata,
      logger: testLogger,
      retry,
      requestTimeoutMs: 10_000,
      maxWaitMs: PARKED_FOREVER_MS,
      minBytes: 1,
      maxBytes: 16 * 1024 * 1024,
      maxBytesPerPartition: opts.maxBytesPerPartition,
      maxPrefetchBytes: opts.maxPrefetchBytes,
      autoOffsetReset: 'earliest',
      onReady: (st) => ready.push(st),
    });
    closers.push(async () => {
      fetcher.stop();
      await Promise.all([pool.close(), longPolls.close()]);
    });
    return { fetcher, ready };
  }

  /** Takes every chunk of `st` as it comes until `count` messages arrived; returns their offsets. */
  async function drain(fetcher: Fetcher, st: PartitionState, count: number): Promise<number[]> {
    const offsets: number[] = [];
    await waitFor(
      () => {
        for (let c = fetcher.takeChunk(st); c !== undefined; c = fetcher.takeChunk(st)) for (const m of c.takeRest()) offsets.push(m.offset);
        return offsets.length >= count;
      },
      TEST_TIMEOUT_MS - 2_000,
      `${count} messages of ${st.topic}[${st.partition}]`,
    );
    return offsets;
  }

  it(
    'reads a partition with data at full speed while another sits at its end (maxWaitMs 60 s)',
    async () => {
      const broker = await env.broker();
      const rill = env.client(broker.port);
      await rill.admin().createTopics({ topics: [{ topic: 'hol', numPartitions: 2 }] });
      await produce(rill, 'hol', 1, 3_000);
      // 4 KiB per fetch: the 3,000 records take ~80 fetches, each one after partition 0 parked.
      const { fetcher } = fetcherFor(broker.port, { maxBytesPerPartition: 4096, maxPrefetchBytes: 1024 * 1024 });
      fetcher.add('hol', 0, 'earliest', false);
      const busy = fetcher.add('hol', 1, 'earliest', false);
      const offsets = await drain(fetcher, busy, 3_000);
      expect(offsets).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers data appended to one partition while a long poll is parked on another (no wait behind it on the socket)',
    async () => {
      const broker = await env.broker();
      const rill = env.client(broker.port);
      await rill.admin().createTopics({ topics: [{ topic: 'hol2', numPartitions: 2 }] });
      await produce(rill, 'hol2', 1, 2_000);
      const { fetcher } = fetcherFor(broker.port, { maxBytesPerPartition: 4096, maxPrefetchBytes: 1024 * 1024 });
      const idle = fetcher.add('hol2', 0, 'earliest', false);
      const busy = fetcher.add('hol2', 1, 'earliest', false);
      // Partition 0 is at its end: its long poll parks (for 60 s) while partition 1 is read.
      await waitFor(() => idle.caughtUp && idle.fetching, TEST_TIMEOUT_MS - 2_000, 'a parked long poll on partition 0');
      expect(await drain(fetcher, busy, 2_000)).toHaveLength(2_000);
      // More data for partition 1 only: it must arrive although partition 0's poll is still parked.
      await produce(rill, 'hol2', 1, 500);
      expect(await drain(fetcher, busy, 500)).toEqual(Array.from({ length: 500 }, (_, i) => 2_000 + i));
      expect(idle.fetching).toBe(true);
      // And the parked poll answers as soon as partition 0 gets a record.
      await produce(rill, 'hol2', 0, 1);
      expect(await drain(fetcher, idle, 1)).toEqual([0]);
    },
    TEST_TIMEOUT_MS,
  );

  /** A one-partition topic whose only record was taken, with its long poll parked (60 s). */
  async function parkedPoll(topic: string): Promise<{ rill: Rill; fetcher: Fetcher; ready: PartitionState[]; st: PartitionState }> {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const { fetcher, ready } = fetcherFor(broker.port, { maxBytesPerPartition: 4096, maxPrefetchBytes: 1024 * 1024 });
    // One record first: a Fetch at an empty partition's end would itself park (60 s) before it is known to be caught up.
    await produce(rill, topic, 0, 1);
    const st = fetcher.add(topic, 0, 'earliest', false);
    expect(await drain(fetcher, st, 1)).toEqual([0]);
    await waitFor(() => st.caughtUp && st.fetching, TEST_TIMEOUT_MS - 5_000, 'a parked long poll');
    return { rill, fetcher, ready, st };
  }

  it(
    'drops an answer that comes after stop() (Fetches carry no AbortSignal)',
    async () => {
      const { rill, fetcher, ready, st } = await parkedPoll('stopped');
      const readyBefore = ready.length;
      fetcher.stop();
      // The poll is still parked (its socket open): a record answers it after stop().
      await produce(rill, 'stopped', 0, 1);
      await waitFor(() => fetcher.fetchesInFlight === 0, TEST_TIMEOUT_MS - 5_000, 'the parked poll to answer');
      expect(fetcher.bufferedBytes).toBe(0);
      expect(st.chunks).toHaveLength(0);
      expect(ready).toHaveLength(readyBefore);
      // A stopped fetcher sends nothing more.
      await new Promise((r) => setImmediate(r));
      expect(fetcher.fetchesInFlight).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'closing the connections ends a long poll parked for 60 s at once after stop()',
    async () => {
      const { fetcher, st } = await parkedPoll('parked');
      // The closer (stop, then close the pool and the long-poll sockets) must not wait out
      // maxWaitMs (60 s, past the test's timeout): closing fails the Fetch in flight.
      await closers.pop()!();
      await waitFor(() => fetcher.fetchesInFlight === 0, TEST_TIMEOUT_MS - 5_000, 'the poll to end');
      expect(st.error).toBeNull();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'stops fetching at maxPrefetchBytes while nobody takes the chunks',
    async () => {
      const broker = await env.broker();
      const rill = env.client(broker.port);
      await rill.admin().createTopics({ topics: [{ topic: 'bounded', numPartitions: 3 }] });
      for (let p = 0; p < 3; p++) await produce(rill, 'bounded', p, 4_000);
      const maxBytesPerPartition = 16 * 1024;
      const maxPrefetchBytes = 64 * 1024;
      const { fetcher } = fetcherFor(broker.port, { maxBytesPerPartition, maxPrefetchBytes });
      const states = [0, 1, 2].map((p) => fetcher.add('bounded', p, 'earliest', false));
      await waitFor(() => fetcher.bufferedBytes >= maxPrefetchBytes || states.every((st) => st.bufferedBytes >= maxBytesPerPartition), TEST_TIMEOUT_MS - 5_000, 'a full buffer');
      await waitFor(() => fetcher.fetchesInFlight === 0, TEST_TIMEOUT_MS - 5_000, 'fetching to stop');
      const held = fetcher.bufferedBytes;
      // Checked before each fetch: at most one fetch per partition (decoded, ≤ 2× its wire bytes) lands past the bound.
      expect(held).toBeLessThanOrEqual(maxPrefetchBytes + states.length * 2 * maxBytesPerPartition);
      // Nothing more arrives while nobody takes a chunk...
      await new Promise((r) => setTimeout(r, 300));
      expect(fetcher.fetchesInFlight).toBe(0);
      expect(fetcher.bufferedBytes).toBe(held);
      // ...and taking chunks lets fetching go on.
      const before = states[0]!.fetchOffset;
      for (let c = fetcher.takeChunk(states[0]!); c !== undefined; c = fetcher.takeChunk(states[0]!)) void c;
      await waitFor(() => states[0]!.fetchOffset > before, TEST_TIMEOUT_MS - 5_000, 'fetching to resume');
    },
    TEST_TIMEOUT_MS,
  );
});
