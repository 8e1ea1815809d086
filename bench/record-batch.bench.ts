/**
 * RecordBatch v2 codec throughput: encode and decode batches of 1000 records with 100-byte
 * values (the yardstick), plus validation alone (what the broker does per produced
 * batch) and gzip. Prints median time per batch, records/s and MB/s (MB = 10^6 bytes of
 * encoded batch). `npm run bench -- record-batch [--time=ms]`.
 */
import { Bench } from 'tinybench';
import { decodeBatch, encodeBatch, validateBatch, type RecordInput } from '../protocol/record-batch.js';

const RECORDS_PER_BATCH = 1000;
const VALUE_BYTES = 100;

export default async function run(argv: string[]): Promise<void> {
  const timeArg = argv.find((a) => a.startsWith('--time='));
  const timeMs = timeArg !== undefined ? Number(timeArg.slice('--time='.length)) : 1500;

  const now = Date.now();
  const bufferValues: RecordInput[] = [];
  const stringValues: RecordInput[] = [];
  const keyedValues: RecordInput[] = [];
  for (let i = 0; i < RECORDS_PER_BATCH; i++) {
    const value = Buffer.alloc(VALUE_BYTES, 97 + (i % 26));
    bufferValues.push({ value, timestamp: now + i });
    stringValues.push({ value: value.toString('latin1'), timestamp: now + i });
    keyedValues.push({ key: `user-${i % 97}`, value, timestamp: now + i, headers: [{ key: 'trace', value: Buffer.from('abcdef') }] });
  }
  const plain = encodeBatch(bufferValues);
  const keyed = encodeBatch(keyedValues);
  const gzip = encodeBatch(bufferValues, { compression: 'gzip' });

  let sink = 0;
  const bench = new Bench({ time: timeMs, warmupTime: 300, throws: true });
  const bytesPerOp = new Map<string, number>();
  const add = (name: string, batchBytes: number, fn: () => void): void => {
    bytesPerOp.set(name, batchBytes);
    bench.add(name, fn);
  };
  add('encode, Buffer values', plain.length, () => {
    sink += encodeBatch(bufferValues).length;
  });
  add('encode, string values', plain.length, () => {
    sink += encodeBatch(stringValues).length;
  });
  add('encode, keys + 1 header', keyed.length, () => {
    sink += encodeBatch(keyedValues).length;
  });
  add('decode (validate + CRC + records)', plain.length, () => {
    sink += decodeBatch(plain).records.length;
  });
  add('decode, keys + 1 header', keyed.length, () => {
    sink += decodeBatch(keyed).records.length;
  });
  add('validate only (magic, length, CRC)', plain.length, () => {
    sink += validateBatch(plain).recordCount;
  });
  add('encode gzip', plain.length, () => {
    sink += encodeBatch(bufferValues, { compression: 'gzip' }).length;
  });
  add('decode gzip', plain.length, () => {
    sink += decodeBatch(gzip).records.length;
  });
  await bench.run();

  const rows = bench.tasks.map((task) => {
    const medianMs = task.result?.latency.p50 ?? Number.NaN;
    const perSecond = 1000 / medianMs;
    return {
      task: task.name,
      'median µs/batch': (medianMs * 1000).toFixed(1),
      'records/s': Math.round(perSecond * RECORDS_PER_BATCH).toLocaleString('en-US'),
      'MB/s': ((perSecond * (bytesPerOp.get(task.name) ?? 0)) / 1e6).toFixed(0),
      samples: task.result?.latency.samples.length ?? 0,
    };
  });
  console.log(`batches of ${RECORDS_PER_BATCH} records, ${VALUE_BYTES}-byte values: ${plain.length} bytes encoded (keyed: ${keyed.length}, gzip: ${gzip.length}); MB/s counts uncompressed batch bytes`);
  console.table(rows);
  if (sink === 0) console.log('');
}
