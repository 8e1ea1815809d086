/**
 * cli/progress.ts: the one-line progress display draws only on a terminal, redraws in place,
 * fits the terminal's width and erases itself.
 */
import { describe, expect, it } from 'vitest';
import { Progress, formatElapsed, formatRate, type ProgressStream } from '../../cli/progress.js';

function stream(isTTY: boolean, columns?: number): ProgressStream & { written: string[] } {
  const written: string[] = [];
  return { isTTY, columns, written, write: (text: string) => written.push(text) > 0 };
}

describe('Progress', () => {
  it('writes nothing when the stream is not a terminal', () => {
    const out = stream(false);
    const q = new Progress(() => 'working', out).start();
    q.redraw();
    q.stop();
    expect(q.enabled).toBe(false);
    expect(out.written).toEqual([]);
  });

  it('redraws the line in place on a terminal and erases it when stopped', () => {
    const out = stream(true, 80);
    let n = 0;
    const p = new Progress(() => `step ${++n}`, out);
    p.redraw();
    p.redraw();
    p.stop();
    p.stop();
    expect(out.written).toEqual(['\r\x1b[Kstep 1', '\r\x1b[Kstep 2', '\r\x1b[K']);
  });

  it('cuts a line to the terminal width, so that \\r redraws all of it', () => {
    const out = stream(true, 10);
    const p = new Progress(() => 'x'.repeat(50), out);
    p.redraw();
    p.stop();
    expect(out.written[0]).toBe('\r\x1b[K' + 'x'.repeat(9));
  });

  it('formats elapsed time and rates', () => {
    expect(formatElapsed(12_345)).toBe('12.3 s');
    expect(formatElapsed(245_000)).toBe('4 min 05 s');
    expect(formatRate(50_000, 2_000)).toBe('25,000 msg/s');
    expect(formatRate(10, 0)).toBe('0 msg/s');
  });
});
