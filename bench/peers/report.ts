/**
 * The peers benchmark's results: per system every round and the medians over rounds, as JSON
 * (--json) and as the markdown table printed at the end (and pasted in docs/BENCHMARKS.md).
 */
import { median } from '../cluster-common.js';
import type { RoundResult } from './workload.js';

export interface SystemMedians {
  produceMsgsPerSec: number;
  consumeMsgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  produceCpuPerM: number | null;
  consumeCpuPerM: number | null;
  latencyCpuPerM: number | null;
  produceClientCpuPerM: number;
  consumeClientCpuPerM: number;
}

export interface SystemReport {
  id: string;
  label: string;
  guarantee: string;
  rounds: RoundResult[];
  medians: SystemMedians;
}

export interface PeersReport {
  machine: string;
  loadAverage: { start: number[]; end: number[] };
  options: Record<string, number | string>;
  startedAt: string;
  systems: SystemReport[];
}

function medianOrNull(values: (number | null)[]): number | null {
  return values.some((v) => v === null) ? null : median(values as number[]);
}

export function summarize(rounds: RoundResult[]): SystemMedians {
  return {
    produceMsgsPerSec: median(rounds.map((r) => r.produce.msgsPerSec)),
    consumeMsgsPerSec: median(rounds.map((r) => r.consume.msgsPerSec)),
    p50Ms: median(rounds.map((r) => r.latency.p50)),
    p99Ms: median(rounds.map((r) => r.latency.p99)),
    p999Ms: median(rounds.map((r) => r.latency.p999)),
    maxMs: median(rounds.map((r) => r.latency.max)),
    produceCpuPerM: medianOrNull(rounds.map((r) => r.produce.serverCpuPerM)),
    consumeCpuPerM: medianOrNull(rounds.map((r) => r.consume.serverCpuPerM)),
    latencyCpuPerM: medianOrNull(rounds.map((r) => r.latency.serverCpuPerM)),
    produceClientCpuPerM: median(rounds.map((r) => r.produce.clientCpuPerM)),
    consumeClientCpuPerM: median(rounds.map((r) => r.consume.clientCpuPerM)),
  };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const cpu = (n: number | null): string => (n === null ? 'n/a' : n.toFixed(1));

/** The medians as a markdown table, one row per system. */
export function markdownTable(report: PeersReport): string {
  const lines = [
    '| system | produce msgs/s | consume msgs/s | latency p50 ms | p99 ms | p99.9 ms | server CPU s/M produce | consume | latency | client CPU s/M produce | consume |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.systems) {
    const m = s.medians;
    lines.push(`| ${s.label} | ${int(m.produceMsgsPerSec)} | ${int(m.consumeMsgsPerSec)} | ${ms(m.p50Ms)} | ${ms(m.p99Ms)} | ${ms(m.p999Ms)} | ${cpu(m.produceCpuPerM)} | ${cpu(m.consumeCpuPerM)} | ${cpu(m.latencyCpuPerM)} | ${cpu(m.produceClientCpuPerM)} | ${cpu(m.consumeClientCpuPerM)} |`);
  }
  return lines.join('\n');
}

/** One line per round and system, as the run goes (the spread behind the medians). */
export function roundLine(round: number, label: string, r: RoundResult): string {
  return (
    `round ${round} ${label}: produce ${int(r.produce.msgsPerSec)} msgs/s (CPU s/M: server ${cpu(r.produce.serverCpuPerM)}, client ${cpu(r.produce.clientCpuPerM)}), ` +
    `consume ${int(r.consume.msgsPerSec)} msgs/s (${cpu(r.consume.serverCpuPerM)}, ${cpu(r.consume.clientCpuPerM)}), ` +
    `latency p50 ${ms(r.latency.p50)} p99 ${ms(r.latency.p99)} ms at ${int(r.latency.achievedRate)} msgs/s (${cpu(r.latency.serverCpuPerM)})`
  );
}
