/**
 * The end-to-end benchmark's printed report: a markdown table per kind of result and the
 * issue's targets with a met/MISSED verdict.
 */
import type { CpuNoise, E2eResults } from './phases.js';
import type { PauseStats } from './pauses.js';
import type { SchedCounters } from './sched.js';

const TARGET_PRODUCE_MSGS_PER_SEC = 1_000_000;
const TARGET_CONSUME_MSGS_PER_SEC = 2_000_000;
const TARGET_P99_MS = 10;

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const fixed = (n: number | null, digits: number): string => (n === null || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));
const ms = (n: number): string => fixed(n, n < 10 ? 2 : 1);

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

function noiseCell(n: CpuNoise | null): string {
  return n === null ? 'n/a' : `${fixed(n.otherCpuSeconds, 2)} / ${fixed(n.stealSeconds, 2)}`;
}

/** 'promoted + allocated MB/s / major GCs' of one process, 'n/a' where unknown. */
function oldGeneration(p: PauseStats | null): string {
  if (p === null || p.promotedMb === null || p.oldAllocatedMb === null || p.seconds <= 0) return 'n/a';
  return `${fixed(p.promotedMb / p.seconds, 2)} + ${fixed(p.oldAllocatedMb / p.seconds, 2)} / ${p.majorGcs ?? 'n/a'}`;
}

function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

