/**
 * Cluster produce throughput (issue 9): what replication factor 3 with `acks=all` costs against
 * RF 1 with `acks=1`, on one three-broker cluster.
 *
 *   npm run bench -- cluster-throughput [--messages=100000] [--value-bytes=100] [--runs=3]
 *                                       [--partitions=3] [--in-flight=8] [--time-limit-s=600]
 *
 * One etcd and three broker processes (dist/broker/main.js, 127.0.0.1, temp dirs). Two topics
 * of `--partitions` partitions: `tp-rf1` (RF 1: the partitions' leaders spread over the three
 * brokers, nothing replicated) and `tp-rf3` (RF 3). The parent process produces with the SDK:
 *   rf1 acks=1     RF 1 topic, acks=1 (not idempotent: the SDK's idempotence needs acks=all)
 *   rf3 acks=all   RF 3 topic, acks=all, idempotent (the SDK default with acks=all)
 *   rf3 acks=1     RF 3 topic, acks=1, not idempotent (leader-only acknowledgement, for reference)
 * Each run of each case sends `--messages` keyless values of `--value-bytes` in send() calls of
 * 1,000 messages, at most `--in-flight` calls outstanding, and is timed from the first send to
 * the last acknowledgement. The cases are interleaved run by run (the order rotates) so that the
 * shared machine's noise falls on all of them; medians and the ratios of the medians are printed.
 */
import { performance } from 'node:perf_hooks';
import type { Acks, Rill } from '../client/index.js';
import { intOptions, machineLine, median, startBenchCluster } from './cluster-common.js';

const SEND_CHUNK = 1_000;

interface Case {
  name: string;
  topic: string;
  acks: Acks;
  idempotent: boolean;
}

const CASES: Case[] = [
  { name: 'rf1 acks=1', topic: 'tp-rf1', acks: 1, idempotent: false },
  { name: 'rf3 acks=all', topic: 'tp-rf3', acks: -1, idempotent: true },
  { name: 'rf3 acks=1', topic: 'tp-rf3', acks: 1, idempotent: false },
];

/** One timed run: msgs/s. Throws when the run passes `deadline`. */
async function produceRun(rill: Rill, c: Case, messages: number, value: Buffer, inFlight: number, deadline: number): Promise<number> {
  const producer = rill.producer({ acks: c.acks, idempotent: c.idempotent, lingerMs: 5 });
  const chunk = Array.from({ length: SEND_CHUNK }, () => ({ value }));
  const outstanding = new Set<Promise<unknown>>();
  const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
  const started = performance.now();
  try {
    for (let sent = 0; sent < messages; sent += SEND_CHUNK) {
      const n = Math.min(SEND_CHUNK, messages - sent);
      const p = producer.send({ topic: c.topic, messages: n === SEND_CHUNK ? chunk : chunk.slice(0, n) }, { signal });
      outstanding.add(p);
      void p.then(() => outstanding.delete(p), () => undefined);
      if (outstanding.size >= inFlight) await Promise.race(outstanding);
    }
    await Promise.all(outstanding);
    return messages / ((performance.now() - started) / 1000);
  } finally {
    await producer.close();
  }
}

export default async function clusterThroughputBench(argv: string[]): Promise<void> {
  const o = intOptions(argv, {
    messages: [100_000, 1_000, 10_000_000],
    'value-bytes': [100, 1, 1 << 20],
    runs: [3, 1, 20],
    partitions: [3, 1, 100],
    'in-flight': [8, 1, 64],
    'time-limit-s': [600, 10, 7_200],
  });
  const deadline = Date.now() + o['time-limit-s'] * 1000;
  const cluster = await startBenchCluster(3, {}, 'throughput-bench');
  try {
    const { rill } = cluster;
    await rill.admin().createTopics({
      topics: [
        { topic: 'tp-rf1', numPartitions: o.partitions, replicationFactor: 1 },
        { topic: 'tp-rf3', numPartitions: o.partitions, replicationFactor: 3 },
      ],
    });
    const value = Buffer.alloc(o['value-bytes'], 'x');
    console.log(
      `${machineLine()}; 3 broker processes + etcd, producer in the bench process; ${o.messages.toLocaleString('en-US')} x ${o['value-bytes']}-byte values per run over ${o.partitions} partitions, ` +
        `send() of ${SEND_CHUNK} messages, ${o['in-flight']} in flight, lingerMs 5; ${o.runs} interleaved runs`,
    );
    // Warm-up: connections, metadata, producer ids and the JIT, not measured.
    for (const c of CASES) await produceRun(rill, c, Math.min(o.messages, 10_000), value, o['in-flight'], deadline);
    const results = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
    for (let run = 0; run < o.runs; run++) {
      const order = CASES.map((_, i) => CASES[(i + run) % CASES.length]!);
      const line: string[] = [];
      for (const c of order) {
        const rate = await produceRun(rill, c, o.messages, value, o['in-flight'], deadline);
        results.get(c.name)!.push(rate);
        line.push(`${c.name} ${Math.round(rate).toLocaleString('en-US')}`);
      }
      console.log(`run ${run + 1}: ${line.join(', ')} msgs/s`);
    }
    const mb = (rate: number): string => ((rate * o['value-bytes']) / 1e6).toFixed(1);
    // Two ratios: of the medians, and the median of the ratios within each run (the cases of one
    // run ran back to back, so a run's ratio is less exposed to load that comes and goes).
    console.log('\ncase           median msgs/s   MB/s (values)   vs rf1 acks=1 (medians)   (median of per-run ratios)');
    const baseRuns = results.get(CASES[0]!.name)!;
    const base = median(baseRuns);
    for (const c of CASES) {
      const runs = results.get(c.name)!;
      const m = median(runs);
      const perRun = median(runs.map((r, i) => r / baseRuns[i]!));
      console.log(`${c.name.padEnd(13)}  ${Math.round(m).toLocaleString('en-US').padStart(13)}   ${mb(m).padStart(13)}   ${(m / base).toFixed(2).padStart(23)}   ${perRun.toFixed(2).padStart(26)}`);
    }
  } finally {
    await cluster.close();
  }
}
