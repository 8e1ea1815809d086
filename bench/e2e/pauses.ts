/**
 * Where a latency tail comes from: the stop-the-world GC pauses and event-loop stalls of a
 * process over a measured interval. The producer and consumer watch themselves with
 * `PerformanceObserver('gc')` and `monitorEventLoopDelay`; the broker is read from outside,
 * from the prom-client process metrics on its /metrics endpoint (brokerPauses below).
 */
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

export interface PauseStats {
  /** Stop-the-world GC time on the main thread, ms (scavenges included). */
  gcTotalMs: number;
  /** The longest single GC pause, ms (null where it is not known: the broker's). */
  gcMaxMs: number | null;
  /** The longest time the event loop was late, ms (sampled every 10 ms, as on the broker). */
  loopDelayMaxMs: number;
  /** 99th percentile of the event loop's lateness, ms. */
  loopDelayP99Ms: number;
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
  return {
    stop: () => {
      delay.disable();
      observer.disconnect();
      // The histogram holds whole sampling intervals (ns): lateness is what exceeds the period.
      const late = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
      return { gcTotalMs, gcMaxMs, loopDelayMaxMs: late(delay.max), loopDelayP99Ms: late(delay.percentile(99)) };
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
  gcSeconds: number;
  loopDelayMaxSeconds: number;
  loopDelayP99Seconds: number;
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
    return { gcSeconds: gc, loopDelayMaxSeconds: max, loopDelayP99Seconds: p99 };
  } catch {
    return null;
  }
}

const PROM_CLIENT_LOOP_RESOLUTION_MS = 10;

/** The broker's pauses between two scrapes, or null when either failed. */
export function brokerPauses(before: BrokerMetricsSample | null, after: BrokerMetricsSample | null): PauseStats | null {
  if (before === null || after === null) return null;
  return {
    gcTotalMs: (after.gcSeconds - before.gcSeconds) * 1000,
    gcMaxMs: null,
    loopDelayMaxMs: Math.max(0, after.loopDelayMaxSeconds * 1000 - PROM_CLIENT_LOOP_RESOLUTION_MS),
    loopDelayP99Ms: Math.max(0, after.loopDelayP99Seconds * 1000 - PROM_CLIENT_LOOP_RESOLUTION_MS),
  };
}
