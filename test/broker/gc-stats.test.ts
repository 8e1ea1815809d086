/**
 * GcStats (broker/gc-stats.ts) on this very process: objects kept across scavenges are counted
 * as promoted, the rehashed tables of an old Set as allocated directly in the old generation,
 * and the broker's /metrics exports the totals.
 */
import { describe, expect, it } from 'vitest';
import { GcStats, gcTotalsBetween } from '../../broker/gc-stats.js';
import { BrokerMetrics } from '../../broker/metrics.js';

/** Young garbage enough to run several scavenges (the young generation is at most 32 MB). */
function churnYoung(): number {
  // Stored in a small ring so they escape (else the optimizer allocates nothing at all).
  const ring: Array<{ a: number; b: number[] }> = new Array(1024);
  for (let i = 0; i < 1_500_000; i++) ring[i & 1023] = { a: i, b: [i, i + 1] };
  return ring.length;
}

describe('GcStats', () => {
  it('counts what scavenges promote and what is allocated in the old generation directly', () => {
    const stats = new GcStats();
    const t0 = stats.harvest();
    // ~10 MB kept alive across many scavenges: promoted.
    const kept: Array<{ i: number; s: string }> = [];
    for (let i = 0; i < 200_000; i++) {
      kept.push({ i, s: `kept-${i}` });
    }
    churnYoung();
    churnYoung();
    const t1 = stats.harvest();
    const promoted = gcTotalsBetween(t0, t1);
    expect(promoted.scavenges).toBeGreaterThan(0);
    expect(promoted.promotedBytes).toBeGreaterThan(4_000_000);
    // A Set that is old by now: every shrink and regrowth of its table is an old-space allocation.
    const set = new Set<object>([kept]);
    churnYoung();
    const t2 = stats.harvest();
    for (let i = 0; i < 200_000; i++) {
      const o = {};
      set.add(o);
      set.delete(o);
    }
    // Direct allocation is seen at the next GC (as the growth since the last one).
    churnYoung();
    const t3 = stats.stop();
    const direct = gcTotalsBetween(t2, t3);
    expect(direct.oldAllocatedBytes).toBeGreaterThan(4_000_000);
    expect(t3.majorGcs).toBeGreaterThanOrEqual(t0.majorGcs);
    expect(kept.length + set.size).toBe(200_001);
    // Stopped: nothing more is recorded.
    expect(stats.harvest()).toEqual(t3);
  });

  it('is exported on the broker process metrics', async () => {
    const metrics = new BrokerMetrics(() => [], { nodeId: 0, processMetrics: true });
    churnYoung();
    const text = await metrics.registry.metrics();
    for (const name of ['rill_process_old_generation_promoted_bytes_total', 'rill_process_old_generation_allocated_bytes_total', 'rill_process_major_gcs_total']) {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
      expect(line, name).toBeDefined();
      expect(Number(line!.slice(line!.lastIndexOf(' ') + 1))).toBeGreaterThanOrEqual(0);
    }
  });
});
