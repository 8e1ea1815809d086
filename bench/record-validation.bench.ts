/**
 * What walking every record's framing at produce (protocol/record-validation.ts) costs on the
 * append path, measured in one process so the ratios hold on a noisy machine:
 *
 *   header + CRC        validateBatch: what produce checked of an uncompressed batch before
 *   walk                checkBatchRecords alone (gzip: decompress + walk; `gunzip` alone too)
 *   produce validation  validateProduceRecords: header + CRC + walk, what produce does now
 *   validate + append   validateProduceRecords, then PartitionLog.append of the same batch
 *                       into a real segment file (default flush policy: no fsync per append)
 *   decode              decodeBatch: what produce did for gzip batches before (every record
 *                       materialized), for comparison with decompress + walk
 *
 * Shapes: 1000 records of 100-byte values (the codec yardstick), the same with a key and a
 * header per record, 10 records of 100 bytes (per-record cost dominates), and gzip.
 * `npm run bench -- record-validation [--time=ms] [--rounds=N] [--dir=PATH]`: every task runs
 * once per round (N rounds); a figure is the median over rounds of its round median, a ratio
 * the median of the per-round ratios, so a burst of other work on a shared machine spoils
 * one round, not the figure. Appends are bounded in count
 * (APPEND_ITERATIONS) so the temp log stays small.
 */
import { cpus, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { validateProduceRecords } from '../broker/handlers/produce.js';
import { RECORDS_POS, decodeBatch, encodeBatch, gunzipRecords, validateBatch, type RecordInput } from '../protocol/record-batch.js';
import { PRODUCED_BATCH_RULES, checkBatchRecords } from '../protocol/record-validation.js';
import { DEFAULT_LOG_CONFIG } from '../storage/log-config.js';
import { PartitionLog } from '../storage/partition-log.js';

const VALUE_BYTES = 100;
const APPEND_ITERATIONS = 400;

interface Shape {
  name: string;
  batch: Buffer;
  records: number;
}

function shapes(): Shape[] {
  const now = Date.now();
  const plain = (n: number): RecordInput[] => Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(VALUE_BYTES, 97 + (i % 26)), timestamp: now + i }));
  const keyed: RecordInput[] = plain(1000).map((r, i) => ({ ...r, key: `user-${i % 97}`, headers: [{ key: 'trace', value: Buffer.from('abcdef') }] }));
  return [
    { name: '1000 x 100 B', batch: encodeBatch(plain(1000)), records: 1000 },
    { name: '1000 x 100 B, key + header', batch: encodeBatch(keyed), records: 1000 },
    { name: '10 x 100 B', batch: encodeBatch(plain(10)), records: 10 },
    { name: '1000 x 100 B, gzip', batch: encodeBatch(plain(1000), { compression: 'gzip' }), records: 1000 },
  ];
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

/** Median latency of task `name` in the bench just run, in µs. */
function medianUs(bench: Bench, name: string): number {
  const task = bench.tasks.find((t) => t.name === name);
  const p50 = (task?.result as { latency?: { p50?: number } } | undefined)?.latency?.p50;
  if (p50 === undefined) throw new Error(`${name}: no samples`);
  return p50 * 1000;
}

/**
 * Runs `rounds` rounds of the benches `make` returns (all of them per round, so they share
 * the machine's conditions) and returns each task's medians, one per round: on a shared
 * machine a burst of other work then spoils one round, not the figure.
 */
async function perRound(rounds: number, make: () => Bench[]): Promise<Map<string, number[]>> {
  const perTask = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const bench of make()) {
      await bench.run();
      for (const task of bench.tasks) {
        let list = perTask.get(task.name);
        if (list === undefined) perTask.set(task.name, (list = []));
        list.push(medianUs(bench, task.name));
      }
    }
  }
  return perTask;
}

export default async function run(argv: string[]): Promise<void> {
  const option = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const timeMs = Number(option('time') ?? 2500);
  const rounds = Number(option('rounds') ?? 5);
  const root = await mkdtemp(join(option('dir') ?? tmpdir(), 'rill-bench-validation-'));
  const config = { ...DEFAULT_LOG_CONFIG };
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'} x ${cpus().length}, node ${process.version}; µs per batch and ratios: medians over ${rounds} rounds of each round's median (ratios: per round, then the median)`);
  const rows = [];
  let sink = 0;
  try {
    for (const shape of shapes()) {
      const { batch } = shape;
      const header = validateBatch(batch);
      const gzip = (header.attributes & 7) !== 0;
      const dir = await mkdtemp(join(root, 'log-'));
      const log = await PartitionLog.open({ topic: 'bench', partition: 0, dir, config, recoveryPoint: null });
      try {
        const results = await perRound(rounds, () => {
          const cpu = new Bench({ time: timeMs / rounds, warmupTime: 100, throws: true });
          cpu.add('header + CRC', () => {
            sink += validateBatch(batch).recordCount;
          });
          cpu.add('walk', () => {
            if (checkBatchRecords(batch, 0, header, PRODUCED_BATCH_RULES) !== null) throw new Error('the benchmark batch is malformed');
            sink++;
          });
          cpu.add('produce validation', () => {
            sink += validateProduceRecords(batch, config).messages;
          });
          if (gzip) {
            cpu.add('gunzip', () => {
              sink += gunzipRecords(batch.subarray(RECORDS_POS), 0).length;
            });
            cpu.add('decode', () => {
              sink += decodeBatch(batch).records.length;
            });
          }
          // Appends touch the disk: bounded in count, not time, so every shape writes the same.
          const io = new Bench({ time: 0, iterations: Math.ceil(APPEND_ITERATIONS / rounds), warmupIterations: 10, throws: true });
          io.add('validate + append', async () => {
            sink += validateProduceRecords(batch, config).messages;
            await log.append(batch);
          });
          return [cpu, io];
        });
        const roundsOf = (name: string): number[] => results.get(name) ?? [];
        const us = (name: string): number => median(roundsOf(name));
        const ratio = (a: string, b: string): number => median(roundsOf(a).map((x, r) => x / roundsOf(b)[r]!));
        const crc = us('header + CRC');
        const walk = us('walk');
        const validation = us('produce validation');
        const appendPath = us('validate + append');
        rows.push({
          batch: `${shape.name} (${batch.length} B)`,
          'header + CRC': crc.toFixed(1),
          walk: walk.toFixed(1),
          'produce validation': validation.toFixed(1),
          'validate + append': appendPath.toFixed(1),
          'walk / (validate + append)': `${(100 * ratio('walk', 'validate + append')).toFixed(1)} %`,
          'walk / header + CRC': ratio('walk', 'header + CRC').toFixed(2),
          ...(gzip ? { 'of which gunzip': us('gunzip').toFixed(1), 'old gzip check (decode)': us('decode').toFixed(1) } : {}),
        });
      } finally {
        await log.close({ flush: false });
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  console.table(rows);
  if (sink === 0) console.log('');
}
