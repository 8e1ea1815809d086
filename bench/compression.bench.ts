/**
 * The record codecs (protocol/compression/): compress and decompress one batch's records with
 * each codec, the per-batch cost a producer (compress), the broker's produce validation and
 * every consumer (decompress) pay. Workload: the records section of a 1000-record batch with
 * 100-byte JSON-like values (what encodeBatch writes for them), and a 16 KiB slice of it (a
 * small batch). MB/s counts uncompressed bytes (10^6). `npm run bench -- compression`.
 */
import { Bench } from 'tinybench';
import { COMPRESSION_TYPES, compressRecords, decompressRecords, type Codec } from '../protocol/compression/index.js';
import { RECORDS_POS, encodeBatch } from '../protocol/record-batch.js';

export default async function run(argv: string[]): Promise<void> {
  const timeArg = argv.find((a) => a.startsWith('--time='));
  const timeMs = timeArg !== undefined ? Number(timeArg.slice('--time='.length)) : 1500;
  const values = Array.from({ length: 1000 }, (_, i) => ({
    value: `{"id":${i},"user":"user-${i % 97}","event":"click","path":"/items/${(i * 7919) % 1000}"}`.padEnd(100, ' '),
    timestamp: 1_700_000_000_000 + i,
  }));
  const large = encodeBatch(values).subarray(RECORDS_POS);
  const inputs: Array<[string, Buffer]> = [[`${(large.length / 1024).toFixed(0)} KiB`, large], ['16 KiB', large.subarray(0, 16 * 1024)]];
  const codecs = COMPRESSION_TYPES.filter((c): c is Codec => c !== 'none');

  let sink = 0;
  const bench = new Bench({ time: timeMs, warmupTime: 300, throws: true });
  const bytesOf = new Map<string, number>();
  const ratioOf = new Map<string, string>();
  for (const [label, raw] of inputs) {
    for (const codec of codecs) {
      const compressed = compressRecords(codec, raw);
      for (const [op, fn] of [
        ['compress', () => compressRecords(codec, raw).length],
        ['decompress', () => decompressRecords(codec, compressed, raw.length, 'bench').length],
      ] as const) {
        const name = `${op} ${codec} ${label}`;
        bytesOf.set(name, raw.length);
        ratioOf.set(name, (raw.length / compressed.length).toFixed(1));
        bench.add(name, () => {
          sink ^= fn();
        });
      }
    }
  }
  await bench.run();
  console.table(bench.tasks.map((task) => {
    const medianMs = task.result?.latency.p50 ?? Number.NaN;
    return {
      task: task.name,
      'median µs': (medianMs * 1000).toFixed(1),
      'MB/s': (bytesOf.get(task.name)! / (medianMs / 1000) / 1e6).toFixed(0),
      ratio: ratioOf.get(task.name),
      samples: task.result?.latency.samples.length ?? 0,
    };
  }));
  if (sink === 0.5) console.log('');
}
