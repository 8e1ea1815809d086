/**
 * One measured producer process of bench/send-signal.bench.ts: `messages` send()s of one
 * 100-byte message, `concurrency` at a time, every one passing the same long-lived AbortSignal;
 * with `slowLingerMs` > 0 a second producer (that lingerMs) keeps one send with the same signal
 * pending most of the time, as a slow produce or a long poll would. The client comes from the
 * dist/ given (this build or another, for an A/B). With perSendSignal 1, each send gets its own
 * AbortSignal.timeout(60 s) instead (the other common pattern: it must not get dearer). Prints
 * one JSON line: CPU, elapsed time and, from v8.GCProfiler, scavenges, Mark-Compacts and the
 * bytes scavenges moved into old space.
 *
 *   node child.js <client/index.js> <host:port> <messages> <concurrency> <slowLingerMs> <perSendSignal 0|1>
 */
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';

const VALUE_BYTES = 100;
const WARM_UP_MESSAGES = 5000;

interface ProducerLike {
  send(record: { topic: string; messages: Array<{ value: Buffer }> }, options?: { signal?: AbortSignal }): Promise<unknown>;
  close(): Promise<void>;
}
interface RillLike {
  admin(): { createTopics(opts: { topics: Array<{ topic: string; numPartitions: number }> }): Promise<void> };
  producer(config: { lingerMs: number }): ProducerLike;
  close(): Promise<void>;
}

/** What v8.GCProfiler's stop() reports (the fields read here). */
interface GcReport {
  statistics: Array<{
    gcType: string;
    beforeGC: { heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> };
    afterGC: { heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> };
  }>;
}

const PER_SEND_TIMEOUT_MS = 60_000;

const [clientIndex, broker, messagesArg, concurrencyArg, slowLingerArg, perSendArg] = process.argv.slice(2);
const perSendSignal = perSendArg === '1';
const messages = Number(messagesArg);
const concurrency = Number(concurrencyArg);
const slowLingerMs = Number(slowLingerArg);

const { Rill } = (await import(pathToFileURL(clientIndex!).href)) as { Rill: new (config: { brokers: string[]; clientId: string }) => RillLike };
const rill = new Rill({ brokers: [broker!], clientId: 'send-signal-bench' });
const topic = `send-signal-${process.pid}`;
await rill.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
const producer = rill.producer({ lingerMs: 0 });
const signal = new AbortController().signal;
const value = Buffer.alloc(VALUE_BYTES, 0x61);
const record = { topic, messages: [{ value }] };
const options = { signal };

async function sendAll(count: number): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      await producer.send(record, perSendSignal ? { signal: AbortSignal.timeout(PER_SEND_TIMEOUT_MS) } : options);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

await sendAll(WARM_UP_MESSAGES);
const slow = slowLingerMs > 0 ? rill.producer({ lingerMs: slowLingerMs }) : null;
let slowRunning = slow !== null;
const slowLoop = (async () => {
  while (slowRunning) await slow!.send(record, options);
})();

const profiler = new v8.GCProfiler();
profiler.start();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await sendAll(messages);
const elapsedMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const report = profiler.stop() as unknown as GcReport;
slowRunning = false;
await slowLoop;
await slow?.close();
await producer.close();
await rill.close();

const oldSpace = (s: Array<{ spaceName: string; spaceUsedSize: number }>): number => s.find((x) => x.spaceName === 'old_space')?.spaceUsedSize ?? 0;
let scavenges = 0;
let markCompacts = 0;
let promotedBytes = 0;
for (const gc of report.statistics) {
  if (gc.gcType === 'Scavenge') {
    scavenges++;
    promotedBytes += Math.max(0, oldSpace(gc.afterGC.heapSpaceStatistics) - oldSpace(gc.beforeGC.heapSpaceStatistics));
  } else if (gc.gcType === 'MarkSweepCompact') markCompacts++;
}
process.stdout.write(`${JSON.stringify({ messages, elapsedMs, cpuMicros: cpu.user + cpu.system, scavenges, markCompacts, promotedBytes })}\n`);
