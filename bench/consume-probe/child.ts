/**
 * One run of the consume probe (forked by bench/consume-probe.bench.ts): the SDK as a
 * newcomer uses it, with nothing tuned — a fresh `rill.consumer()` with default options,
 * `assign()` of every partition at 'earliest', `run({ eachBatch })` (or `eachMessage`) until
 * the expected count arrived (or the time limit passed). Prints one JSON line:
 * { messages, elapsedMs, cpuSeconds }.
 *
 *   node child.js <client index.js> <broker host:port> <topic> <partitions> <messages> <timeLimitMs> <batch|message>
 *
 * The SDK is imported from the path given, so that two builds (before/after a change) can be
 * compared run by run on the same broker.
 */
import { pathToFileURL } from 'node:url';
import type { EachBatchPayload, EachMessagePayload, Rill as RillType, RunConfig } from '../../client/index.js';

const [clientIndex, broker, topic, partitionsArg, messagesArg, timeLimitArg, mode = 'batch'] = process.argv.slice(2);
if (clientIndex === undefined || broker === undefined || topic === undefined || partitionsArg === undefined || messagesArg === undefined || timeLimitArg === undefined) {
  throw new Error('usage: child.js <client index.js> <broker> <topic> <partitions> <messages> <timeLimitMs>');
}
const partitions = Number(partitionsArg);
const expected = Number(messagesArg);
const timeLimitMs = Number(timeLimitArg);

const { Rill } = (await import(pathToFileURL(clientIndex).href)) as { Rill: typeof RillType };
const rill = new Rill({ brokers: [broker], clientId: 'consume-probe' });
const consumer = rill.consumer();
let count = 0;
let doneAt = 0;
let finish!: () => void;
const finished = new Promise<void>((resolve) => {
  finish = resolve;
});
const timer = setTimeout(finish, timeLimitMs);
const cpu0 = process.cpuUsage();
const start = performance.now();
consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 'earliest' as const })));
const reached = (): void => {
  if (count >= expected && doneAt === 0) {
    doneAt = performance.now();
    finish();
  }
};
const handlers: RunConfig =
  mode === 'message'
    ? {
        eachMessage: async (_payload: EachMessagePayload) => {
          count++;
          reached();
        },
      }
    : {
        eachBatch: async ({ batch }: EachBatchPayload) => {
          count += batch.messages.length;
          reached();
        },
      };
const running = consumer.run(handlers);
await finished;
const elapsedMs = (doneAt === 0 ? performance.now() : doneAt) - start;
const cpu = process.cpuUsage(cpu0);
clearTimeout(timer);
await consumer.stop();
await running;
await rill.close();
process.stdout.write(`${JSON.stringify({ messages: count, elapsedMs, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
