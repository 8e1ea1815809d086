/**
 * How far a child's clock (common.ts nowMs()) is from the parent's, measured the way NTP does:
 * the parent notes its time t0, asks for the child's time c, and notes t1 when the answer is
 * back; then c - (t0 + t1) / 2 is the offset, give or take half the round trip. The sample with
 * the shortest round trip wins. Over local IPC round trips are ~0.1 ms, so the latency figures
 * corrected with it are good to a few hundredths of a millisecond.
 */
import { nowMs } from './common.js';
import type { ChildClient } from './processes.js';

const SAMPLES = 40;
const SAMPLE_SPACING_MS = 2;
const REQUEST_TIMEOUT_MS = 5_000;

export interface ClockOffset {
  /** Child clock minus parent clock, ms. */
  offsetMs: number;
  /** Half the best round trip: the offset's error bound, ms. */
  uncertaintyMs: number;
}

export async function measureClockOffset(child: ChildClient): Promise<ClockOffset> {
  let best: ClockOffset | null = null;
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = nowMs();
    const reply = await child.request({ type: 'clock' }, 'clock', REQUEST_TIMEOUT_MS);
    const t1 = nowMs();
    const half = (t1 - t0) / 2;
    if (best === null || half < best.uncertaintyMs) best = { offsetMs: reply.nowMs - (t0 + half), uncertaintyMs: half };
    await new Promise((r) => setTimeout(r, SAMPLE_SPACING_MS));
  }
  return best!;
}
