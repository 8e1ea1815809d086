/**
 * The consumer's receive path for one Fetch answer (issue 8), in one process, the two ways
 * side by side: "joined" is the path before the chunk-list change (FrameDecoder.push copies a
 * frame that spans socket chunks into one fresh buffer, msgpackr unpacks it, ChunkDecoder
 * decodes each partition's records from that buffer); "chunk list" is the path now
 * (FrameDecoder.pushSegmented keeps the chunks, the payload and the records are read from
 * them in place). Both end with the message objects the application receives.
 * Decoded chunks wait in a prefetch of the last 4 answers (12 MiB) before their messages are made
 * and every value touched, as the consumer's prefetch holds them (message-chunk.ts), so freed
 * frame memory is not simply recycled.
 *
 * Workload: a 3-partition answer of 1 MiB per partition (the consumer's default
 * partitionMaxBytes) of 100-byte values, 1000 records per batch, arriving as 64 KiB chunks.
 * The two tasks alternate in every round (order
 * swapped each round); the table gives per-round medians and the median of the per-round
 * ratios. `npm run bench -- fetch-decode [--rounds=N] [--time=MS]`.
 */
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { ChunkDecoder } from '../client/consumer/chunk-decoder.js';
import { decodeResponseBody, type FetchedRecords } from '../client/response-decoder.js';
import type { MessageChunk } from '../client/consumer/message-chunk.js';
import { APIS, type ApiDefinition } from '../protocol/apis/index.js';
import { encodeFetchResponseChunks } from '../protocol/apis/fetch-codec.js';
import { FrameDecoder } from '../protocol/frame.js';
import { encodeResponseFrameChunks } from '../protocol/messages.js';
import { encodeBatch } from '../protocol/record-batch.js';

const MiB = 1024 * 1024;
const PARTITIONS = 3;
const RECORDS_PER_BATCH = 1000;
const KEEP_ANSWERS = 4;

function answerWire(): { wire: Buffer; records: number } {
  const value = Buffer.alloc(100, 0x61);
  const partitions = [];
  let records = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const batches: Buffer[] = [];
    let bytes = 0;
    let base = 0;
    for (;;) {
      const batch = encodeBatch(Array.from({ length: RECORDS_PER_BATCH }, () => ({ value })), { baseOffset: base });
      if (bytes + batch.length > MiB) break;
      batches.push(batch);
      bytes += batch.length;
      base += RECORDS_PER_BATCH;
    }
    records += base;
    partitions.push({ partition: p, errorCode: 0, errorMessage: null, highWatermark: base, lastStableOffset: base, logStartOffset: 0, records: Buffer.concat(batches) });
  }
  const payload = encodeFetchResponseChunks({ throttleTimeMs: 0, errorCode: 0, topics: [{ name: 'bench', partitions }] });
  return { wire: Buffer.concat(encodeResponseFrameChunks(7, payload)), records };
}

export default async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: 'string' }, time: { type: 'string' } }, allowPositionals: true, strict: false });
  const rounds = Number(values.rounds ?? 5);
  const timeMs = Number(values.time ?? 1000);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new RangeError(`--rounds must be 1..50, got ${String(values.rounds)}`);
  if (!Number.isFinite(timeMs) || timeMs < 100 || timeMs > 10_000) throw new RangeError(`--time must be 100..10000 ms, got ${String(values.time)}`);
  const { wire, records } = answerWire();
  const chunks: Buffer[] = [];
  for (let i = 0; i < wire.length; i += 64 * 1024) chunks.push(Buffer.from(wire.subarray(i, i + 64 * 1024)));
  const def: ApiDefinition = { name: 'Fetch', ...APIS.Fetch };
  const decoder = new ChunkDecoder();
  const prefetch: MessageChunk[] = [];

  const consume = (segmented: boolean): void => {
    const frames = new FrameDecoder(64 * MiB);
    let got = 0;
    for (const chunk of chunks) {
      for (const body of segmented ? frames.pushSegmented(chunk) : frames.push(chunk)) {
        const payload = decodeResponseBody(def, body, segmented, 'bench') as { topics: Array<{ partitions: Array<{ partition: number; records: FetchedRecords }> }> };
        for (const p of payload.topics[0]!.partitions) {
          const { chunk } = decoder.decode('bench', p.partition, 0, p.records);
          got += chunk.count;
          if (prefetch.push(chunk) <= KEEP_ANSWERS * PARTITIONS) continue;
          // The oldest chunk reaches the app: its messages are made, every value touched (as the e2e consumer does).
          const messages = prefetch.shift()!.takeRest();
          let sum = 0;
          for (const m of messages) sum += m.value![50]!;
          if (sum !== 0x61 * messages.length) throw new Error('bad value');
        }
      }
    }
    if (got !== records) throw new Error(`decoded ${got} records, expected ${records}`);
  };

  const tasks: Array<[string, () => void]> = [
    ['joined (frame copied, then unpacked)', () => consume(false)],
    ['chunk list (no copy)', () => consume(true)],
  ];
  const medians = new Map<string, number[]>(tasks.map(([name]) => [name, []]));
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: timeMs, warmupTime: 200, throws: true });
    for (const [name, fn] of round % 2 === 0 ? tasks : [...tasks].reverse()) bench.add(name, fn);
    await bench.run();
    const ms = new Map(bench.tasks.map((t) => [t.name, t.result?.latency.p50 ?? Number.NaN]));
    for (const [name] of tasks) medians.get(name)!.push(ms.get(name)!);
    ratios.push(ms.get(tasks[1]![0])! / ms.get(tasks[0]![0])!);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`one answer: ${(wire.length / MiB).toFixed(2)} MiB in ${chunks.length} chunks of 64 KiB, ${records} records; ${rounds} rounds of ${timeMs} ms per task`);
  console.table(
    tasks.map(([name]) => {
      const ms = median(medians.get(name)!);
      return { task: name, 'median ms per answer': ms.toFixed(2), 'ns per record': ((ms * 1e6) / records).toFixed(0), 'M records/s': (records / ms / 1000).toFixed(2) };
    }),
  );
  console.log(`chunk list / joined time, per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}`);
}
