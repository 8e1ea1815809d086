/**
 * `rill produce TOPIC`: one message per line of stdin, sent through the SDK producer (which
 * batches them), then a summary: how many, to which partitions, first/last offsets.
 *
 * Memory stays bounded however long the input: at most MAX_PENDING_SENDS sends await their
 * acks at once, and reading stdin pauses while that window is full. A terminal on stderr shows
 * progress (lines read, acked, rate, elapsed). Ctrl-C (SIGINT/SIGTERM) stops reading: what was
 * read is still sent and summed up; a second Ctrl-C ends at once.
 */
import { createInterface } from 'node:readline';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Acks, CompressionType, Message, RecordMetadata } from '../../client/index.js';
import { COMPRESSION_TYPES } from '../../protocol/compression/index.js';
import { action, createClient, intOption, writeOut, type BrokersOption } from '../common.js';
import { Progress, formatElapsed, formatRate } from '../progress.js';

const MAX_PENDING_SENDS = 10_000;

interface ProduceOptions extends BrokersOption {
  key?: string;
  keySeparator?: string;
  acks: Acks;
  partition?: number;
  compression: CompressionType;
  lingerMs: number;
}

function parseAcks(value: string): Acks {
  if (value === 'all' || value === '-1') return 'all';
  if (value === '1') return 1;
  if (value === '0') return 0;
  throw new InvalidArgumentError(`--acks must be all, 1 or 0, got '${value}'`);
}

interface PartitionSummary {
  count: number;
  first: number;
  last: number;
}

export function registerProduceCommand(program: Command): void {
  program
    .command('produce <topic>')
    .description('send each line of stdin as one message, then print a summary')
    .addOption(new Option('--key <key>', 'key for every message').conflicts('keySeparator'))
    .option('--key-separator <sep>', 'split each line at the first <sep> into key and value (e.g. ":")')
    .option('--acks <all|1|0>', 'acknowledgement level: all (durable per the topic\'s flush policy), 1, or 0 (fire and forget)', parseAcks, 'all' as Acks)
    .option('--partition <p>', 'send every message to this partition instead of by key', intOption('--partition'))
    .addOption(new Option('--compression <codec>', 'batch compression (Kafka\'s compression.type)').choices(COMPRESSION_TYPES).default('none'))
    .option('--linger-ms <ms>', 'how long a batch waits for more lines', intOption('--linger-ms'), 5)
    .action(
      action(async (topic: string, opts: ProduceOptions) => {
        if (opts.keySeparator !== undefined && opts.keySeparator.length === 0) throw new InvalidArgumentError('--key-separator must not be empty');
        const rill = createClient(opts, 'rill-cli-producer');
        const idempotent = opts.acks === 'all';
        const producer = rill.producer({ acks: opts.acks, idempotent, compression: opts.compression, lingerMs: opts.lingerMs });
        const byPartition = new Map<number, PartitionSummary>();
        let count = 0;
        let failure: unknown = null;
        const pending = new Set<Promise<void>>();
        const record = (metas: RecordMetadata[]): void => {
          for (const m of metas) {
            count++;
            let s = byPartition.get(m.partition);
            if (s === undefined) {
              s = { count: 0, first: m.offset, last: m.offset };
              byPartition.set(m.partition, s);
            }
            s.count++;
            if (m.offset >= 0 && (s.first < 0 || m.offset < s.first)) s.first = m.offset;
            if (m.offset > s.last) s.last = m.offset;
          }
        };
        let lineNo = 0;
        const progress = new Progress((ms) => `producing to '${topic}': ${lineNo.toLocaleString('en-US')} read, ${count.toLocaleString('en-US')} acked, ${formatRate(count, ms)}, ${formatElapsed(ms)}`);
        let lines: ReturnType<typeof createInterface> | null = null;
        let interrupted = false;
        const onSignal = (): void => {
          interrupted = true;
          lines?.close();
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          await producer.connect();
          progress.start();
          // Created right before the loop: readline's iterator misses lines emitted before it exists.
          lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
          if (interrupted) lines.close();
          for await (const line of lines) {
            lineNo++;
            if (failure !== null) break;
            const message = toMessage(line, lineNo, opts);
            // send() appends in call order, so lines keep their order per partition.
            const p: Promise<void> = producer.send({ topic, messages: [message] }).then(record, (err: unknown) => {
              failure ??= err;
            });
            pending.add(p);
            void p.finally(() => pending.delete(p));
            if (pending.size >= MAX_PENDING_SENDS) await Promise.race(pending);
          }
          await Promise.all(pending);
          await producer.flush();
        } finally {
          progress.stop();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await rill.close();
        }
        if (failure !== null) throw failure;
        await writeOut(summary(topic, count, byPartition, opts.acks));
      }),
    );
}

function toMessage(line: string, lineNo: number, opts: ProduceOptions): Message {
  const message: Message = { value: line };
  if (opts.keySeparator !== undefined) {
    const i = line.indexOf(opts.keySeparator);
    if (i < 0) throw new Error(`line ${lineNo} has no key separator '${opts.keySeparator}'`);
    message.key = line.slice(0, i);
    message.value = line.slice(i + opts.keySeparator.length);
  } else if (opts.key !== undefined) {
    message.key = opts.key;
  }
  if (opts.partition !== undefined) message.partition = opts.partition;
  return message;
}

function summary(topic: string, count: number, byPartition: Map<number, PartitionSummary>, acks: Acks): string {
  const partitions = [...byPartition.keys()].sort((a, b) => a - b);
  let out = `produced ${count} message(s) to '${topic}'${partitions.length > 0 ? ` (partitions ${partitions.join(',')})` : ''}\n`;
  for (const p of partitions) {
    const s = byPartition.get(p)!;
    out += acks === 0 ? `  partition ${p}: ${s.count} message(s), offsets unknown (acks 0)\n` : `  partition ${p}: ${s.count} message(s), offsets ${s.first}..${s.last}\n`;
  }
  return out;
}
