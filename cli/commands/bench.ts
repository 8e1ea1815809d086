/**
 * `rill bench [options]`: the end-to-end benchmark (the same as `npm run bench -- e2e`):
 * a broker, a producer and a consumer process on loopback. Options are passed through in the
 * benchmark's own `--name=value` form (docs/BENCHMARKS.md "End to end" lists them).
 */
import type { Command } from 'commander';

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('run the end-to-end benchmark (broker, producer and consumer processes on loopback); options as --name=value, see docs/BENCHMARKS.md')
    .allowUnknownOption(true)
    .argument('[options...]', 'benchmark options, e.g. --messages=500000 --rate=20000 --phases=latency')
    .action(async (options: string[]) => {
      // Loaded only when asked for: other commands start without it.
      const { default: run } = await import('../../bench/e2e.bench.js');
      await run(options);
    });
}
