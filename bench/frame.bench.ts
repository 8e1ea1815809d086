/**
 * The streaming frame decoder (protocol/frame.ts) on the consumer's hot path (issue 8): a
 * 4 MiB Fetch response arriving in 64 KiB socket reads, plus many small frames per chunk,
 * where every frame should be a view of its chunk. `npm run bench -- frame`.
 *
 * The "kept alive" case holds on to the last 16 big frames, as a consumer does until its
 * records are handed out and collected: the allocator then cannot recycle freed frame memory,
 * every frame buffer is fresh pages, and the one copy per byte pays a page fault per 4 KiB
 * (the cost the issue 8 consumer profile shows under _copyActual), not memcpy speed.
 */
import { Bench } from 'tinybench';
import { FrameDecoder, encodeFrameBuffer } from '../protocol/frame.js';

const MiB = 1024 * 1024;

/** A wire stream cut into fresh `chunkBytes` chunks, as a socket delivers it. */
function chunked(wire: Buffer, chunkBytes: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < wire.length; i += chunkBytes) chunks.push(Buffer.from(wire.subarray(i, i + chunkBytes)));
  return chunks;
}

export default async function run(argv: string[]): Promise<void> {
  const timeArg = argv.find((a) => a.startsWith('--time='));
  const timeMs = timeArg !== undefined ? Number(timeArg.slice('--time='.length)) : 1500;
  const big = Buffer.allocUnsafe(4 * MiB);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  // Two frames back to back, so the second one's header lands mid-chunk.
  const bigChunks = chunked(Buffer.concat([encodeFrameBuffer(big), encodeFrameBuffer(big)]), 64 * 1024);
  const small = Buffer.concat(Array.from({ length: 1000 }, (_, i) => encodeFrameBuffer(Buffer.alloc(60 + (i % 7), i))));
  const smallChunks = chunked(small, 64 * 1024);

  let sink = 0;
  const bench = new Bench({ time: timeMs, warmupTime: 300, throws: true });
  const bytesOf = new Map<string, number>();
  const cases: Array<[string, Buffer[], number]> = [
    ['2 x 4 MiB frames in 64 KiB chunks', bigChunks, 2],
    ['1000 small frames in 64 KiB chunks', smallChunks, 1000],
  ];
  const kept: Buffer[] = [];
  for (const [name, chunks, expected] of [...cases, ['2 x 4 MiB frames, last 16 kept alive', bigChunks, 2] as [string, Buffer[], number]]) {
    const keep = name.includes('kept alive');
    let total = 0;
    for (const c of chunks) total += c.length;
    bytesOf.set(name, total);
    bench.add(name, () => {
      const decoder = new FrameDecoder(64 * MiB);
      let frames = 0;
      for (const chunk of chunks) {
        const out = decoder.push(chunk);
        frames += out.length;
        for (const f of out) {
          sink ^= f[f.length - 1]!;
          if (keep && kept.push(f) > 16) kept.shift();
        }
      }
      if (frames !== expected) throw new Error(`${name}: decoded ${frames} frames, expected ${expected}`);
    });
  }
  await bench.run();
  console.table(
    bench.tasks.map((task) => {
      const medianMs = task.result?.latency.p50 ?? Number.NaN;
      return {
        task: task.name,
        'median µs': (medianMs * 1000).toFixed(1),
        'MB/s': (bytesOf.get(task.name)! / (medianMs / 1000) / 1e6).toFixed(0),
        samples: task.result?.latency.samples.length ?? 0,
      };
    }),
  );
  if (sink === 0.5) console.log('');
}
