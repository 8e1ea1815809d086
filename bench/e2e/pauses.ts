/**
 * Where a latency tail comes from: the stop-the-world GC pauses and event-loop stalls of a
 * process over a measured interval, and what feeds the long ones: the bytes that reach the old
 * generation and the major GCs (Mark-Compacts) that follow. The producer and consumer watch
 * themselves with `PerformanceObserver('gc')`, `monitorEventLoopDelay` and GcStats
 * (broker/gc-stats.ts); the broker is read from outside, from its process metrics on its
 * /metrics endpoint (brokerPauses below).
 */
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { GcStats } from '../../broker/gc-stats.js';

export interface PauseStats {
  /** Stop-the-world GC time on the main thread, ms (scavenges included). */
  gcTotalMs: number;
  /** The longest single GC pause, ms (null where it is not known: the broker's). */
  gcMaxMs: number | null;
  /** The longest time the event loop was late, ms (sampled every 10 ms, as on the broker). */
  loopDelayMaxMs: number;
  /** 99th percentile of the event loop's lateness, ms. */
  loopDelayP99Ms: number;
  /** Length of the measured interval, s. */
  seconds: number;
  /** Mark-Compacts in the interval (null where not known: a broker without these metrics). */
  majorGcs: number | null;
  /** MB (10^6 bytes) scavenges promoted to the old generation in the interval. */
  promotedMb: number | null;
  /** MB allocated directly in the old generation in the interval (gc-stats.ts). */
  oldAllocatedMb: number | null;
}

/**
 * The event-loop monitor's timer period. 10 ms, as the broker's prom-client: at 1 ms the
 * monitor itself woke each process ~800 times a second and cost ~35 ms of CPU per second
 * (measured on an idle node process), an observer effect on exactly the scheduling it is
 * there to watch. A stall shorter than the period is caught only when it covers a sampling
 * instant; the stalls that make the tail (5 ms and more) are still seen.
 */
const LOOP_RESOLUTION_MS = 10;

/** Starts watching this process; `stop()` returns what happened since. */
export function watchPauses(): { stop: () => PauseStats } {
  let gcTotalMs = 0;
  let gcMaxMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcTotalMs += e.duration;
      if (e.duration > gcMaxMs) gcMaxMs = e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  delay.enable();
  const gc = new GcStats();
  const started = performance.now();
  return {
    stop: () => {
      const old = gc.stop();
      delay.disable();
      observer.disconnect();
      // The histogram holds whole sampling intervals (ns): lateness is what exceeds the period.
      const late = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
      return {
        gcTotalMs,
        gcMaxMs,
        loopDelayMaxMs: late(delay.max),
        loopDelayP99Ms: late(delay.percentile(99)),
        seconds: (performance.now() - started) / 1000,
        majorGcs: old.majorGcs,
        promotedMb: old.promotedBytes / 1e6,
        oldAllocatedMb: old.oldAllocatedBytes / 1e6,
      };
    },
  };
}

const METRICS_TIMEOUT_MS = 5_000;

/** Sum of every sample of a metric (all label sets) in Prometheus text, or null if absent. */
function metricValue(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

export interface BrokerMetricsSample {
  /** performance.now() of the scrape (this process's clock). */
  atMs: number;
  gcSeconds: number;
  loopDelayMaxSeconds: number;
  loopDelayP99Seconds: number;
  /** Running totals, null from a broker that does not export them (older builds). */
  majorGcs: number | null;
  promotedBytes: number | null;
  oldAllocatedBytes: number | null;
}

/**
 * One scrape of the broker's process metrics. prom-client resets its event-loop histogram on
 * every scrape, so a scrape at the start of an interval and one at its end give the interval's
 * worst lateness; GC time is a running sum. (prom-client samples the loop every 10 ms and, like
 * watchPauses, the samples are whole intervals: brokerPauses subtracts the period.)
 */
export async function scrapeBroker(metricsPort: number): Promise<BrokerMetricsSample | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
    if (!res.ok) return null;
    const text = await res.text();
    // No GC sample yet is no GC time yet.
    const gc = metricValue(text, 'rill_process_nodejs_gc_duration_seconds_sum') ?? 0;
    const max = metricValue(text, 'rill_process_nodejs_eventloop_lag_max_seconds');
    const p99 = metricValue(text, 'rill_process_nodejs_eventloop_lag_p99_seconds');
    if (max === null || p99 === null) return null;
    return {
      atMs: performance.now(),
      gcSeconds: gc,
      loopDelayMaxSeconds: max,
      loopDelayP99Seconds: p99,
      majorGcs: metricValue(text, 'rill_process_major_gcs_total'),
      promotedBytes: metricValue(text, 'rill_process_old_generation_promoted_bytes_total'),
      oldAllocatedBytes: metricValue(text, 'rill_process_old_generation_allocated_bytes_total'),
    };
  } catch {
    return null;
  }
}

const PROM_CLIENT_LOOP_RESOLUTION_MS = 10;

/** The broker's pauses between two scrapes, or null when either failed. */
export function brokerPauses(before: BrokerMetricsSample | null, after: BrokerMetricsSample | null): PauseStats | null {
  if (before === null || after === null) return null;
  const delta = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : b - a);
  const mb = (bytes: number | null): number | null => (bytes === null ? null : bytes / 1e6);
  return {
    gcTotalMs: (after.gcSeconds - before.gcSeconds) * 1000,
    gcMaxMs: null,
    loopDelayMaxMs: Math.max(0, after.loopDelayMaxSeconds * 1000 - PROM_CLIENT_LOOP_RESOLUTION_MS),
    loopDelayP99Ms: Math.max(0, after.loopDelayP99Seconds * 1000 - PROM_CLIENT_LOOP_RESOLUTION_MS),
    seconds: (after.atMs - before.atMs) / 1000,
    majorGcs: delta(before.majorGcs, after.majorGcs),
    promotedMb: mb(delta(before.promotedBytes, after.promotedBytes)),
    oldAllocatedMb: mb(delta(before.oldAllocatedBytes, after.oldAllocatedBytes)),
  };
}
