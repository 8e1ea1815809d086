/**
 * A one-line progress display on stderr for long-running commands (`rill produce` from a big
 * file, `rill bench`): redrawn in place every REDRAW_INTERVAL_MS, erased when done. Quiet
 * unless stderr is a terminal, so pipes, redirects, scripts and CI logs see no progress noise
 * and stdout (the command's output) is never touched.
 */

export const REDRAW_INTERVAL_MS = 500;

/** What the display writes to: process.stderr, or any stream that says whether it is a TTY. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private shown = false;
  private readonly startedMs = Date.now();
  readonly enabled: boolean;

  /** `render(elapsedMs)` returns the current line (without newline). */
  constructor(
    private readonly render: (elapsedMs: number) => string,
    private readonly stream: ProgressStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
  }

  /** Starts redrawing (nothing when the stream is not a terminal). */
  start(): this {
    if (!this.enabled || this.timer !== null) return this;
    this.timer = setInterval(() => this.redraw(), REDRAW_INTERVAL_MS);
    // Never what keeps the process alive.
    this.timer.unref();
    return this;
  }

  /** Draws the current line now. */
  redraw(): void {
    if (!this.enabled) return;
    let line = this.render(Date.now() - this.startedMs);
    // A line wider than the terminal wraps, and \r then redraws only its last row.
    const width = this.stream.columns;
    if (width !== undefined && width > 1 && line.length >= width) line = line.slice(0, width - 1);
    this.stream.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  /** Stops redrawing and erases the line, leaving the terminal as it was. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}

/** `12.3 s`, `4 min 05 s`: elapsed time for a progress line. */
export function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.floor(s - m * 60)).padStart(2, '0')} s`;
}

/** Messages per second over an elapsed time, `12,345 msg/s` (0 before the first second tick). */
export function formatRate(count: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? Math.round((count * 1000) / elapsedMs) : 0;
  return `${rate.toLocaleString('en-US')} msg/s`;
}