export function formatReport(r: E2eResults): string {
  const o = r.options;
  const out: string[] = [];
  out.push(
    `machine: ${r.machine.cpus} x ${r.machine.cpuModel}, node ${r.machine.node} ${r.machine.platform}; ` +
      `load average ${r.machine.loadAverageStart.map((x) => x.toFixed(2)).join(' ')} at start, ${r.machine.loadAverageEnd.map((x) => x.toFixed(2)).join(' ')} at end`,
  );
  out.push(
    `workload: ${o.valueBytes}-byte values, null keys, acks=1, no compression, ${o.partitions} partitions; producer lingerMs ${o.lingerMs}, ` +
      `${o.messagesPerSend} messages per send(), <= ${o.maxOutstandingSends} sends outstanding; MB = 10^6 value bytes`,
  );
  const tput = r.produce === null ? r.consume : [r.produce, ...r.consume];
  if (tput.length > 0) {
    out.push('');
    out.push(
      table(
        ['phase', 'messages', 's', 'msgs/s', 'MB/s', 'broker CPU s', 'broker CPU s / M msgs', 'client CPU s', 'other processes\' CPU s / steal s', 'note'],
        tput.map((t) => [
          t.phase,
          int(t.messages),
          fixed(t.seconds, 2),
          int(t.msgsPerSec),
          fixed(t.mbPerSec, 1),
          fixed(t.brokerCpuSeconds, 2),
          fixed(t.brokerCpuSecondsPerMillion, 2),
          fixed(t.clientCpuSeconds, 2),
          noiseCell(t.noise),
          [t.timedOut ? 'TIME LIMIT HIT' : '', t.offsetGaps !== undefined && t.offsetGaps > 0 ? `${t.offsetGaps} OFFSET GAPS` : ''].filter((x) => x !== '').join(', '),
        ]),
      ),
    );
  }
  if (r.latency.length > 0) {
    out.push('');
    out.push(
      table(
        ['latency, send() to eachMessage', 'messages', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'send→ack p50 / p99 ms', 'max schedule lag ms', 'broker CPU s / M msgs', 'producer / consumer CPU s', 'other processes\' CPU s / steal s', 'clock skew ms', 'note'],
        r.latency.map((l) => [
          `${int(l.ratePerSec)} msgs/s, lingerMs ${l.lingerMs}`,
          `${int(l.messagesReceived)} / ${int(l.messagesSent)}`,
          ms(l.latencyMs.p50),
          ms(l.latencyMs.p99),
          ms(l.latencyMs.p999),
          ms(l.latencyMs.max),
          `${ms(l.ackMs.p50)} / ${ms(l.ackMs.p99)}`,
          ms(l.maxScheduleLagMs),
          fixed(l.brokerCpuSecondsPerMillion, 2),
          `${fixed(l.producerCpuSeconds, 2)} / ${fixed(l.consumerCpuSeconds, 2)}`,
          noiseCell(l.noise),
          `${fixed(l.clockSkewMs, 3)} ± ${fixed(l.clockSkewUncertaintyMs, 3)}`,
          [l.timedOut ? 'TIME LIMIT HIT' : '', l.duplicates > 0 ? `${l.duplicates} DUPLICATES` : ''].filter((x) => x !== '').join(', '),
        ]),
      ),
    );
  }
  if (r.latency.length > 0) {
    out.push('');
    const pause = (p: PauseStats | null): string =>
      p === null ? 'n/a' : `${fixed(p.gcTotalMs, 0)} / ${p.gcMaxMs === null ? '-' : fixed(p.gcMaxMs, 1)} / ${fixed(p.loopDelayMaxMs, 1)}`;
    out.push(
      table(
        ['pauses in the latency run: GC total ms / longest GC ms / longest event-loop stall ms', 'producer', 'broker', 'consumer'],
        r.latency.map((l) => [`lingerMs ${l.lingerMs}`, pause(l.pauses.producer), pause(l.pauses.broker), pause(l.pauses.consumer)]),
      ),
    );
  }
  if (r.latency.length > 0) {
    out.push('');
    out.push(
      table(
        ['old generation in the latency run: MB/s promoted by scavenges + MB/s allocated there directly / major GCs', 'producer', 'broker', 'consumer'],
        r.latency.map((l) => [`lingerMs ${l.lingerMs}`, oldGeneration(l.pauses.producer), oldGeneration(l.pauses.broker), oldGeneration(l.pauses.consumer)]),
      ),
    );
  }
  if (r.latency.some((l) => l.sched.producer !== null)) {
    out.push('');
    const sched = (s: SchedCounters | null): string =>
      s === null ? 'n/a' : `${fixed(s.mainWaitMs, 0)} / ${fixed(s.mainSlices === 0 ? 0 : (s.mainWaitMs * 1000) / s.mainSlices, 0)} / ${fixed(s.mainRunMs, 0)}`;
    out.push(
      table(
        ['waiting for a CPU in the latency run, main thread: run-queue wait ms / per wake-up µs / on-CPU ms', 'producer', 'broker', 'consumer'],
        r.latency.map((l) => [`lingerMs ${l.lingerMs}`, sched(l.sched.producer), sched(l.sched.broker), sched(l.sched.consumer)]),
      ),
    );
  }
  out.push('');
  const targets: string[] = [];
  if (r.produce !== null) {
    targets.push(`produce >= ${int(TARGET_PRODUCE_MSGS_PER_SEC)} msgs/s: ${verdict(r.produce.msgsPerSec >= TARGET_PRODUCE_MSGS_PER_SEC)} (${int(r.produce.msgsPerSec)})`);
  }
  if (r.consume.length > 0) {
    const best = Math.max(...r.consume.map((c) => c.msgsPerSec));
    targets.push(`consume >= ${int(TARGET_CONSUME_MSGS_PER_SEC)} msgs/s: ${verdict(best >= TARGET_CONSUME_MSGS_PER_SEC)} (${int(best)}, best mode)`);
  }
  if (r.latency.length > 0) {
    const worst = Math.max(...r.latency.map((l) => l.latencyMs.p99));
    targets.push(`e2e p99 <= ${TARGET_P99_MS} ms: ${verdict(worst <= TARGET_P99_MS)} (${ms(worst)}, worst lingerMs)`);
  }
  out.push(`targets: ${targets.join('; ')}`);
  out.push(`total ${r.totalSeconds.toFixed(1)} s`);
  return out.join('\n');
}
