/**
 * One timer that wakes a loop (the producer's sender, the fetcher's round) at the EARLIEST of
 * the times asked for: arming it later than it is already armed is a no-op, earlier re-arms.
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | null = null;
  private atMs = 0;

  constructor(private readonly onWake: () => void) {}

  arm(inMs: number): void {
    // Whole milliseconds, rounded up: Node truncates a fractional delay (setTimeout(4.9) waits
    // 4 ms of its loop clock, which itself lags real time by up to 1 ms), so an unrounded
    // timer fired up to 2 ms early and its loop ran once more for nothing.
    const waitMs = Math.max(0, Math.ceil(inMs));
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
