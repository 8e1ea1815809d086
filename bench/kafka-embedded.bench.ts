/**
 * The embedded recipe's start-up cost (docs/KAFKA.md): how long a test suite waits for an
 * in-process Kafka-compatible broker. Each iteration gets a fresh temp dir (made before the
 * clock starts) and times (a) `startBroker({ dataDir, port: 0, kafkaPort: 0 })` until the
 * handle is returned (both ports listening, data dir open, __consumer_offsets created), and
 * (b) the same plus a KafkaJS producer connected and one record acknowledged (its topic
 * auto-created). The close and the temp dir removal happen after the clock stops.
 * Bounded: --iterations=N (default 10, at most 100). `npm run bench -- kafka-embedded`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import pino from 'pino';
import { Bench } from 'tinybench';
import { startBroker, type BrokerHandle } from '../broker/index.js';

const silent = pino({ level: 'silent' });

/** One iteration's broker, temp dir and producer, set up and torn down outside the timing. */
class Round {
  dataDir = '';
  broker: BrokerHandle | null = null;
  producer: Producer | null = null;

  readonly hooks = {
    beforeEach: async (): Promise<void> => {
      this.dataDir = await mkdtemp(join(tmpdir(), 'rill-bench-embedded-'));
    },
    afterEach: async (): Promise<void> => {
      await this.producer?.disconnect();
      await this.broker?.close();
      await rm(this.dataDir, { recursive: true, force: true });
      this.producer = null;
      this.broker = null;
    },
  };

  async start(): Promise<BrokerHandle> {
    this.broker = await startBroker({ dataDir: this.dataDir, port: 0, kafkaPort: 0, logger: silent });
    return this.broker;
  }
}

export default async function run(argv: string[]): Promise<void> {
  const arg = argv.find((a) => a.startsWith('--iterations='));
  const iterations = arg === undefined ? 10 : Number(arg.slice('--iterations='.length));
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 100) throw new RangeError(`--iterations must be an integer in 1..100, got ${arg}`);

  const round = new Round();
  const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0, throws: true });
  bench.add('startBroker({ port: 0, kafkaPort: 0 }) until listening', async () => {
    await round.start();
  }, round.hooks);
  bench.add('... plus a KafkaJS producer connected and one record acked', async () => {
    const broker = await round.start();
    round.producer = new Kafka({ brokers: [`127.0.0.1:${broker.kafkaPort}`], logLevel: logLevel.NOTHING }).producer();
    await round.producer.connect();
    await round.producer.send({ topic: 'bench', messages: [{ value: 'x' }] });
  }, round.hooks);
  await bench.run();
  console.table(bench.table());
}
