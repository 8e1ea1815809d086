/**
 * Smoke test of the end-to-end benchmark (bench/e2e.bench.ts) as `npm run bench -- e2e` runs
 * it: the compiled runner (dist/, built by `npm test`'s pretest) with tiny parameters. It checks
 * that every phase completes, reports every number, moves every message exactly once, and
 * leaves no process behind. It asserts nothing about speed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNNER = join(root, 'dist', 'bench', 'run.js');
const RUN_TIMEOUT_MS = 50_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBench(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, 'e2e', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      // SIGTERM first: the runner's handler takes its broker and clients down with it.
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      reject(new Error(`bench did not finish within ${RUN_TIMEOUT_MS} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

interface Throughput {
  phase: string;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
  brokerCpuSeconds: number | null;
  brokerCpuSecondsPerMillion: number | null;
  clientCpuSeconds: number;
  noise: { otherCpuSeconds: number; stealSeconds: number } | null;
  timedOut: boolean;
  offsetGaps?: number;
}

interface Pauses {
  gcTotalMs: number;
  gcMaxMs: number | null;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
  seconds: number;
  majorGcs: number | null;
  promotedMb: number | null;
  oldAllocatedMb: number | null;
}

interface Results {
  produce: Throughput;
  consume: Throughput[];
  latency: Array<{
    lingerMs: number;
    messagesSent: number;
    messagesReceived: number;
    duplicates: number;
    latencyMs: Percentiles;
    ackMs: Percentiles;
    brokerCpuSecondsPerMillion: number | null;
    clockSkewUncertaintyMs: number;
    pauses: { producer: Pauses; broker: Pauses | null; consumer: Pauses | null };
    sched: Record<'producer' | 'broker' | 'consumer', { mainRunMs: number; mainWaitMs: number; mainSlices: number; allWaitMs: number } | null>;
    noise: { otherCpuSeconds: number; stealSeconds: number } | null;
    timedOut: boolean;
  }>;
  pids: { broker: number; producer: number; consumer: number };
}

function expectOrdered(p: Percentiles, count: number): void {
  expect(p.count).toBe(count);
  for (const v of [p.p50, p.p99, p.p999, p.max]) expect(Number.isFinite(v)).toBe(true);
  expect(p.p50).toBeLessThanOrEqual(p.p99);
  expect(p.p99).toBeLessThanOrEqual(p.p999);
  expect(p.p999).toBeLessThanOrEqual(p.max);
}

describe('npm run bench -- e2e', () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it('runs every phase with tiny parameters, reports every number and stops its processes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rill-bench-e2e-test-'));
    const jsonFile = join(dir, 'results.json');
    const messages = 20_000;
    const rate = 2_000;
    const { code, stdout, stderr } = await runBench([
      `--messages=${messages}`,
      '--warmup-messages=2000',
      `--rate=${rate}`,
      '--duration-s=1',
      '--latency-linger-ms=5,0',
      // Handed to all three processes (a flag node refused would fail the run).
      '--node-flags=--max-semi-space-size=16',
      `--json=${jsonFile}`,
    ]);
    expect(code, `stderr: ${stderr}`).toBe(0);
    expect(stdout).toContain('| produce |');
    expect(stdout).toContain('| consume (eachBatch) |');
    expect(stdout).toContain('| consume (eachMessage) |');
    expect(stdout).toContain('msgs/s, lingerMs 0 |');
    expect(stdout).toMatch(/targets: produce >= 1,000,000 msgs\/s: (met|MISSED)/);

    const r = JSON.parse(await readFile(jsonFile, 'utf8')) as Results;
    for (const t of [r.produce, ...r.consume]) {
      expect(t.messages, t.phase).toBe(messages);
      expect(t.timedOut, t.phase).toBe(false);
      for (const v of [t.seconds, t.msgsPerSec, t.mbPerSec, t.clientCpuSeconds]) expect(v, t.phase).toBeGreaterThan(0);
      // /proc is there on Linux, where this suite runs.
      expect(t.brokerCpuSeconds, t.phase).not.toBeNull();
      expect(Number.isFinite(t.brokerCpuSecondsPerMillion), t.phase).toBe(true);
      expect(t.noise!.otherCpuSeconds, t.phase).toBeGreaterThanOrEqual(0);
    }
    expect(r.consume.map((c) => c.offsetGaps)).toEqual([0, 0]);

    expect(r.latency.map((l) => l.lingerMs)).toEqual([5, 0]);
    for (const l of r.latency) {
      expect(l.timedOut).toBe(false);
      expect(l.messagesSent).toBe(rate);
      expect(l.messagesReceived).toBe(rate);
      expect(l.duplicates).toBe(0);
      expectOrdered(l.latencyMs, rate);
      expectOrdered(l.ackMs, rate);
      expect(Number.isFinite(l.brokerCpuSecondsPerMillion)).toBe(true);
      expect(l.clockSkewUncertaintyMs).toBeGreaterThanOrEqual(0);
      expect(l.noise!.otherCpuSeconds).toBeGreaterThanOrEqual(0);
      // All three processes report their pauses; the broker through its /metrics endpoint.
      for (const p of [l.pauses.producer, l.pauses.broker!, l.pauses.consumer!]) {
        for (const v of [p.gcTotalMs, p.loopDelayMaxMs, p.loopDelayP99Ms]) expect(v).toBeGreaterThanOrEqual(0);
        expect(p.loopDelayP99Ms).toBeLessThanOrEqual(p.loopDelayMaxMs);
        // What reached the old generation, and the major GCs (broker/gc-stats.ts; the broker's from its metrics).
        expect(p.seconds).toBeGreaterThan(0);
        for (const v of [p.majorGcs, p.promotedMb, p.oldAllocatedMb]) {
          expect(v).not.toBeNull();
          expect(v!).toBeGreaterThanOrEqual(0);
        }
      }
      // Every process's run-queue wait, from /proc/<pid>/task/*/schedstat.
      for (const [name, sc] of Object.entries(l.sched)) {
        expect(sc, name).not.toBeNull();
        expect(sc!.mainRunMs, name).toBeGreaterThan(0);
        expect(sc!.mainSlices, name).toBeGreaterThan(0);
        expect(sc!.mainWaitMs, name).toBeGreaterThanOrEqual(0);
        expect(sc!.allWaitMs, name).toBeGreaterThanOrEqual(sc!.mainWaitMs);
      }
    }
    expect(stdout).toContain('waiting for a CPU in the latency run');
    expect(stdout).toContain('old generation in the latency run');

    // Nothing outlives the run: broker, producer and consumer processes are gone.
    for (const [name, pid] of Object.entries(r.pids)) expect(isAlive(pid), `${name} (pid ${pid}) still running`).toBe(false);
  });

  it('refuses a bad option with one clear line and a non-zero exit, before starting anything', async () => {
    const { code, stderr } = await runBench(['--value-bytes=8']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('--value-bytes must be an integer >= 16');
    const flags = await runBench(['--node-flags=--trace-gc stray']);
    expect(flags.code).not.toBe(0);
    expect(flags.stderr).toContain("--node-flags takes node options such as '--trace-gc', got 'stray'");
  });
});
