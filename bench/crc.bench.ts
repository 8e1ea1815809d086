/**
 * CRC-32C throughput, the per-byte cost that every produce validation, fetch decode and
 * recovery scan pays: the native (`@node-rs/crc32`) and pure-JS implementations side by side in
 * the same run, over 1 MiB, 16 KiB (a typical small batch) and 256 B (a batch of a few tiny
 * records, where the native call's fixed cost shows), plus the sub-range path `crc32c()` takes
 * for a batch's attributes..end. `npm run bench -- crc`.
 */
import { Bench } from 'tinybench';
import { crc32c, crc32cImplementation, crc32cJs, crc32cNative, type Crc32cFunction } from '../protocol/crc32c.js';

export default async function run(argv: string[]): Promise<void> {
  const timeArg = argv.find((a) => a.startsWith('--time='));
  const timeMs = timeArg !== undefined ? Number(timeArg.slice('--time='.length)) : 1500;
  const sizes = [1024 * 1024, 16 * 1024, 256];
  const buffers = sizes.map((size) => {
    const buf = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) buf[i] = (i * 2654435761) >>> 24;
    return buf;
  });
  const impls: Array<[string, Crc32cFunction]> = [['js', crc32cJs]];
  if (crc32cNative !== null) impls.push(['native', crc32cNative]);
  else console.log('@node-rs/crc32 is not available on this platform: JS only');

  let sink = 0;
  const bench = new Bench({ time: timeMs, warmupTime: 300, throws: true });
  const bytesOf = new Map<string, number>();
  for (const buf of buffers) {
    const label = buf.length >= 1024 * 1024 ? `${buf.length / 1024 / 1024} MiB` : buf.length >= 1024 ? `${buf.length / 1024} KiB` : `${buf.length} B`;
    for (const [name, fn] of impls) {
      bytesOf.set(`${name} ${label}`, buf.length);
      bench.add(`${name} ${label}`, () => {
        sink ^= fn(buf, 0);
      });
    }
  }
  const whole = buffers[0]!;
  const subrange = `crc32c() [${crc32cImplementation}] 1 MiB sub-range (start=21)`;
  bytesOf.set(subrange, whole.length - 21);
  bench.add(subrange, () => {
    sink ^= crc32c(whole, 21, whole.length);
  });
  await bench.run();

  const mbPerSecond = new Map<string, number>();
  const rows = bench.tasks.map((task) => {
    const medianMs = task.result?.latency.p50 ?? Number.NaN;
    const rate = bytesOf.get(task.name)! / (medianMs / 1000) / 1e6;
    mbPerSecond.set(task.name, rate);
    const jsRate = task.name.startsWith('native ') ? mbPerSecond.get(task.name.replace('native ', 'js ')) : undefined;
    return {
      task: task.name,
      'median µs': (medianMs * 1000).toFixed(2),
      'MB/s': rate.toFixed(0),
      'x js': jsRate === undefined ? '' : (rate / jsRate).toFixed(1),
      samples: task.result?.latency.samples.length ?? 0,
    };
  });
  console.log(`active implementation: ${crc32cImplementation}`);
  console.table(rows);
  if (sink === 0.5) console.log('');
}
