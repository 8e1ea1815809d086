/**
 * Kafka wire codec on its hot paths: decoding a Produce request (v9, flexible, and v7) and
 * encoding a Fetch response (v12 and v11), each carrying one 16 KiB record batch, plus a
 * 100-partition Fetch response. The batch is passed through as a Buffer either way, so these
 * measure the header/field work around it. `npm run bench -- kafka-codec [--time=ms]`.
 */
import { Bench } from 'tinybench';
import { FETCH, KafkaApiKey, PRODUCE } from '../protocol/kafka/apis.js';
import { decodeRequest, encodeRequest, encodeResponse } from '../protocol/kafka/frames.js';
import type { KafkaRequestBody, KafkaRequestInput, KafkaResponseInput } from '../protocol/kafka/schema.js';
import { encodeBatch, type RecordInput } from '../protocol/record-batch.js';

/** Records are added until their estimated size reaches this, so the batch comes out near 16 KiB. */
const BATCH_BYTES_TARGET = 16384;
const VALUE_BYTES = 100;

export default async function run(argv: string[]): Promise<void> {
  const timeArg = argv.find((a) => a.startsWith('--time='));
  const timeMs = timeArg !== undefined ? Number(timeArg.slice('--time='.length)) : 1500;

  const now = Date.now();
  const records: RecordInput[] = [];
  for (let i = 0; records.length * (VALUE_BYTES + 14) < BATCH_BYTES_TARGET - 61; i++) {
    records.push({ key: `k-${i % 50}`, value: Buffer.alloc(VALUE_BYTES, 97 + (i % 26)), timestamp: now + i });
  }
  const batch = encodeBatch(records);

  const produceBody = (name: string): KafkaRequestInput<typeof PRODUCE> => ({
    transactionalId: null, acks: -1, timeoutMs: 30000,
    topicData: [{ name, partitionData: [{ index: 0, records: batch }] }],
  });
  const produceV9 = Buffer.concat(encodeRequest(KafkaApiKey.Produce, 9, 1, 'bench-client', produceBody('orders'))).subarray(4);
  const produceV7 = Buffer.concat(encodeRequest(KafkaApiKey.Produce, 7, 1, 'bench-client', produceBody('orders'))).subarray(4);

  type FetchPartition = NonNullable<NonNullable<KafkaResponseInput<typeof FETCH>['responses']>[number]['partitions']>[number];
  const partition = (index: number): FetchPartition => ({
    partitionIndex: index, errorCode: 0, highWatermark: 1_000_000 + index, lastStableOffset: 1_000_000 + index,
    logStartOffset: 0, abortedTransactions: null, preferredReadReplica: -1, records: batch,
  });
  const fetchOne: KafkaResponseInput<typeof FETCH> = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 'orders', partitions: [partition(0)] }] };
  const fetchHundred: KafkaResponseInput<typeof FETCH> = {
    throttleTimeMs: 0, errorCode: 0, sessionId: 0,
    responses: Array.from({ length: 10 }, (_, t) => ({ topic: `topic-${t}`, partitions: Array.from({ length: 10 }, (_, p) => partition(p)) })),
  };

  let sink = 0;
  const bench = new Bench({ time: timeMs, warmupTime: 300, throws: true });
  bench.add('decode Produce v9 request (1 x 16 KiB batch)', () => {
    sink += (decodeRequest(produceV9).body as KafkaRequestBody<typeof PRODUCE>).topicData[0]!.partitionData[0]!.records!.length;
  });
  bench.add('decode Produce v7 request (1 x 16 KiB batch)', () => {
    sink += (decodeRequest(produceV7).body as KafkaRequestBody<typeof PRODUCE>).topicData[0]!.partitionData[0]!.records!.length;
  });
  bench.add('encode Fetch v12 response (1 x 16 KiB batch)', () => {
    sink += encodeResponse(KafkaApiKey.Fetch, 12, 1, fetchOne).length;
  });
  bench.add('encode Fetch v11 response (1 x 16 KiB batch)', () => {
    sink += encodeResponse(KafkaApiKey.Fetch, 11, 1, fetchOne).length;
  });
  bench.add('encode Fetch v12 response (100 partitions x 16 KiB)', () => {
    sink += encodeResponse(KafkaApiKey.Fetch, 12, 1, fetchHundred).length;
  });
  await bench.run();

  const rows = bench.tasks.map((task) => {
    const medianMs = task.result?.latency.p50 ?? Number.NaN;
    return {
      task: task.name,
      'median µs/op': (medianMs * 1000).toFixed(2),
      'ops/s': Math.round(1000 / medianMs).toLocaleString('en-US'),
      samples: task.result?.latency.samples.length ?? 0,
    };
  });
  console.log(`record batch: ${batch.length} bytes (${records.length} records), passed through uncopied`);
  console.table(rows);
  if (sink === 0) console.log('');
}
