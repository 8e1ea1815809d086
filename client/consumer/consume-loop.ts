/**
 * Which loop is reading the consumer — none, `for await` or run() — and the wait for it to
 * end: one loop at a time (a second one is refused with an error naming the first), stop() and
 * close() mark it stopping and wait for `done`, which resolves when the loop ends.
 */
export type LoopMode = 'idle' | 'iterator' | 'run';

export class ConsumeLoop {
  mode: LoopMode = 'idle';
  /** stop() (or close()) was called during this loop. */
  stopping = false;
  /** Resolves when the current loop ends (at once when none runs). */
  done: Promise<void> = Promise.resolve();
  private resolveDone: () => void = () => undefined;

  /** Starts a loop of `mode`; throws when the consumer is closed or another loop is running. */
  start(mode: Exclude<LoopMode, 'idle'>, closed: boolean): void {
    if (closed) throw new Error('the consumer is closed');
    if (this.mode !== 'idle') throw new Error(`the consumer is already being read (${this.mode === 'run' ? 'run()' : 'for await'}); use one loop at a time`);
    this.mode = mode;
    this.stopping = false;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** Ends the current loop, if any; false when none was running. */
  end(): boolean {
    if (this.mode === 'idle') return false;
    this.mode = 'idle';
    this.resolveDone();
    return true;
  }
}
