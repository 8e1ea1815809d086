/**
 * What flows into this process's old generation, and how many major GCs it costs: the figures
 * that say whether a service's garbage stays young (cheap scavenges) or reaches old space, where
 * only a Mark-Compact (the long pauses of a latency tail) frees it.
 *
 *   promotedBytes   what scavenges moved from the young generation to the old one (objects that
 *                   outlived two scavenges)
 *   oldAllocatedBytes  what was allocated in the old generation directly, between GCs: code and
 *                   bytecode, large objects, and the new hash table of a Map or Set (or an
 *                   EventTarget's listener map) that lives in old space when it grows, shrinks,
 *                   is rehashed or cleared (broker/fetch-purgatory.ts says why that matters)
 *   majorGcs        Mark-Compacts
 *
 * Read from V8's GCProfiler (node:v8), which records the heap's spaces before and after every
 * GC. It keeps every record until stopped, so `harvest()` stops it, adds the records up and
 * starts a new one: whoever holds a GcStats harvests it at least every few seconds (the broker:
 * on every scrape and on a timer; the benchmark children: at the end of a run).
 * The old generation here is the old, code and large-object spaces.
 */
import { GCProfiler } from 'node:v8';

const OLD_GENERATION_SPACES = new Set(['old_space', 'code_space', 'map_space', 'large_object_space', 'code_large_object_space']);

export interface GcTotals {
  scavenges: number;
  majorGcs: number;
  promotedBytes: number;
  oldAllocatedBytes: number;
}

interface SpaceStatistics {
  spaceName: string;
  spaceUsedSize: number;
}

interface GcRecord {
  gcType: string;
  beforeGC: { heapSpaceStatistics: SpaceStatistics[] };
  afterGC: { heapSpaceStatistics: SpaceStatistics[] };
}

function oldGenerationBytes(spaces: readonly SpaceStatistics[]): number {
  let bytes = 0;
  for (const s of spaces) if (OLD_GENERATION_SPACES.has(s.spaceName)) bytes += s.spaceUsedSize;
  return bytes;
}

export class GcStats {
  private profiler: GCProfiler | null = new GCProfiler();
  /** Old generation bytes after the last GC seen (null before the first). */
  private lastAfter: number | null = null;
  private readonly totals: GcTotals = { scavenges: 0, majorGcs: 0, promotedBytes: 0, oldAllocatedBytes: 0 };

  constructor() {
    this.profiler!.start();
  }

  /** Adds up the GCs since the last harvest; the running totals since construction. */
  harvest(): GcTotals {
    const profiler = this.profiler;
    if (profiler !== null) {
      const records = (profiler.stop() as unknown as { statistics?: GcRecord[] } | undefined)?.statistics ?? [];
      this.profiler = new GCProfiler();
      this.profiler.start();
      for (const r of records) this.add(r);
    }
    return { ...this.totals };
  }

  /** Harvests one last time and stops recording. */
  stop(): GcTotals {
    const totals = this.harvest();
    this.profiler?.stop();
    this.profiler = null;
    return totals;
  }

  private add(r: GcRecord): void {
    const before = oldGenerationBytes(r.beforeGC.heapSpaceStatistics);
    const after = oldGenerationBytes(r.afterGC.heapSpaceStatistics);
    // Between two GCs the old generation only grows by direct allocation.
    if (this.lastAfter !== null && before > this.lastAfter) this.totals.oldAllocatedBytes += before - this.lastAfter;
    this.lastAfter = after;
    if (r.gcType === 'Scavenge') {
      this.totals.scavenges++;
      if (after > before) this.totals.promotedBytes += after - before;
    } else if (r.gcType === 'MarkSweepCompact') {
      this.totals.majorGcs++;
    }
  }
}

/** `b - a`, field by field. */
export function gcTotalsBetween(a: GcTotals, b: GcTotals): GcTotals {
  return { scavenges: b.scavenges - a.scavenges, majorGcs: b.majorGcs - a.majorGcs, promotedBytes: b.promotedBytes - a.promotedBytes, oldAllocatedBytes: b.oldAllocatedBytes - a.oldAllocatedBytes };
}
