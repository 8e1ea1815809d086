/**
 * The peers benchmark: rill against the brokers people would pick instead, on this machine,
 * with the same workload through each system's own official Node client.
 *
 *   npm run bench -- peers [--messages=100000] [--rounds=3] [--systems=rill,rill-single,nats,redis]
 *                          [--rate=5000] [--latency-s=5] [--in-flight=8] [--warmup-messages=10000]
 *                          [--phase-time-limit-s=120] [--json=FILE] [--plots-dir=DIR]
 *   npm run bench -- peers --replot=FILE --plots-dir=DIR   (plots of an earlier --json, no run)
 *
 * Systems (bench/peers/*.ts; each starts its servers on 127.0.0.1 in temp dirs):
 *   rill         3 brokers + etcd, topic RF 3, acks=all, idempotent producer (the SDK default)
 *   rill-single  1 broker, RF 1, acks=1 (reference row)
 *   nats         NATS JetStream, 3 clustered nats-server, file stream with 3 replicas
 *   redis        Redis Streams, one redis-server, appendonly yes, appendfsync everysec
 * Per round and system (bench/peers/workload.ts): produce `--messages` 100-byte values over 3
 * partitions/subjects in chunks of 1,000 with `--in-flight` chunks unacknowledged, consume them
 * from the start (each checked), and send `--rate` msgs/s for `--latency-s` s for end-to-end
 * latency; server CPU per million messages from /proc. The systems run round-robin, the order
 * rotating each round; medians are printed as a markdown table. `--json` writes every round,
 * `--plots-dir` writes Vega-Lite specs (*.vl.json) and their SVG renderings.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { intOptions } from './cluster-common.js';
import { writePlots } from './peers/plots.js';
import { markdownTable, type PeersReport } from './peers/report.js';
import { SYSTEMS, pickSystems, runPeers } from './peers/run.js';

export default async function peersBench(argv: string[]): Promise<void> {
  const o = intOptions(argv, {
    messages: [100_000, 1_000, 5_000_000],
    rounds: [3, 1, 20],
    rate: [5_000, 100, 100_000],
    'latency-s': [5, 1, 120],
    'in-flight': [8, 1, 64],
    'warmup-messages': [10_000, 0, 1_000_000],
    'phase-time-limit-s': [120, 10, 3_600],
  });
  const { values } = parseArgs({ args: argv, strict: false, allowPositionals: true, options: { systems: { type: 'string' }, json: { type: 'string' }, 'plots-dir': { type: 'string' }, replot: { type: 'string' } } });
  const str = (name: string): string | undefined => {
    const v = values[name];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new RangeError(`--${name} needs a value (--${name}=...)`);
    return v;
  };
  const replot = str('replot');
  if (replot !== undefined) {
    const plotsDir = str('plots-dir');
    if (plotsDir === undefined) throw new RangeError('--replot needs --plots-dir=DIR');
    const report = JSON.parse(await readFile(replot, 'utf8')) as PeersReport;
    if (!Array.isArray(report.systems)) throw new RangeError(`--replot: ${replot} is not a peers --json report`);
    console.log(markdownTable(report));
    for (const path of await writePlots(plotsDir, report)) console.log(`wrote ${path}`);
    return;
  }
  const systems = pickSystems(str('systems') ?? SYSTEMS.map((s) => s.id).join(','));
  const jsonPath = str('json');
  const plotsDir = str('plots-dir');
  const report = await runPeers(
    {
      messages: o.messages,
      rounds: o.rounds,
      rate: o.rate,
      latencySeconds: o['latency-s'],
      inFlight: o['in-flight'],
      warmupMessages: o['warmup-messages'],
      phaseTimeLimitMs: o['phase-time-limit-s'] * 1000,
      systems,
    },
    (line) => console.log(line),
  );
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`\n${report.machine}; load average ${load(report.loadAverage.start)} at the start, ${load(report.loadAverage.end)} at the end`);
  console.log(`${o.messages.toLocaleString('en-US')} x 100-byte messages per round, ${o.rounds} rounds (medians), latency at ${o.rate} msgs/s for ${o['latency-s']} s\n`);
  console.log(markdownTable(report));
  if (jsonPath !== undefined) {
    await mkdir(dirname(resolve(jsonPath)), { recursive: true });
    await writeFile(jsonPath, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nwrote ${jsonPath}`);
  }
  if (plotsDir !== undefined) {
    for (const path of await writePlots(plotsDir, report)) console.log(`wrote ${path}`);
  }
}
