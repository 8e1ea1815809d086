/**
 * `rill consume TOPIC`: prints one message per line (text: the value; json: every field)
 * until --max-messages, --timeout-ms of silence, or Ctrl-C.
 *
 * Where the messages come from is one step, `openConsumer`: a consumer with explicit
 * assignment (all partitions, or --partition P) from --from-beginning / --offset N / the end,
 * or, with `--group G`, a member of that consumer group: it gets its share of the partitions,
 * starts each at the group's committed offset (partitions without one at the end, or the
 * beginning with --from-beginning), commits what it printed, and leaves the group on exit.
 *
 * The read loop is `run({ eachMessage })`: a message counts as processed once it is printed, so
 * a group commits exactly what was printed, also the last message before --max-messages stops
 * it (a `for await` loop that breaks leaves the message in hand unprocessed: the next run
 * would print it again).
 */
import { Option, type Command } from 'commander';
import { CorruptBatchError, RillError, type ConsumedMessage, type Consumer, type OffsetSpec, type Rill } from '../../client/index.js';
import { action, createClient, intOption, withBrokers, writeOut, type BrokersOption } from '../common.js';

export interface ConsumeOptions extends BrokersOption {
  group?: string;
  partition?: number;
  fromBeginning?: boolean;
  offset?: number;
  maxMessages?: number;
  format: 'text' | 'json';
  timeoutMs?: number;
}

export function registerConsumeCommand(program: Command): Command {
  const cmd = withBrokers(
    program
      .command('consume <topic>')
      .description('print messages of a topic, one per line')
      .addOption(new Option('--group <group>', 'join this consumer group: read its share of the partitions from its committed offsets, commit what was printed'))
      .addOption(new Option('--partition <p>', 'read only this partition (default: all)').argParser(intOption('--partition')).conflicts('group'))
      .addOption(
        new Option('--from-beginning', 'start at the earliest retained offset (default: only new messages; with --group: where the group has no committed offset)').conflicts('offset'),
      )
      .addOption(new Option('--offset <n>', 'start at this offset (needs --partition)').argParser(intOption('--offset')).conflicts('group'))
      .option('--max-messages <n>', 'exit after printing n messages', intOption('--max-messages', 1))
      .addOption(new Option('--format <format>', 'text: the value; json: {topic,partition,offset,key,value,headers,timestamp}').choices(['text', 'json']).default('text'))
      .option('--timeout-ms <ms>', 'exit after this long without a message', intOption('--timeout-ms', 1)),
  );
  cmd.action(
    action(async (topic: string, opts: ConsumeOptions) => {
      if (opts.offset !== undefined && opts.partition === undefined) throw new Error('--offset needs --partition');
      const rill = createClient(opts, 'rill-cli-consumer');
      try {
        const consumer = await openConsumer(rill, topic, opts);
        await printMessages(consumer, opts).catch((err: unknown) => {
          throw err instanceof CorruptBatchError ? skipAdvice(err, topic, opts) : err;
        });
      } finally {
        await rill.close();
      }
    }),
  );
  return cmd;
}

/**
 * Creates the consumer and gives it its partitions: with --group, membership of that group
 * (subscribed to the topic); otherwise explicit assignment of every partition (or
 * --partition P) at the requested start.
 */
async function openConsumer(rill: Rill, topic: string, opts: ConsumeOptions): Promise<Consumer> {
  if (opts.group !== undefined) {
    const consumer = rill.consumer({ groupId: opts.group, fromBeginning: opts.fromBeginning === true, maxWaitMs: 500 });
    await consumer.subscribe({ topics: [topic] });
    return consumer;
  }
  const consumer = rill.consumer({ maxWaitMs: 500 });
  const start: OffsetSpec = opts.offset !== undefined ? opts.offset : opts.fromBeginning === true ? 'earliest' : 'latest';
  const admin = rill.admin();
  const [description] = await admin.describeTopics({ topics: [topic] });
  await admin.close();
  const partitions = description!.partitions.map((p) => p.partition);
  if (opts.partition !== undefined && !partitions.includes(opts.partition)) {
    throw new Error(`topic '${topic}' has ${partitions.length} partition(s); partition ${opts.partition} does not exist`);
  }
  const chosen = opts.partition !== undefined ? [opts.partition] : partitions;
  consumer.assign(chosen.map((partition) => ({ topic, partition, offset: start })));
  return consumer;
}

/** The read loop: stops at --max-messages, after --timeout-ms idle, or on SIGINT/SIGTERM. */
async function printMessages(consumer: Consumer, opts: ConsumeOptions): Promise<void> {
  let printed = 0;
  let idle: NodeJS.Timeout | null = null;
  const armIdle = (): void => {
    if (opts.timeoutMs === undefined) return;
    if (idle !== null) clearTimeout(idle);
    idle = setTimeout(() => void consumer.stop(), opts.timeoutMs);
  };
  const onSignal = (): void => void consumer.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  armIdle();
  try {
    await consumer.run({
      eachMessage: async ({ message: m }) => {
        const wait = writeOut(opts.format === 'json' ? jsonLine(m) : textLine(m));
        if (wait !== undefined) await wait;
        printed++;
        // Not awaited: stop() waits for this handler. run() delivers nothing after it.
        if (opts.maxMessages !== undefined && printed >= opts.maxMessages) void consumer.stop();
        else armIdle();
      },
    });
  } finally {
    if (idle !== null) clearTimeout(idle);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The messages before a corrupt batch are printed; say how to read on past it. */
function skipAdvice(err: CorruptBatchError, topic: string, opts: ConsumeOptions): RillError {
  const where = opts.group !== undefined
    ? `rill groups reset-offsets --group ${opts.group} --topic ${topic}:${err.partition} --to-offset ${err.lastOffset + 1} --execute`
    : `rill consume ${topic} --partition ${err.partition} --offset ${err.lastOffset + 1}`;
  return new RillError(err.code, `${err.summary}; skip it with: ${where}`, { topic, partition: err.partition, cause: err });
}

function textLine(m: ConsumedMessage): string {
  return (m.value === null ? 'null' : m.value.toString('utf8')) + '\n';
}

function jsonLine(m: ConsumedMessage): string {
  const headers: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(m.headers)) headers[k] = v === null ? null : v.toString('utf8');
  return (
    JSON.stringify({
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key === null ? null : m.key.toString('utf8'),
      value: m.value === null ? null : m.value.toString('utf8'),
      headers,
      timestamp: m.timestamp,
    }) + '\n'
  );
}
