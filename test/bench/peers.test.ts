/**
 * Smoke test of the peers benchmark (bench/peers): every system, started for real on loopback
 * (rill brokers from dist/, etcd, nats-server, redis-server), runs one round of a tiny bounded
 * workload and returns every message exactly as sent; the plots render to SVG. It asserts
 * nothing about speed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writePlots } from '../../bench/peers/plots.js';
import { markdownTable, type SystemReport } from '../../bench/peers/report.js';
import { SYSTEMS, pickSystems, runPeers } from '../../bench/peers/run.js';
import { ValueChecker, makeValues } from '../../bench/peers/values.js';
import { requireTool } from '../helpers/outside-tools.js';

const MESSAGES = 3_000;
const RATE = 1_000;
const LATENCY_S = 1;
const ready = requireTool('etcd') && requireTool('nats-server') && requireTool('redis-server');

describe('peers benchmark values', () => {
  it('counts each message once and catches altered, foreign, short and repeated values', () => {
    const values = makeValues(7, 4);
    const checker = new ValueChecker(7, 4);
    expect(checker.check(values[0]!)).toBe(0);
    expect(checker.check(values[0]!)).toBe(-1); // twice
    const altered = Buffer.from(values[1]!);
    altered[60] = altered[60]! ^ 1;
    expect(checker.check(altered)).toBe(-1);
    expect(checker.check(makeValues(8, 3)[2]!)).toBe(-1); // another run
    expect(checker.check(values[2]!.subarray(0, 50))).toBe(-1);
    expect(checker.complete()).toBe(false);
    expect(checker.summary()).toBe('1/4 received, 1 duplicates, 3 bad');
    expect(checker.check(values[1]!)).toBe(1);
    expect(checker.check(values[3]!)).toBe(3);
    expect(checker.check(values[2]!)).toBe(2);
    expect(checker.received).toBe(4);
    expect(checker.complete()).toBe(false); // the bad and repeated ones stay counted
    expect(new ValueChecker(7, 2).complete()).toBe(false);
  });

  it('rejects unknown system names', () => {
    expect(() => pickSystems('rill,kafka')).toThrow(/unknown system 'kafka'/);
    expect(() => pickSystems(' , ')).toThrow(RangeError);
    expect(pickSystems('redis,rill').map((s) => s.id)).toEqual(['redis', 'rill']);
  });
});

describe.runIf(ready)('peers benchmark, one tiny round per system', () => {
  const reports: SystemReport[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  for (const system of SYSTEMS) {
    it(`${system.id}: every message produced, consumed and timed exactly once`, async () => {
      const report = await runPeers(
        { systems: [system], messages: MESSAGES, rounds: 1, rate: RATE, latencySeconds: LATENCY_S, inFlight: 4, warmupMessages: 0, phaseTimeLimitMs: 20_000 },
        () => undefined,
      );
      expect(report.systems).toHaveLength(1);
      const s = report.systems[0]!;
      expect(s.id).toBe(system.id);
      const [round] = s.rounds;
      // runRound fails on a missing, repeated or altered message; these say what was counted.
      expect(round!.produce.messages).toBe(MESSAGES);
      expect(round!.consume.messages).toBe(MESSAGES);
      expect(round!.latency.sent).toBe(RATE * LATENCY_S);
      expect(round!.latency.count).toBe(RATE * LATENCY_S);
      for (const n of [round!.produce.msgsPerSec, round!.consume.msgsPerSec, round!.latency.p50, round!.latency.p99]) {
        expect(Number.isFinite(n) && n > 0).toBe(true);
      }
      expect(round!.latency.p50).toBeLessThanOrEqual(round!.latency.p99);
      expect(s.medians.produceCpuPerM).not.toBeNull();
      reports.push(s);
    });
  }

  it('renders the throughput, latency and CPU plots to SVG and prints the table', async () => {
    expect(reports.length).toBe(SYSTEMS.length);
    const dir = await mkdtemp(join(tmpdir(), 'rill-peers-plots-'));
    dirs.push(dir);
    const report = { machine: 'test', loadAverage: { start: [0, 0, 0], end: [0, 0, 0] }, options: { messages: MESSAGES, rate: RATE, 'latency-s': LATENCY_S }, startedAt: '', systems: reports };
    const svgs = await writePlots(dir, report);
    expect(svgs.map((p) => p.slice(dir.length + 1)).sort()).toEqual(['peers-latency.svg', 'peers-server-cpu.svg', 'peers-throughput.svg']);
    for (const path of svgs) {
      const svg = await readFile(path, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      // Each label is drawn on lines split at ', ': its first part is one text element.
      for (const s of reports) expect(svg).toContain(`>${s.label.split(', ')[0]}<`);
      const spec = JSON.parse(await readFile(path.replace(/\.svg$/, '.vl.json'), 'utf8')) as { data: { values: unknown[] } };
      expect(spec.data.values.length).toBeGreaterThan(0);
    }
    const table = markdownTable(report);
    expect(table.split('\n')).toHaveLength(2 + SYSTEMS.length);
  });
});
