/**
 * CRC-32C throughput over 1 MiB (and 16 KiB, a typical small batch), the per-byte cost that
 * every produce validation, fetch decode and recovery scan pays. `npm run bench -- crc`.
 */
import { Bench } from 'tinybench';
import { crc32c } from '../protocol/crc32c.js';

export default async function run(argv: string[]): Promise<void> {
  const timeArg = argv.find((a) => a.startsWith('--time='));
  const timeMs = timeArg !== undefined ? Number(timeArg.slice('--time='.length)) : 1500;
  const sizes = [1024 * 1024, 16 * 1024];
  const buffers = sizes.map((size) => {
    const buf = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) buf[i] = (i * 2654435761) >>> 24;
    return buf;
  });

  let sink = 0;
  const bench = new Bench({ time: timeMs, warmupTime: 300, throws: true });
  buffers.forEach((buf) => {
    bench.add(`crc32c ${buf.length / 1024} KiB`, () => {
      sink ^= crc32c(buf);
    });
  });
  const middle = buffers[0]!;
  bench.add('crc32c 1 MiB, sub-range (start=21)', () => {
    sink ^= crc32c(middle, 21, middle.length);
  });
  await bench.run();

  const rows = bench.tasks.map((task, i) => {
    const medianMs = task.result?.latency.p50 ?? Number.NaN;
    const bytes = i < buffers.length ? buffers[i]!.length : middle.length - 21;
    return {
      task: task.name,
      'median µs': (medianMs * 1000).toFixed(1),
      'MB/s': (bytes / (medianMs / 1000) / 1e6).toFixed(0),
      samples: task.result?.latency.samples.length ?? 0,
    };
  });
  console.table(rows);
  if (sink === 0.5) console.log('');
}
