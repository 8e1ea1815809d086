/**
 * One timer that wakes a loop (the producer's sender, the fetcher's round) at the EARLIEST of
 * the times asked for: arming it later than it is already armed is a no-op, earlier re-arms.
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | null = null;
  private atMs = 0;

  constructor(private readonly onWake: () => void) {}

  arm(inMs: number): void {
    const waitMs = Math.max(0, inMs);
    const at = Date.now() + waitMs;
    if (this.timer !== null && this.atMs <= at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.atMs = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onWake();
    }, waitMs);
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
