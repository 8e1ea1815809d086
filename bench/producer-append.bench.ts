/**
 * The producer's client-side work per record, with no broker: records checked and measured as
 * send() does (client/producer/records.ts), appended into the accumulator (encoded into the
 * open batch's buffer), and every full batch sealed (header, CRC-32C) and completed as an ack
 * would, so its buffer goes back to the pool. What is left out is the network and the
 * per-message results. `npm run bench -- producer-append [--time=ms]`.
 *
 * Each task appends 10,000 records into batches of batchBytes 1 MiB (the producer's default);
 * the table shows median time per task, records/s and ns per record.
 */
import { Bench } from 'tinybench';
import { BATCH_OVERHEAD_BYTES, RecordAccumulator, partitionKey } from '../client/producer/accumulator.js';
import { RECORD_OVERHEAD_BYTES, dataBytes, estimateHeaderBytes, toKeyBuffer } from '../client/producer/records.js';
import type { Message } from '../client/types.js';

const RECORDS_PER_TASK = 10_000;
const VALUE_BYTES = 100;
const PARTITIONS = 3;

export default async function run(argv: string[]): Promise<void> {
  const timeArg = argv.find((a) => a.startsWith('--time='));
  const timeMs = timeArg !== undefined ? Number(timeArg.slice('--time='.length)) : 2000;
  if (!(timeMs > 0)) throw new RangeError(`--time must be a positive number of ms, got ${timeArg}`);

  const values: Buffer[] = [];
  for (let i = 0; i < 64; i++) values.push(Buffer.alloc(VALUE_BYTES, 97 + (i % 26)));
  const plain: Message[] = [];
  const keyed: Message[] = [];
  for (let i = 0; i < RECORDS_PER_TASK; i++) {
    plain.push({ value: values[i & 63]! });
    keyed.push({ key: `user-${i % 97}`, value: values[i & 63]!.toString('latin1'), headers: { trace: 'abcdef' } });
  }

  const acc = new RecordAccumulator({ batchBytes: 1024 * 1024, lingerMs: 5, bufferMemoryBytes: 32 * 1024 * 1024 });
  let sink = 0;

  /** Seals and acks the head batch of a partition, as the sender and a broker answer would. */
  const drain = (topic: string, partition: number): void => {
    const batch = acc.take(partitionKey(topic, partition));
    if (batch === undefined) return;
    batch.seal({ producerId: 1, producerEpoch: 0, baseSequence: 0, compression: 'none' });
    sink += batch.encoded!.length;
    batch.complete(0);
    acc.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
  };

  const appendAll = (topic: string, messages: Message[], keyedPartitions: boolean): void => {
    const now = Date.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const key = toKeyBuffer(m.key, i);
      const bytes = RECORD_OVERHEAD_BYTES + (key === null ? 0 : key.length) + dataBytes(m.value, 'value', i) + estimateHeaderBytes(m.headers, i);
      const partition = keyedPartitions ? i % PARTITIONS : 0;
      if (acc.reserve(bytes) !== undefined) throw new Error('bench: buffer memory ran out');
      acc.appendRecord(topic, partition, now, key, m.value, m.headers, bytes, -1, now);
      if (acc.lastReady) drain(topic, partition);
    }
    // Whatever is left goes out too, so every task ends with an empty accumulator.
    for (let p = 0; p < PARTITIONS; p++) while (acc.queues.has(partitionKey(topic, p))) drain(topic, p);
  };

  const bench = new Bench({ time: timeMs, warmupTime: 500, throws: true });
  bench.add('100-byte Buffer values, null keys, 1 partition', () => appendAll('plain', plain, false));
  bench.add('string keys + string values + 1 header, 3 partitions', () => appendAll('keyed', keyed, true));
  await bench.run();

  const rows = bench.tasks.map((task) => {
    const medianMs = task.result?.latency.p50 ?? Number.NaN;
    return {
      task: task.name,
      'median ms/task': medianMs.toFixed(2),
      'records/s': Math.round((RECORDS_PER_TASK * 1000) / medianMs).toLocaleString('en-US'),
      'ns/record': ((medianMs * 1e6) / RECORDS_PER_TASK).toFixed(0),
      samples: task.result?.latency.samples.length ?? 0,
    };
  });
  console.log(`${RECORDS_PER_TASK} records per task, ${VALUE_BYTES}-byte values, batchBytes 1 MiB, sealed (CRC-32C) and acked when full; pool buffers free after: ${acc.pool.freeCount}`);
  console.table(rows);
  if (sink === 0) console.log('');
}
