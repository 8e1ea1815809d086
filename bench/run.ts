/**
 * `npm run bench [-- name ...]`: runs bench/<name>.bench.js (compiled) for each name given, or
 * every micro benchmark when none is given. Each bench module's default export prints its own
 * table (tinybench) and returns when done; all loops are bounded in count and time.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.slice(0, -'.bench.js'.length))
  .sort();

const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// The end-to-end and group benchmarks start processes: run them only when named.
const DEFAULT_SKIP = new Set(['e2e', 'groups']);
const names = asked.length > 0 ? asked : available.filter((n) => !DEFAULT_SKIP.has(n));

for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark '${name}'; available: ${available.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n## ${name}  (node ${process.version}, ${process.platform}/${process.arch})`);
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.js`)).href)) as { default: (argv: string[]) => Promise<void> };
  await mod.default(process.argv.slice(2));
}
