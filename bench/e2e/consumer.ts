/**
 * The end-to-end benchmark's consumer process (forked by bench/e2e.bench.ts, driven over IPC;
 * see common.ts for the messages). Uses the SDK as an application would, without a group:
 * `assign()` then `run()`.
 *
 *   consume          a fresh consumer reads every partition from the earliest offset until
 *                    the expected count arrived, with `eachBatch` or `eachMessage`, touching
 *                    every value and checking that offsets follow each other
 *   latency-start    a fresh consumer assigned at the partitions' end offsets records, per
 *                    message of the given run, nowMs() in eachMessage minus the stamped send
 *                    time; `latency-result` waits for the run to complete and reports
 */
import { Rill, type Consumer, type EachBatchPayload, type EachMessagePayload, type RunConfig } from '../../client/index.js';
import {
  STAMP_BYTES,
  STAMP_RUN_POS,
  STAMP_SEND_TIME_POS,
  STAMP_SEQ_POS,
  brokersFromArgv,
  cpuSeconds,
  nowMs,
  percentiles,
  serveParent,
  type ChildReply,
  type ChildRequest,
  type ConsumeReply,
  type ConsumeRequest,
  type LatencyReply,
  type LatencyResultRequest,
  type LatencyStartRequest,
} from './common.js';
import { watchPauses, type PauseStats } from './pauses.js';

const rill = new Rill({ brokers: brokersFromArgv(process.argv.slice(2)), clientId: 'e2e-consumer' });
const admin = rill.admin();

/** Resolves once `signal()` is called; the consumer handlers call it from inside run(). */
function latch(): { promise: Promise<void>; signal: () => void } {
  let signal!: () => void;
  const promise = new Promise<void>((resolve) => {
    signal = resolve;
  });
  return { promise, signal };
}

async function consume(req: ConsumeRequest): Promise<ConsumeReply> {
  // Default options: a partition at its end no longer holds back the others (issue 8), so the
  // throughput read needs no tuned maxWaitMs.
  const consumer = rill.consumer();
  const nextOffset = new Float64Array(req.partitions).fill(-1);
  let count = 0;
  let valueBytes = 0;
  let offsetGaps = 0;
  let doneAt = 0;
  const finished = latch();
  const expect = (partition: number, offset: number): void => {
    const want = nextOffset[partition]!;
    if (want >= 0 && offset !== want) offsetGaps++;
    nextOffset[partition] = offset + 1;
  };
  const reached = (): void => {
    if (count >= req.messages && doneAt === 0) {
      doneAt = nowMs();
      finished.signal();
    }
  };
  const handlers: RunConfig =
    req.mode === 'batch'
      ? {
          eachBatch: async ({ batch }: EachBatchPayload) => {
            const messages = batch.messages;
            for (let i = 0; i < messages.length; i++) {
              const m = messages[i]!;
              expect(m.partition, m.offset);
              valueBytes += m.value === null ? 0 : m.value.length;
            }
            count += messages.length;
            reached();
          },
        }
      : {
          eachMessage: async ({ message }: EachMessagePayload) => {
            expect(message.partition, message.offset);
            valueBytes += message.value === null ? 0 : message.value.length;
            count++;
            reached();
          },
        };

  let failure: unknown = null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    finished.signal();
  }, req.timeLimitMs);
  const cpu0 = cpuSeconds();
  const start = nowMs();
  try {
    consumer.assign(Array.from({ length: req.partitions }, (_, partition) => ({ topic: req.topic, partition, offset: 'earliest' as const })));
    const running = consumer.run(handlers).catch((err: unknown) => {
      failure = err;
      finished.signal();
    });
    await finished.promise;
    const elapsedMs = (doneAt === 0 ? nowMs() : doneAt) - start;
    const cpu = cpuSeconds() - cpu0;
    await consumer.stop();
    await running;
    if (failure !== null) throw failure;
    return { type: 'consume', messages: count, valueBytes, elapsedMs, cpuSeconds: cpu, offsetGaps, timedOut };
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
}

/** The latency run in progress between latency-start and latency-result. */
interface LatencyRun {
  consumer: Consumer;
  running: Promise<void>;
  finished: { promise: Promise<void>; signal: () => void };
  samples: Float64Array;
  count: number;
  duplicates: number;
  cpu0: number;
  cpuAtEnd: number;
  /** CPU and pauses are measured from the run's first message to its last (not the warm-up). */
  watch: { stop: () => PauseStats } | null;
  pauses: PauseStats | null;
  failure: unknown;
}

let latencyRun: LatencyRun | null = null;

async function latencyStart(req: LatencyStartRequest): Promise<void> {
  if (latencyRun !== null) throw new Error('a latency run is already in progress');
  const ends = await admin.fetchTopicOffsets(req.topic);
  const consumer = rill.consumer();
  const seen = new Uint8Array(req.messages);
  const run: LatencyRun = {
    consumer,
    running: Promise.resolve(),
    finished: latch(),
    samples: new Float64Array(req.messages),
    count: 0,
    duplicates: 0,
    cpu0: cpuSeconds(),
    cpuAtEnd: 0,
    watch: null,
    pauses: null,
    failure: null,
  };
  consumer.assign(ends.map((p) => ({ topic: req.topic, partition: p.partition, offset: p.offset })));
  run.running = consumer
    .run({
      eachMessage: async ({ message }: EachMessagePayload) => {
        const receivedMs = nowMs();
        const v = message.value;
        if (v === null || v.length < STAMP_BYTES || v.readUInt32LE(STAMP_RUN_POS) !== req.run) return;
        const seq = v.readUInt32LE(STAMP_SEQ_POS);
        if (seq >= req.messages) return;
        if (seen[seq] !== 0) {
          run.duplicates++;
          return;
        }
        seen[seq] = 1;
        run.samples[run.count++] = receivedMs - v.readDoubleLE(STAMP_SEND_TIME_POS);
        if (run.count === 1) {
          run.cpu0 = cpuSeconds();
          run.watch = watchPauses();
        }
        if (run.count === req.messages) {
          run.cpuAtEnd = cpuSeconds();
          run.pauses = run.watch!.stop();
          run.finished.signal();
        }
      },
    })
    .catch((err: unknown) => {
      run.failure = err;
      run.finished.signal();
    });
  latencyRun = run;
}

async function latencyResult(req: LatencyResultRequest): Promise<LatencyReply> {
  const run = latencyRun;
  if (run === null) throw new Error('latency-result without latency-start');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    run.finished.signal();
  }, req.timeLimitMs);
  try {
    await run.finished.promise;
    const cpu = (run.cpuAtEnd === 0 ? cpuSeconds() : run.cpuAtEnd) - run.cpu0;
    const pauses = run.pauses ?? run.watch?.stop() ?? null;
    await run.consumer.stop();
    await run.running;
    if (run.failure !== null) throw run.failure;
    return { type: 'latency', messages: run.count, latency: percentiles(run.samples, run.count), duplicates: run.duplicates, cpuSeconds: cpu, pauses, timedOut };
  } finally {
    clearTimeout(timer);
    latencyRun = null;
    await run.consumer.close();
  }
}

async function handle(req: ChildRequest, reply: (msg: ChildReply) => void): Promise<void> {
  switch (req.type) {
    case 'consume':
      reply(await consume(req));
      return;
    case 'latency-start':
      await latencyStart(req);
      reply({ type: 'ready' });
      return;
    case 'latency-result':
      reply(await latencyResult(req));
      return;
    default:
      throw new Error(`the consumer process does not handle '${req.type}'`);
  }
}

serveParent(handle, () => rill.close());
