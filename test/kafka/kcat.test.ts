/**
 * kcat (librdkafka) against the Kafka listener: -L, keyed -P, -C -o beginning -e, and interop
 * with the rill SDK both ways (keys, headers, timestamps). kcat's consumer without -G needs no
 * groups. kcat runs as a real child process (asynchronously: the broker lives in this process).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/outside-tools.js';
import { TestEnv } from '../integration/harness.js';
import { kcat } from './kcat-run.js';
import { take } from './take.js';

const haveKcat = requireTool('kcat');


describe.skipIf(!haveKcat)('kcat against the Kafka listener', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  async function setup(partitions = 3) {
    const broker = await env.broker({ kafkaPort: 0 });
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 'lines', numPartitions: partitions }] });
    return { broker, rill, bootstrap: `127.0.0.1:${broker.kafkaPort}` };
  }

  it('-L lists the topics, partitions and the broker at its Kafka address', async () => {
    const { bootstrap, broker } = await setup(3);
    const r = await kcat(['-b', bootstrap, '-L', '-J']);
    expect(r.code, r.stderr).toBe(0);
    const md = JSON.parse(r.stdout) as { brokers: Array<{ id: number; name: string }>; topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }> };
    expect(md.brokers).toEqual([{ id: 0, name: `127.0.0.1:${broker.kafkaPort}` }]);
    const lines = md.topics.find((t) => t.topic === 'lines');
    expect(lines?.partitions.map((p) => [p.partition, p.leader])).toEqual([[0, 0], [1, 0], [2, 0]]);
  });

  it('-P keyed lines, then -C -o beginning -e reads them back; murmur2 puts keys where the rill SDK does', async () => {
    const { bootstrap, rill } = await setup(3);
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    const input = keys.map((k, i) => `${k}:value-${i}`).join('\n') + '\n';
    const p = await kcat(['-b', bootstrap, '-P', '-t', 'lines', '-K:', '-X', 'partitioner=murmur2_random'], input);
    expect(p.code, p.stderr).toBe(0);

    const c = await kcat(['-b', bootstrap, '-C', '-t', 'lines', '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\t%p\n']);
    expect(c.code, c.stderr).toBe(0);
    const got = c.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(got.map(([k, v]) => `${k}:${v}`).sort()).toEqual(keys.map((k, i) => `${k}:value-${i}`).sort());

    // The rill SDK's partitioner (Java's murmur2) sends each key where librdkafka's murmur2 did.
    const sent = await rill.producer().send({ topic: 'lines', messages: keys.map((k) => ({ key: k, value: 'again' })) });
    const rillPartition = new Map(keys.map((k, i) => [k, sent[i]!.partition]));
    for (const [k, , partition] of got) expect(Number(partition)).toBe(rillPartition.get(k!));
  });

  it('records from the rill SDK reach kcat with keys, headers and timestamps intact', async () => {
    const { bootstrap, rill } = await setup(1);
    const base = 1_700_000_000_000;
    await rill.producer().send({
      topic: 'lines',
      messages: [
        { key: 'a', value: 'one', headers: { trace: 'abc', n: '1' }, timestamp: base },
        { key: null, value: 'two', timestamp: base + 1 },
      ],
    });
    const c = await kcat(['-b', bootstrap, '-C', '-t', 'lines', '-o', 'beginning', '-e', '-q', '-f', '%k|%s|%h|%T|%o\n']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim().split('\n')).toEqual([`a|one|trace=abc,n=1|${base}|0`, `|two||${base + 1}|1`]);
  });

  it('records from kcat reach the rill SDK consumer with keys, headers and timestamps intact', async () => {
    const { bootstrap, rill } = await setup(1);
    const before = Date.now();
    const p = await kcat(['-b', bootstrap, '-P', '-t', 'lines', '-p', '0', '-K:', '-H', 'origin=kcat', '-H', 'x=y'], 'k1:v1\nk2:v2\n');
    expect(p.code, p.stderr).toBe(0);
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 'lines', partition: 0, offset: 'earliest' }]);
    const got = await take(consumer, 2);
    expect(got.map((m) => [m.offset, m.key?.toString(), m.value?.toString()])).toEqual([
      [0, 'k1', 'v1'],
      [1, 'k2', 'v2'],
    ]);
    for (const m of got) {
      expect(Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v?.toString()]))).toEqual({ origin: 'kcat', x: 'y' });
      expect(m.timestamp).toBeGreaterThanOrEqual(before - 1000);
      expect(m.timestamp).toBeLessThanOrEqual(Date.now() + 1000);
    }
  });

  it('-C waits on an empty partition (the long poll) and exits at the end with -e', async () => {
    const { bootstrap } = await setup(1);
    const c = await kcat(['-b', bootstrap, '-C', '-t', 'lines', '-o', 'beginning', '-e', '-q']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe('');
  });
});
