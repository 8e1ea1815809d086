/**
 * Consumer groups end to end on one in-process broker: independent groups, auto and manual
 * commits of what was processed, regex subscriptions, and a clean leave.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CommitEvent, ConsumedMessage, Consumer, LagEvent, Rill } from '../../client/index.js';
import { FAST_GROUPS, committedOffsets, gate, owned, range } from './fixtures/group-helpers.js';
import { TestEnv, waitFor } from './harness.js';

const valueOf = (m: ConsumedMessage): string => m.value!.toString();

describe('consumer groups', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  async function setup(topics: Record<string, number>): Promise<{ rill: Rill; port: number }> {
    const broker = await env.broker(FAST_GROUPS);
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: Object.entries(topics).map(([topic, numPartitions]) => ({ topic, numPartitions })) });
    return { rill, port: broker.port };
  }

  /** Runs `consumer` until it has handled `count` messages; returns them. */
  async function consume(consumer: Consumer, count: number): Promise<ConsumedMessage[]> {
    const seen: ConsumedMessage[] = [];
    const done = gate();
    const running = consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message);
        if (seen.length === count) done.open();
      },
    });
    await Promise.race([done.promise, running]);
    await consumer.stop();
    await running;
    return seen;
  }

  it('two groups on one topic each receive every message; committing in one does not move the other', async () => {
    const { rill, port } = await setup({ t: 4 });
    const produced = range(200).map((i) => `m${i}`);
    await rill.producer().send({ topic: 't', messages: produced.map((value, i) => ({ key: `k${i % 13}`, value })) });

    const a = rill.consumer({ groupId: 'ga', fromBeginning: true, autoCommit: false, maxWaitMs: 100 });
    const b = rill.consumer({ groupId: 'gb', fromBeginning: true, autoCommit: false, maxWaitMs: 100 });
    await Promise.all([a.subscribe(['t']), b.subscribe({ topics: ['t'] })]);
    const [seenA, seenB] = await Promise.all([consume(a, 200), consume(b, 200)]);
    expect(seenA.map(valueOf).sort()).toEqual([...produced].sort());
    expect(seenB.map(valueOf).sort()).toEqual([...produced].sort());

    const committed = await a.commit();
    expect(committed.length).toBe(4);
    const ends = (await rill.admin().fetchTopicOffsets('t')).sort((x, y) => x.partition - y.partition).map((p) => p.high);
    expect(await committedOffsets(port, 'ga', 't', [0, 1, 2, 3])).toEqual(ends);
    expect(await committedOffsets(port, 'gb', 't', [0, 1, 2, 3])).toEqual([-1, -1, -1, -1]);
    await Promise.all([a.close(), b.close()]);

    // gb committed nothing (autoCommit off): a new member starts from the beginning again;
    // ga resumes at its commits and sees only what comes next.
    const b2 = rill.consumer({ groupId: 'gb', fromBeginning: true, autoCommit: false, maxWaitMs: 100 });
    const a2 = rill.consumer({ groupId: 'ga', fromBeginning: true, maxWaitMs: 100 });
    await Promise.all([a2.subscribe(['t']), b2.subscribe(['t'])]);
    // for await works with a group too.
    const again: string[] = [];
    for await (const m of b2) {
      again.push(valueOf(m));
      if (again.length === 200) break;
    }
    expect(again.sort()).toEqual([...produced].sort());
    await waitFor(() => a2.assignment().length === 4 && a2.assignment().every((tp) => a2.position(tp.topic, tp.partition) !== null), 5_000, 'ga to own every partition');
    await rill.producer().send({ topic: 't', messages: range(10).map((i) => ({ value: `late${i}` })) });
    expect((await consume(a2, 10)).map(valueOf).sort()).toEqual(range(10).map((i) => `late${i}`).sort());
  });

  it('auto-commits what was processed, never what was only fetched, and commits on close', async () => {
    const { rill, port } = await setup({ t: 1 });
    await rill.producer().send({ topic: 't', messages: range(50).map((i) => ({ value: `m${i}` })) });
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, autoCommitIntervalMs: 50, maxWaitMs: 100, lagIntervalMs: 20 });
    const commits: CommitEvent[] = [];
    consumer.on('commit', (e) => commits.push(e));
    const lags: LagEvent[] = [];
    consumer.on('lag', (e) => lags.push(e));
    await consumer.subscribe(['t']);
    const blocked = gate();
    const release = gate();
    const seen: number[] = [];
    const running = consumer.run({
      eachMessage: async ({ message }) => {
        if (message.offset === 20) {
          blocked.open();
          await release.promise;
        }
        seen.push(message.offset);
      },
    });
    await blocked.promise;
    await waitFor(() => commits.some((c) => c.offsets.some((o) => o.offset === 20)), 5_000, 'a commit of offset 20');
    // The whole topic is fetched by now; only 0..19 were processed.
    await waitFor(() => consumer.lag()[0]?.highWatermark === 50, 5_000, 'the fetch to reach the end');
    await new Promise((r) => setTimeout(r, 200));
    expect(await committedOffsets(port, 'g', 't', [0])).toEqual([20]);
    expect(commits.flatMap((c) => c.offsets).every((o) => o.offset <= 20)).toBe(true);
    // Unchanged offsets are not committed again.
    expect(commits.flatMap((c) => c.offsets).filter((o) => o.offset === 20).length).toBe(1);
    // The lag counts from the next message to deliver (21) to the high watermark (50).
    await waitFor(() => lags.some((e) => e.partitions[0]?.lag === 29), 5_000, "a 'lag' event while blocked");
    expect(lags.at(-1)!.partitions).toEqual([{ topic: 't', partition: 0, position: 21, highWatermark: 50, lag: 29 }]);

    release.open();
    await waitFor(() => seen.length === 50, 5_000, 'all 50 processed');
    await consumer.stop();
    await running;
    await consumer.close();
    expect(await committedOffsets(port, 'g', 't', [0])).toEqual([50]);

    const next = rill.consumer({ groupId: 'g', fromBeginning: true, maxWaitMs: 100 });
    await next.subscribe(['t']);
    await rill.producer().send({ topic: 't', messages: range(3).map((i) => ({ value: `n${i}` })) });
    expect((await consume(next, 3)).map((m) => m.offset)).toEqual([50, 51, 52]);
  });

  it('commits manually: processed offsets, or exactly the offsets given; nothing on close without autoCommit', async () => {
    const { rill, port } = await setup({ t: 1 });
    await rill.producer().send({ topic: 't', messages: range(40).map((i) => ({ value: `m${i}` })) });
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, autoCommit: false, maxWaitMs: 100 });
    await consumer.subscribe(['t']);
    expect((await consume(consumer, 30)).map((m) => m.offset)).toEqual(range(30));
    expect(await consumer.commit()).toEqual([{ topic: 't', partition: 0, offset: 30 }]);
    expect(await committedOffsets(port, 'g', 't', [0])).toEqual([30]);
    // Nothing moved since: nothing to send.
    expect(await consumer.commit()).toEqual([]);
    expect(await consumer.commit([{ topic: 't', partition: 0, offset: 10 }])).toEqual([{ topic: 't', partition: 0, offset: 10 }]);
    expect(await committedOffsets(port, 'g', 't', [0])).toEqual([10]);
    await consumer.close();
    expect(await committedOffsets(port, 'g', 't', [0])).toEqual([10]);

    const next = rill.consumer({ groupId: 'g', autoCommit: false, maxWaitMs: 100 });
    await next.subscribe(['t']);
    expect((await consume(next, 30)).map((m) => m.offset)).toEqual(range(30, 10));
    await expect(rill.consumer({ maxWaitMs: 100 }).commit()).rejects.toThrow(/needs a group/);
  });

  it('subscribes by regex: whole-name matches only, and a matching topic created later is picked up', async () => {
    const { rill } = await setup({ 'orders.eu': 2, 'orders.us': 1, 'old-orders.eu': 1 });
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, maxWaitMs: 100 });
    const rebalances: string[][] = [];
    consumer.on('rebalance', (e) => rebalances.push(e.assigned.map((tp) => `${tp.topic}-${tp.partition}`)));
    await consumer.subscribe(/orders\..*/);
    await waitFor(() => owned(consumer).length === 3, 5_000, 'the three matching partitions');
    expect(owned(consumer)).toEqual(['orders.eu-0', 'orders.eu-1', 'orders.us-0']);

    await rill.admin().createTopics({ topics: [{ topic: 'orders.asia', numPartitions: 1 }] });
    await waitFor(() => owned(consumer).includes('orders.asia-0'), 5_000, 'the new topic to be assigned');
    const producer = rill.producer();
    for (const topic of ['orders.eu', 'orders.us', 'old-orders.eu', 'orders.asia']) await producer.send({ topic, messages: [{ value: topic }] });
    const seen = await consume(consumer, 3);
    expect(seen.map((m) => m.topic).sort()).toEqual(['orders.asia', 'orders.eu', 'orders.us']);
    expect(rebalances.flat().sort()).toEqual(['orders.asia-0', 'orders.eu-0', 'orders.eu-1', 'orders.us-0']);
    await expect(consumer.subscribe(/orders/i)).rejects.toThrow(/without flags/);
    // Subscribing again replaces the subscription: the regex is dropped, the partitions move.
    await consumer.subscribe(['old-orders.eu']);
    await waitFor(() => owned(consumer).join() === 'old-orders.eu-0', 5_000, 'the new subscription to take effect');
  });

  it('handles partitionsConsumedConcurrently partitions at once, each one in order and never twice at a time', async () => {
    const { rill } = await setup({ t: 4 });
    await rill.producer().send({ topic: 't', messages: range(40).map((i) => ({ value: `m${i}`, partition: i % 4 })) });
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, partitionsConsumedConcurrently: 3, maxWaitMs: 100, maxBytesPerPartition: 200 });
    await consumer.subscribe(['t']);
    await waitFor(() => owned(consumer).length === 4, 5_000, 'all four partitions');
    const active = new Set<number>();
    let maxActive = 0;
    const clashes: number[] = [];
    const order = new Map<number, number[]>();
    const done = gate();
    let count = 0;
    const running = consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (active.has(partition)) clashes.push(partition);
        active.add(partition);
        maxActive = Math.max(maxActive, active.size);
        await new Promise((r) => setTimeout(r, 5));
        active.delete(partition);
        order.set(partition, [...(order.get(partition) ?? []), message.offset]);
        if (++count === 40) done.open();
      },
    });
    await done.promise;
    await consumer.stop();
    await running;
    expect(clashes).toEqual([]);
    expect(maxActive).toBe(3);
    for (const p of range(4)) expect(order.get(p)).toEqual(range(10));
  });

  it('a clean leave hands the partitions over at once, without waiting for the session timeout', async () => {
    const { rill } = await setup({ t: 4 });
    const opts = { groupId: 'g', sessionTimeoutMs: 30_000, maxWaitMs: 100 };
    const c1 = rill.consumer(opts);
    const c2 = rill.consumer(opts);
    await c1.subscribe(['t']);
    await c2.subscribe(['t']);
    await waitFor(() => owned(c1).length === 2 && owned(c2).length === 2, 10_000, 'two partitions each');
    const t0 = Date.now();
    await c2.close();
    await waitFor(() => owned(c1).length === 4, 10_000, 'c1 to own all four');
    // Far below the 30 s session timeout: the leave freed them.
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
