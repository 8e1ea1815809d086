/**
 * `rill bench [options]`: the end-to-end benchmark (the same as `npm run bench -- e2e`):
 * a broker, a producer and a consumer process on loopback. Options are the benchmark's own
 * `--name=value` (docs/BENCHMARKS.md "End to end"); a bad one is one error line, exit 1.
 * While it runs, a terminal on stderr shows the phase, the last phase's result and the elapsed
 * time; the report goes to stdout.
 */
import type { Command } from 'commander';
import { action } from '../common.js';
import { Progress, formatElapsed } from '../progress.js';

const OPTIONS_HELP = `
Options, as --name=value (defaults in brackets; docs/BENCHMARKS.md explains each phase):
  --phases=LIST               latency,produce,consume [all three]
  --messages=N                produced in the produce phase [2000000]
  --value-bytes=N             size of every value, >= 16 [100]
  --partitions=N              of every benchmark topic [3]
  --messages-per-send=N       messages per send() [100]
  --max-outstanding-sends=N   unacked sends allowed [~64k messages' worth]
  --linger-ms=N               producer lingerMs in the produce phase [5]
  --produce-time-limit-s=S    bound of the produce phase and of each consume pass [20]
  --consume-modes=LIST        batch,message [both]
  --rate=N                    messages per second in the latency phase [20000]
  --duration-s=S              length of each latency run [10]
  --latency-linger-ms=LIST    one latency run per value [5,0]
  --warmup-messages=N         produced and consumed first, not counted [100000]
  --profile-dir=DIR           run every process with --cpu-prof into DIR
  --node-flags='FLAGS'        extra node options for every process, e.g. '--trace-gc'
  --json=FILE                 also write the results as JSON
Example:
  rill bench --phases=produce,consume --messages=200000`;

/** node:util parseArgs' "Unknown option '--x'. To specify a positional ..." is longer than it needs to be. */
function benchUsageError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = /'(-[^']*)'/.exec(e.message)?.[1] ?? '?';
    return new Error(`unknown bench option '${name}' (rill bench --help lists them)`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new Error(e.message.split('\n')[0]);
  return err;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('run the end-to-end benchmark (broker, producer and consumer processes on loopback); options as --name=value')
    .allowUnknownOption(true)
    .helpOption('-h, --help', 'show the benchmark\'s options')
    .argument('[options...]', 'benchmark options, e.g. --messages=500000 --rate=20000 --phases=latency')
    .addHelpText('after', OPTIONS_HELP)
    .action(
      action(async (args: string[]) => {
        const stray = args.find((a) => !a.startsWith('--'));
        if (stray !== undefined) throw new Error(`unexpected argument '${stray}': bench options take the form --name=value (rill bench --help lists them)`);
        // Loaded only when asked for: other commands start without it.
        const { default: run, parseE2eOptions } = await import('../../bench/e2e.bench.js');
        try {
          parseE2eOptions(args);
        } catch (err) {
          throw benchUsageError(err);
        }
        let phase = 'starting the broker, producer and consumer';
        let last: string | null = null;
        let phaseStartMs = Date.now();
        const progress = new Progress((ms) => `bench: ${phase}, ${formatElapsed(Date.now() - phaseStartMs)} (total ${formatElapsed(ms)})${last !== null ? `; ${last}` : ''}`).start();
        // Ctrl-C ends the process from bench/processes.ts's handler: leave no half-drawn line.
        const erase = (): void => progress.stop();
        process.once('exit', erase);
        try {
          await run(args, (next, lastResult) => {
            phase = next;
            last = lastResult;
            phaseStartMs = Date.now();
            progress.redraw();
          });
        } finally {
          process.off('exit', erase);
          progress.stop();
        }
      }),
    );
}
