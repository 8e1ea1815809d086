/**
 * The cost of writing 64-bit integers as msgpack integers: encoding a Produce response and a
 * Fetch response (the per-request frames of the hot path) with `pack` (which swaps integers
 * beyond 32 bits for BigInts first, protocol/messages.ts) against plain msgpackr, which would
 * write them as float64. Also the chunk-list encoders (protocol/apis/fetch-codec.ts,
 * produce-codec.ts), which write the envelope and hand the record batches over uncopied,
 * against `pack` of the same payload. `npm run bench -- messages`.
 */
import { Packr } from 'msgpackr';
import { Bench } from 'tinybench';
import { encodeFetchResponseChunks } from '../protocol/apis/fetch-codec.js';
import { encodeProduceRequestChunks } from '../protocol/apis/produce-codec.js';
import { pack } from '../protocol/messages.js';

const PARTITIONS = 32;
const RECORDS_BYTES = 16 * 1024;

export default async function run(argv: string[]): Promise<void> {
  const timeArg = argv.find((a) => a.startsWith('--time='));
  const timeMs = timeArg !== undefined ? Number(timeArg.slice('--time='.length)) : 1500;
  const now = Date.now();
  const records = Buffer.alloc(RECORDS_BYTES, 7);
  const produceResponse = {
    throttleTimeMs: 0,
    topics: [
      {
        name: 'orders',
        partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, errorCode: 0, errorMessage: null, baseOffset: 123456 + p, logAppendTimeMs: now, logStartOffset: 0 })),
      },
    ],
  };
  const fetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    topics: [
      {
        name: 'orders',
        partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, errorCode: 0, errorMessage: null, highWatermark: 5_000_000_000 + p, lastStableOffset: 5_000_000_000 + p, logStartOffset: 0, records })),
      },
    ],
  };
  const produceRequest = {
    acks: 1 as const,
    timeoutMs: 30_000,
    topics: [{ name: 'orders', partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, records })) }],
  };
  const plain = new Packr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true });

  let sink = 0;
  const bench = new Bench({ time: timeMs, warmupTime: 300, throws: true });
  bench.add(`Produce response, ${PARTITIONS} partitions: pack (int64)`, () => {
    sink ^= pack(produceResponse).length;
  });
  bench.add(`Produce response, ${PARTITIONS} partitions: msgpackr (float64)`, () => {
    sink ^= plain.pack(produceResponse).length;
  });
  bench.add(`Fetch response, ${PARTITIONS} x ${RECORDS_BYTES / 1024} KiB: pack (int64)`, () => {
    sink ^= pack(fetchResponse).length;
  });
  bench.add(`Fetch response, ${PARTITIONS} x ${RECORDS_BYTES / 1024} KiB: msgpackr (float64)`, () => {
    sink ^= plain.pack(fetchResponse).length;
  });
  bench.add(`Fetch response, ${PARTITIONS} x ${RECORDS_BYTES / 1024} KiB: chunk list (batches uncopied)`, () => {
    sink ^= encodeFetchResponseChunks(fetchResponse).totalBytes;
  });
  bench.add(`Produce request, ${PARTITIONS} x ${RECORDS_BYTES / 1024} KiB: pack`, () => {
    sink ^= pack(produceRequest).length;
  });
  bench.add(`Produce request, ${PARTITIONS} x ${RECORDS_BYTES / 1024} KiB: chunk list (batches uncopied)`, () => {
    sink ^= encodeProduceRequestChunks(produceRequest).totalBytes;
  });
  await bench.run();

  console.table(
    bench.tasks.map((task) => ({
      task: task.name,
      'median µs': ((task.result?.latency.p50 ?? Number.NaN) * 1000).toFixed(1),
      samples: task.result?.latency.samples.length ?? 0,
    })),
  );
  if (sink === 0.5) console.log(sink);
}
