/**
 * The consume probe (issue 8): how fast a consumer with *default* options reads a backlog.
 * A broker process gets `--messages` records (100-byte values, 3 partitions by default),
 * produced once; then a fresh consumer process (bench/consume-probe/child.ts: default
 * options, assign at earliest, eachBatch) reads them all, `--runs` times. With
 * `--compare=<dir>` (a second build's dist/, e.g. the code before a change) the runs
 * alternate between that build and this one on the same broker and data, and the table shows
 * both medians and their ratio: interleaved, so that load from other processes on a shared
 * machine falls on both sides alike.
 *
 *   npm run bench -- consume-probe [--messages=2000000] [--partitions=3] [--runs=5] [--mode=batch|message] [--compare=DIR]
 *     [--profile-dir=DIR]   (each consumer child under --cpu-prof, one .cpuprofile per run)
 *
 * Bounded: each run has a time limit (--time-limit-s, 60), producing has the same.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rill } from '../client/index.js';
import { ProcessGroup, startBrokerProcess } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const TOPIC = 'consume-probe';
const VALUE_BYTES = 100;
const MESSAGES_PER_SEND = 1000;
const MAX_OUTSTANDING_SENDS = 64;

interface RunResult {
  messages: number;
  elapsedMs: number;
  cpuSeconds: number;
}

function intOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} must be a positive integer, got '${raw}'`);
  return v;
}

async function produce(broker: string, partitions: number, messages: number, timeLimitMs: number): Promise<void> {
  const rill = new Rill({ brokers: [broker], clientId: 'consume-probe-producer' });
  try {
    await rill.admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: partitions }] });
    const producer = rill.producer();
    const value = Buffer.alloc(VALUE_BYTES, 0x61);
    const deadline = Date.now() + timeLimitMs;
    const inFlight = new Set<Promise<unknown>>();
    for (let sent = 0; sent < messages; ) {
      if (Date.now() > deadline) throw new Error(`producing ${messages} records took longer than ${timeLimitMs} ms`);
      const n = Math.min(MESSAGES_PER_SEND, messages - sent);
      // Null keys and the default (sticky) partitioner, as an application would: the
      // partitions end up uneven, so some reach their end while others still have data.
      const batch = Array.from({ length: n }, () => ({ value }));
      const p = producer.send({ topic: TOPIC, messages: batch });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      sent += n;
      if (inFlight.size >= MAX_OUTSTANDING_SENDS) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await rill.close();
  }
}

function runChild(clientIndex: string, broker: string, partitions: number, messages: number, timeLimitMs: number, mode: string, profileDir: string | undefined): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const profile = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
    const child = spawn(process.execPath, [...profile, join(here, 'consume-probe', 'child.js'), clientIndex, broker, TOPIC, String(partitions), String(messages), String(timeLimitMs), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeLimitMs + 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      if (code !== 0) return reject(new Error(`probe child exited with ${code}: ${out}`));
      resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as RunResult);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export default async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      messages: { type: 'string' },
      partitions: { type: 'string' },
      runs: { type: 'string' },
      compare: { type: 'string' },
      mode: { type: 'string' },
      'time-limit-s': { type: 'string' },
      'profile-dir': { type: 'string' },
    },
  });
  const messages = intOption('messages', values.messages, 2_000_000);
  const partitions = intOption('partitions', values.partitions, 3);
  const runs = intOption('runs', values.runs, 5);
  const timeLimitMs = intOption('time-limit-s', values['time-limit-s'], 60) * 1000;
  const mode = values.mode ?? 'batch';
  if (mode !== 'batch' && mode !== 'message') throw new RangeError(`--mode must be batch or message, got '${mode}'`);
  const builds: Array<{ name: string; index: string }> = [{ name: 'this build', index: resolve(here, '..', 'client', 'index.js') }];
  if (values.compare !== undefined) builds.unshift({ name: `compare (${values.compare})`, index: resolve(values.compare, 'client', 'index.js') });

  const group = new ProcessGroup();
  const dataDir = mkdtempSync(join(tmpdir(), 'rill-consume-probe-'));
  try {
    const broker = await startBrokerProcess(group, resolve(here, '..', 'broker', 'main.js'), dataDir);
    const address = `127.0.0.1:${broker.port}`;
    await produce(address, partitions, messages, timeLimitMs);
    const results = builds.map(() => [] as RunResult[]);
    const load0 = loadavg()[0]!;
    for (let r = 0; r < runs; r++) {
      for (let b = 0; b < builds.length; b++) {
        const res = await runChild(builds[b]!.index, address, partitions, messages, timeLimitMs, mode, values['profile-dir']);
        results[b]!.push(res);
        console.log(`run ${r + 1} ${builds[b]!.name}: ${Math.round((res.messages / res.elapsedMs) * 1000)} msgs/s (${res.messages} in ${res.elapsedMs.toFixed(0)} ms, ${res.cpuSeconds.toFixed(2)} CPU s)`);
      }
    }
    const rates = results.map((rs) => rs.map((x) => (x.messages / x.elapsedMs) * 1000));
    console.table(
      builds.map((b, i) => ({
        build: b.name,
        'median msgs/s': Math.round(median(rates[i]!)),
        'min msgs/s': Math.round(Math.min(...rates[i]!)),
        'max msgs/s': Math.round(Math.max(...rates[i]!)),
        'median consumer CPU µs/msg': Number(((median(results[i]!.map((x) => x.cpuSeconds / x.messages)) * 1e6)).toFixed(2)),
      })),
    );
    if (builds.length === 2) {
      const ratios = rates[1]!.map((v, i) => v / rates[0]![i]!);
      console.log(`this build / compare, per interleaved pair: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}`);
    }
    console.log(`load average (1 min): ${load0.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end; ${messages} records, ${partitions} partitions, ${VALUE_BYTES}-byte values, ${mode === 'batch' ? 'eachBatch' : 'eachMessage'}`);
  } finally {
    await group.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
