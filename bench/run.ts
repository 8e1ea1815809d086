/**
 * `npm run bench [-- name ... [--option=value ...]]`: runs bench/<name>.bench.js (compiled) for
 * each name given, or every micro benchmark when none is given. Each bench module's default
 * export prints its own table (tinybench) and returns when done; all loops are bounded in count
 * and time. Options (`--name=value`) go to the named benchmarks, which check them: a bad name
 * or option is one error line and exit 2, never a stack trace or a run of everything.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.slice(0, -'.bench.js'.length))
  .sort();
// The end-to-end, group and cluster benchmarks start processes: run them only when named.
const DEFAULT_SKIP = new Set(['e2e', 'groups', 'cluster-failover', 'cluster-throughput', 'consume-probe', 'send-signal', 'peers']);

const HELP = `usage: npm run bench [-- NAME ... [--option=value ...]]

Runs the named benchmarks, or every micro benchmark (${available.filter((n) => !DEFAULT_SKIP.has(n)).join(', ')}) when none is named.
Benchmarks: ${available.join(', ')}
  e2e, groups, cluster-failover, cluster-throughput, consume-probe and send-signal start broker
  (and etcd) processes, and peers starts rill, NATS and Redis servers: they run only when named.
Options (--name=value) go to every benchmark run; the micro benchmarks take --time=MS per task,
e2e and groups theirs as docs/BENCHMARKS.md describes (e2e also: rill bench --help).
Examples:
  npm run bench -- crc record-batch
  npm run bench -- e2e --phases=produce,consume --messages=200000
  npm run bench -- peers --messages=50000 --rounds=3 --json=peers.json --plots-dir=plots
`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const asked = argv.filter((a) => !a.startsWith('-'));
for (const name of asked) if (!available.includes(name)) fail(`unknown benchmark '${name}'; available: ${available.join(', ')}`);
const names = asked.length > 0 ? asked : available.filter((n) => !DEFAULT_SKIP.has(n));

for (const name of names) {
  console.log(`\n## ${name}  (node ${process.version}, ${process.platform}/${process.arch})`);
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.js`)).href)) as { default: (argv: string[]) => Promise<void> };
  try {
    await mod.default(argv);
  } catch (err) {
    // Option mistakes (RangeError, node:util parseArgs' TypeError) and run failures alike: one line.
    fail(`${name}: ${(err as Error).message.split('\n')[0]}`);
  }
}
