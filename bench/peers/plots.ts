/**
 * Vega-Lite plots of a peers report: throughput (produce and consume msgs/s), end-to-end latency
 * (p50, p99, p99.9) and server CPU per million messages, each a bar per system and measure at
 * the median with every round as a dot. Written as NAME.vl.json (the spec, data inline) and
 * rendered headless to NAME.svg with vega-lite's compiler and vega's SVG renderer (pure JS).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { median } from '../cluster-common.js';
import type { PeersReport } from './report.js';
import type { RoundResult } from './workload.js';

interface Row {
  system: string;
  measure: string;
  value: number;
  kind: 'median' | 'round';
}

interface Measure {
  name: string;
  of: (r: RoundResult) => number | null;
}

function rows(report: PeersReport, measures: Measure[]): Row[] {
  const out: Row[] = [];
  for (const s of report.systems) {
    for (const m of measures) {
      const values = s.rounds.map(m.of).filter((v): v is number => v !== null && Number.isFinite(v));
      if (values.length === 0) continue;
      for (const value of values) out.push({ system: s.label, measure: m.name, value, kind: 'round' });
      out.push({ system: s.label, measure: m.name, value: median(values), kind: 'median' });
    }
  }
  return out;
}

function groupedBars(title: string, subtitle: string, yTitle: string, data: Row[], measures: string[], systems: string[]): TopLevelSpec {
  // Systems in the report's order; a label's ", "-separated parts on lines of their own.
  const x = { field: 'system', type: 'nominal' as const, title: null, sort: systems, axis: { labelAngle: 0, labelLimit: 0, labelExpr: "split(datum.label, ', ')" } };
  const xOffset = { field: 'measure', type: 'nominal' as const, sort: measures };
  const color = { field: 'measure', type: 'nominal' as const, sort: measures, title: null };
  const y = { field: 'value', type: 'quantitative' as const, title: yTitle };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    width: 640,
    height: 320,
    data: { values: data },
    layer: [
      { transform: [{ filter: "datum.kind === 'median'" }], mark: { type: 'bar' }, encoding: { x, xOffset, y, color } },
      {
        transform: [{ filter: "datum.kind === 'median'" }],
        mark: { type: 'text', dy: -6, fontSize: 10 },
        encoding: { x, xOffset, y, text: { field: 'value', type: 'quantitative', format: yTitle.includes('msgs/s') ? ',.0f' : '.2f' } },
      },
      { transform: [{ filter: "datum.kind === 'round'" }], mark: { type: 'point', filled: true, color: 'black', size: 18, opacity: 0.6 }, encoding: { x, xOffset, y } },
    ],
    config: { legend: { orient: 'top' } },
  } as TopLevelSpec;
}

export function plotSpecs(report: PeersReport): { name: string; spec: TopLevelSpec }[] {
  const rounds = report.systems[0]?.rounds.length ?? 0;
  const n = (v: number | string | undefined): string => (typeof v === 'number' ? v.toLocaleString('en-US') : String(v));
  const sub = `${n(report.options.messages)} x 100-byte messages per round; latency at ${n(report.options.rate)} msgs/s for ${n(report.options['latency-s'])} s; bars: median of ${rounds} rounds, dots: rounds`;
  const systems = report.systems.map((s) => s.label);
  return [
    {
      name: 'peers-throughput',
      spec: groupedBars('Throughput', sub, 'msgs/s', rows(report, [
        { name: 'produce', of: (r) => r.produce.msgsPerSec },
        { name: 'consume', of: (r) => r.consume.msgsPerSec },
      ]), ['produce', 'consume'], systems),
    },
    {
      name: 'peers-latency',
      spec: groupedBars('End-to-end latency (send to receive)', sub, 'ms', rows(report, [
        { name: 'p50', of: (r) => r.latency.p50 },
        { name: 'p99', of: (r) => r.latency.p99 },
        { name: 'p99.9', of: (r) => r.latency.p999 },
      ]), ['p50', 'p99', 'p99.9'], systems),
    },
    {
      name: 'peers-server-cpu',
      spec: groupedBars('Server CPU seconds per million messages', sub, 'CPU s / M msgs', rows(report, [
        { name: 'produce', of: (r) => r.produce.serverCpuPerM },
        { name: 'consume', of: (r) => r.consume.serverCpuPerM },
        { name: 'latency', of: (r) => r.latency.serverCpuPerM },
      ]), ['produce', 'consume', 'latency'], systems),
    },
  ];
}

/** Compiles a Vega-Lite spec and renders it to an SVG string, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes NAME.vl.json and NAME.svg for every plot into `dir`; returns the SVG paths. */
export async function writePlots(dir: string, report: PeersReport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { name, spec } of plotSpecs(report)) {
    await writeFile(join(dir, `${name}.vl.json`), JSON.stringify(spec, null, 2) + '\n');
    const svgPath = join(dir, `${name}.svg`);
    await writeFile(svgPath, await renderSvg(spec));
    written.push(svgPath);
  }
  return written;
}
