/**
 * send({ signal }) with one long-lived AbortSignal (client/abort-watch.ts): a broker process
 * and, `--runs` times, a fresh producer process (bench/send-signal/child.ts) that sends
 * `--messages` one-message sends, `--concurrency` at a time, every one with the same signal
 * (optionally with a slow second producer on that signal, `--slow-linger-ms`; or, with
 * `--per-send-signal=1`, each send with its own AbortSignal.timeout()). Reports the
 * producer's CPU per message and what its GC did meanwhile: scavenges, Mark-Compacts and the
 * bytes scavenges promoted to old space (v8.GCProfiler). With `--compare=<dir>` (another
 * build's dist/) the runs alternate between that build's client and this one's on the same
 * broker, and the per-pair ratios of CPU per message are printed.
 *
 *   npm run bench -- send-signal [--messages=200000] [--concurrency=32] [--slow-linger-ms=0] [--per-send-signal=0|1] [--runs=5] [--compare=DIR]
 *
 * Bounded: each child is killed after --time-limit-s (60).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { intOptions, machineLine, median } from './cluster-common.js';
import { ProcessGroup, startBrokerProcess } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));

interface RunResult {
  messages: number;
  elapsedMs: number;
  cpuMicros: number;
  scavenges: number;
  markCompacts: number;
  promotedBytes: number;
}

interface ChildOptions {
  messages: number;
  concurrency: number;
  'slow-linger-ms': number;
  'per-send-signal': number;
  'time-limit-s': number;
}

function runChild(clientIndex: string, broker: string, o: ChildOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const args = [join(here, 'send-signal', 'child.js'), clientIndex, broker, String(o.messages), String(o.concurrency), String(o['slow-linger-ms']), String(o['per-send-signal'])];
    const child = spawn(process.execPath, ['--no-warnings', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const killer = setTimeout(() => child.kill('SIGKILL'), o['time-limit-s'] * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      if (code !== 0) return reject(new Error(`send-signal child exited with ${code}: ${out}`));
      resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as RunResult);
    });
  });
}

export default async function main(argv: string[]): Promise<void> {
  const o = intOptions(argv, {
    messages: [200_000, 1, 10_000_000],
    concurrency: [32, 1, 10_000],
    'slow-linger-ms': [0, 0, 10_000],
    'per-send-signal': [0, 0, 1],
    runs: [5, 1, 50],
    'time-limit-s': [60, 1, 3600],
  });
  const { values } = parseArgs({ args: argv, strict: false, allowPositionals: true, options: { compare: { type: 'string' } } });
  const builds: Array<{ name: string; index: string }> = [{ name: 'this build', index: resolve(here, '..', 'client', 'index.js') }];
  if (typeof values.compare === 'string') builds.unshift({ name: `compare (${values.compare})`, index: resolve(values.compare, 'client', 'index.js') });

  const group = new ProcessGroup();
  const dataDir = mkdtempSync(join(tmpdir(), 'rill-send-signal-'));
  try {
    const broker = await startBrokerProcess(group, resolve(here, '..', 'broker', 'main.js'), dataDir);
    const address = `127.0.0.1:${broker.port}`;
    const results = builds.map(() => [] as RunResult[]);
    const load0 = loadavg()[0]!;
    for (let r = 0; r < o.runs; r++) {
      for (let b = 0; b < builds.length; b++) {
        const res = await runChild(builds[b]!.index, address, o);
        results[b]!.push(res);
        console.log(
          `run ${r + 1} ${builds[b]!.name}: ${(res.cpuMicros / res.messages).toFixed(2)} CPU µs/msg, ${Math.round((res.messages / res.elapsedMs) * 1000)} msgs/s, ` +
            `${res.scavenges} scavenges, ${res.markCompacts} Mark-Compacts, ${(res.promotedBytes / 1e6).toFixed(2)} MB promoted`,
        );
      }
    }
    const cpuPerMsg = results.map((rs) => rs.map((x) => x.cpuMicros / x.messages));
    console.table(
      builds.map((b, i) => ({
        build: b.name,
        'median CPU µs/msg': Number(median(cpuPerMsg[i]!).toFixed(2)),
        'median msgs/s': Math.round(median(results[i]!.map((x) => (x.messages / x.elapsedMs) * 1000))),
        'median scavenges': median(results[i]!.map((x) => x.scavenges)),
        'Mark-Compacts (all runs)': results[i]!.reduce((n, x) => n + x.markCompacts, 0),
        'median MB promoted': Number((median(results[i]!.map((x) => x.promotedBytes)) / 1e6).toFixed(2)),
      })),
    );
    if (builds.length === 2) {
      const ratios = cpuPerMsg[1]!.map((v, i) => v / cpuPerMsg[0]![i]!);
      console.log(`CPU per message, this build / compare, per interleaved pair: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}`);
    }
    console.log(`${machineLine()}; load average (1 min) ${load0.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end; ${o.messages} sends, ${o.concurrency} at a time, slow producer lingerMs ${o['slow-linger-ms']}, ${o['per-send-signal'] === 1 ? 'one AbortSignal.timeout() per send' : 'one signal for all'}`);
  } finally {
    await group.stopAll();
    group.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
