/**
 * How long each benchmark process waited for a CPU: the kernel's per-thread schedstat
 * (/proc/<pid>/task/<tid>/schedstat: ns on the CPU, ns runnable but waiting on a run queue,
 * number of times it was put on a CPU). On this 2-vCPU machine a latency tail can come from
 * nothing in rill at all: a process woken by a packet waits until the scheduler gives it a
 * core, and the wait adds straight to every message in flight. The main thread (tid = pid)
 * is the one that handles the messages; the other threads (GC, libuv pool) are summed apart.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface SchedCounters {
  /** Main thread: ms on a CPU, ms waiting on a run queue, times it was put on a CPU. */
  mainRunMs: number;
  mainWaitMs: number;
  mainSlices: number;
  /** All threads together. */
  allWaitMs: number;
}

function readSchedstat(path: string): [number, number, number] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const [run, wait, slices] = text.trim().split(' ').map(Number) as [number, number, number];
  return Number.isFinite(run) && Number.isFinite(wait) && Number.isFinite(slices) ? [run, wait, slices] : null;
}

/** The process's counters so far; null where /proc has no schedstat (not Linux, or schedstats off). */
export function schedCounters(pid: number): SchedCounters | null {
  const main = readSchedstat(`/proc/${pid}/task/${pid}/schedstat`);
  if (main === null) return null;
  let allWait = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  for (const tid of tids) allWait += readSchedstat(`/proc/${pid}/task/${tid}/schedstat`)?.[1] ?? 0;
  return { mainRunMs: main[0] / 1e6, mainWaitMs: main[1] / 1e6, mainSlices: main[2], allWaitMs: allWait / 1e6 };
}

/** What happened between two readings (null when either is missing). */
export function schedDelta(a: SchedCounters | null, b: SchedCounters | null): SchedCounters | null {
  if (a === null || b === null) return null;
  return { mainRunMs: b.mainRunMs - a.mainRunMs, mainWaitMs: b.mainWaitMs - a.mainWaitMs, mainSlices: b.mainSlices - a.mainSlices, allWaitMs: b.allWaitMs - a.allWaitMs };
}
