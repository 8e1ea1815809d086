/**
 * Storage benchmarks: rill's PartitionLog against the raw file operations it is built on,
 * measured in the same process, in the same run, in interleaved rounds (raw, rill, rill, raw,
 * ...) so that the 10x run-to-run swings of these VMs' disks cancel out. Each scenario reports
 * the median of the rounds for each side and the median of the per-round ratios rill / raw.
 *
 *   append-1MiB          log.append(1 MiB batch), one in flight, flush never
 *                        vs fh.write(same bytes) at increasing positions
 *   always-1MiB          log.append with flush.messages=1 vs fh.write + fh.datasync, 1 MiB
 *   always-16KiB         the same with 16 KiB batches, one in flight
 *   always-16KiB-x64     64 concurrent 16 KiB appends per iteration (group commit)
 *                        vs write+fdatasync per 16 KiB (the per-op baseline the target names)
 *                        and vs one writev of 64 x 16 KiB + one fdatasync (the ceiling)
 *   tail-512B            append one ~512-byte batch and read it back at the tail, one at a
 *                        time (a latency-bound producer and a tailing consumer: the write is a
 *                        synchronous pwritev, the read is served by the in-memory tail)
 *                        vs fh.write + fh.read of the same bytes via fs/promises (two
 *                        threadpool hops, what both cost before issue 8)
 *   read-1MiB            log.read(offset, 1 MiB) walking a 96 MiB log of 16 KiB batches
 *                        vs fh.read of the same (position, length) ranges into fresh buffers
 *
 * Every loop is bounded in count (tinybench `iterations`) and in time (an AbortSignal per
 * side per round). Before each measurement `sync` drains dirty pages left by the previous one.
 * Usage: node dist/bench/run.js storage [--rounds=N] [--dir=PATH]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { batchSize, encodeBatch, readLastOffset } from '../protocol/record-batch.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../storage/log-config.js';
import { PartitionLog } from '../storage/partition-log.js';

interface Side {
  /** Prepares a fresh round; returns the function timed per iteration and a cleanup. */
  setup: () => Promise<{ fn: () => Promise<void>; cleanup: () => Promise<void> }>;
  /** Operations per iteration (appends or reads). */
  opsPerIteration: number;
}

interface Scenario {
  name: string;
  bytesPerOp: number;
  iterations: number;
  maxMsPerRound: number;
  /** Rounds relative to --rounds: fdatasync-bound scenarios drift most, so they get more, shorter rounds. */
  roundsFactor?: number;
  raw: Side;
  rill: Side;
  /** An extra raw baseline reported beside the main one (same rounds). */
  ceiling?: { label: string; side: Side };
  target: number;
  note: string;
}

interface SideRound {
  opsPerSec: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Writes back every dirty page (the previous measurement's), so no side pays for another's. */
function settleDisk(): void {
  try {
    execFileSync('sync', { stdio: 'ignore', timeout: 60_000 });
  } catch {
    // No sync(1): the interleaving alone has to cancel the drift.
  }
}

async function measure(name: string, side: Side, iterations: number, maxMs: number): Promise<SideRound> {
  const { fn, cleanup } = await side.setup();
  settleDisk();
  try {
    const bench = new Bench({ time: 0, iterations, warmup: false, signal: AbortSignal.timeout(maxMs) });
    bench.add(name, fn);
    await bench.run();
    const result = bench.tasks[0]!.result as { latency?: { mean: number; samples: number[] } } | undefined;
    const latency = result?.latency;
    if (latency === undefined || latency.samples.length === 0) throw new Error(`${name}: no samples`);
    return { opsPerSec: (1000 / latency.mean) * side.opsPerIteration };
  } finally {
    await cleanup();
  }
}

async function freshDir(root: string, name: string): Promise<string> {
  return mkdtemp(join(root, `${name}-`));
}

/** One batch of `totalBytes` (about), records of 16 KiB. */
function batchOfSize(totalBytes: number): Buffer {
  const recordBytes = Math.min(16 * 1024, totalBytes);
  const n = Math.max(1, Math.floor(totalBytes / recordBytes));
  const value = Buffer.alloc(recordBytes - 80, 0x61);
  return encodeBatch(Array.from({ length: n }, () => ({ value })), { now: Date.now() });
}

function rawWriter(root: string, bytes: Buffer, sync: boolean): Side {
  return {
    opsPerIteration: 1,
    setup: async () => {
      const dir = await freshDir(root, 'raw');
      const fh = await open(join(dir, 'raw.log'), 'w+');
      let pos = 0;
      return {
        fn: async () => {
          let done = 0;
          while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done, pos + done)).bytesWritten;
          pos += bytes.length;
          if (sync) await fh.datasync();
        },
        cleanup: async () => {
          await fh.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

function rawGroupCommit(root: string, bytes: Buffer, concurrency: number): Side {
  return {
    opsPerIteration: concurrency,
    setup: async () => {
      const dir = await freshDir(root, 'rawgc');
      const fh = await open(join(dir, 'raw.log'), 'w+');
      const chunks = Array.from({ length: concurrency }, () => bytes);
      const total = bytes.length * concurrency;
      let pos = 0;
      return {
        fn: async () => {
          const { bytesWritten } = await fh.writev(chunks, pos);
          if (bytesWritten !== total) throw new Error('short writev');
          pos += total;
          await fh.datasync();
        },
        cleanup: async () => {
          await fh.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

function rillAppender(root: string, batch: Buffer, cfg: LogConfig, concurrency: number): Side {
  return {
    opsPerIteration: concurrency,
    setup: async () => {
      const dir = await freshDir(root, 'rill');
      const log = await PartitionLog.open({ topic: 'bench', partition: 0, dir, config: cfg, recoveryPoint: null });
      // Each in-flight append patches its own buffer's baseOffset.
      const batches = Array.from({ length: concurrency }, () => Buffer.from(batch));
      return {
        fn: concurrency === 1
          ? async () => {
            await log.append(batches[0]!);
          }
          : async () => {
            await Promise.all(batches.map((b) => log.append(b)));
          },
        cleanup: async () => {
          await log.close({ flush: false });
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** Writes `bytes` at increasing positions and reads each back, both through fs/promises. */
function rawTail(root: string, bytes: Buffer): Side {
  return {
    opsPerIteration: 1,
    setup: async () => {
      const dir = await freshDir(root, 'rawtail');
      const fh = await open(join(dir, 'raw.log'), 'w+');
      let pos = 0;
      let last: Promise<void> = Promise.resolve();
      const once = async (): Promise<void> => {
        const at = pos;
        pos += bytes.length;
        const { bytesWritten } = await fh.write(bytes, 0, bytes.length, at);
        if (bytesWritten !== bytes.length) throw new Error('short write');
        const back = Buffer.allocUnsafe(bytes.length);
        const { bytesRead } = await fh.read(back, 0, bytes.length, at);
        if (bytesRead !== bytes.length) throw new Error('short read');
      };
      return {
        fn: () => (last = once()),
        cleanup: async () => {
          await last.catch(() => undefined);
          await fh.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** log.append of one small batch, then log.read at the offset it got (the log's tail). */
function rillTail(root: string, batch: Buffer): Side {
  return {
    opsPerIteration: 1,
    setup: async () => {
      const dir = await freshDir(root, 'rilltail');
      const log = await PartitionLog.open({ topic: 'bench', partition: 0, dir, config: { ...DEFAULT_LOG_CONFIG }, recoveryPoint: null });
      const own = Buffer.from(batch);
      // The round's time limit can abort tinybench with an iteration still running: cleanup
      // waits for it, or the directory would be removed under a write.
      let last: Promise<void> = Promise.resolve();
      const once = async (): Promise<void> => {
        const { baseOffset } = await log.append(own);
        const r = await log.read(baseOffset, 1024 * 1024);
        if (r.records.length !== own.length) throw new Error(`tail read returned ${r.records.length} bytes, expected ${own.length}`);
      };
      return {
        fn: () => (last = once()),
        cleanup: async () => {
          await last.catch(() => undefined);
          await log.close({ flush: false });
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

interface ReadFixture {
  dir: string;
  log: PartitionLog;
  logPath: string;
  ranges: Array<{ offset: number; position: number; length: number }>;
}

async function buildReadFixture(root: string, totalBytes: number, batchBytes: number, maxBytes: number): Promise<ReadFixture> {
  const dir = await freshDir(root, 'read');
  const log = await PartitionLog.open({ topic: 'bench', partition: 0, dir, config: { ...DEFAULT_LOG_CONFIG }, recoveryPoint: null });
  const template = batchOfSize(batchBytes);
  const count = Math.ceil(totalBytes / template.length);
  for (let i = 0; i < count; i += 64) {
    const burst = [];
    for (let k = 0; k < 64 && i + k < count; k++) burst.push(log.append(Buffer.from(template)));
    await Promise.all(burst);
  }
  await log.flush();
  const ranges: ReadFixture['ranges'] = [];
  let offset = 0;
  let position = 0;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, maxBytes);
    ranges.push({ offset, position, length: r.records.length });
    position += r.records.length;
    // Next offset: after the last whole batch returned.
    let p = 0;
    let last = offset;
    while (p < r.records.length) {
      last = readLastOffset(r.records, p) + 1;
      p += batchSize(r.records, p);
    }
    offset = last;
  }
  return { dir, log, logPath: join(dir, '00000000000000000000.log'), ranges };
}

function rawReader(fx: ReadFixture): Side {
  return {
    opsPerIteration: 1,
    setup: async () => {
      const fh: FileHandle = await open(fx.logPath, 'r');
      let i = 0;
      return {
        fn: async () => {
          const { position, length } = fx.ranges[i]!;
          i = (i + 1) % fx.ranges.length;
          const buf = Buffer.allocUnsafe(length);
          let done = 0;
          while (done < length) {
            const { bytesRead } = await fh.read(buf, done, length - done, position + done);
            if (bytesRead === 0) throw new Error('unexpected EOF');
            done += bytesRead;
          }
        },
        cleanup: async () => {
          await fh.close();
        },
      };
    },
  };
}

function rillReader(fx: ReadFixture, maxBytes: number): Side {
  return {
    opsPerIteration: 1,
    setup: async () => {
      let i = 0;
      return {
        fn: async () => {
          const { offset, length } = fx.ranges[i]!;
          i = (i + 1) % fx.ranges.length;
          const r = await fx.log.read(offset, maxBytes);
          if (r.records.length !== length) throw new Error(`read ${r.records.length} bytes at ${offset}, expected ${length}`);
        },
        cleanup: async () => undefined,
      };
    },
  };
}

function fmtOps(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}

function fmtMBps(opsPerSec: number, bytesPerOp: number): string {
  return `${((opsPerSec * bytesPerOp) / (1024 * 1024)).toFixed(0)} MiB/s`;
}

export default async function storageBench(argv: string[]): Promise<void> {
  const option = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const rounds = Math.max(1, Number(option('rounds') ?? 7));
  const root = await mkdtemp(join(option('dir') ?? tmpdir(), 'rill-bench-storage-'));
  console.log(`rounds: ${rounds}, dir: ${root}, cpus: ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);

  const mib = batchOfSize(1024 * 1024);
  const kib16 = batchOfSize(16 * 1024);
  const always: LogConfig = { ...DEFAULT_LOG_CONFIG, flushMessages: 1 };
  const never: LogConfig = { ...DEFAULT_LOG_CONFIG };
  const readMaxBytes = 1024 * 1024;

  const scenarios: Scenario[] = [
    {
      name: 'append-1MiB', bytesPerOp: mib.length, iterations: 64, maxMsPerRound: 3000,
      raw: rawWriter(root, mib, false), rill: rillAppender(root, mib, never, 1), target: 0.8,
      note: 'flush never; raw = fh.write of the same bytes',
    },
    {
      name: 'always-1MiB', bytesPerOp: mib.length, iterations: 16, maxMsPerRound: 2000, roundsFactor: 3,
      raw: rawWriter(root, mib, true), rill: rillAppender(root, mib, always, 1), target: 0.8,
      note: 'flush.messages=1; raw = write + fdatasync',
    },
    {
      name: 'always-16KiB', bytesPerOp: kib16.length, iterations: 100, maxMsPerRound: 1000, roundsFactor: 3,
      raw: rawWriter(root, kib16, true), rill: rillAppender(root, kib16, always, 1), target: 0.8,
      note: 'one append in flight; raw = write + fdatasync',
    },
    {
      name: 'always-16KiB-x64', bytesPerOp: kib16.length, iterations: 20, maxMsPerRound: 1000, roundsFactor: 3,
      raw: rawWriter(root, kib16, true), rill: rillAppender(root, kib16, always, 64), target: 0.8,
      ceiling: { label: 'raw writev(64)+fdatasync', side: rawGroupCommit(root, kib16, 64) },
      note: '64 concurrent appends per iteration (group commit); raw = write + fdatasync per 16 KiB',
    },
  ];

  const small = encodeBatch(Array.from({ length: 4 }, () => ({ value: Buffer.alloc(100, 0x62) })), { now: Date.now() });
  scenarios.push({
    name: 'tail-512B', bytesPerOp: small.length, iterations: 2000, maxMsPerRound: 1000,
    raw: rawTail(root, small), rill: rillTail(root, small), target: 1,
    note: `append one ${small.length}-byte batch, read it back at the tail; raw = fh.write + fh.read (fs/promises)`,
  });

  const fixture = await buildReadFixture(root, 96 * 1024 * 1024, 16 * 1024, readMaxBytes);
  scenarios.push({
    name: 'read-1MiB', bytesPerOp: fixture.ranges[0]!.length, iterations: 400, maxMsPerRound: 2000,
    raw: rawReader(fixture), rill: rillReader(fixture, readMaxBytes), target: 0.8,
    note: `sequential reads over ${fixture.ranges.length} ranges of a ${(fixture.log.sizeBytes / 1048576).toFixed(0)} MiB log (page cache); raw = positioned reads of the same ranges`,
  });

  const rows: string[][] = [];
  for (const sc of scenarios) {
    const raw: number[] = [];
    const rill: number[] = [];
    const ceiling: number[] = [];
    const ratios: number[] = [];
    const scenarioRounds = rounds * (sc.roundsFactor ?? 1);
    for (let round = 0; round < scenarioRounds; round++) {
      // Alternate the order so neither side always runs on a "warmer" disk.
      const order = round % 2 === 0 ? ['raw', 'rill'] : ['rill', 'raw'];
      const got: Record<string, number> = {};
      for (const which of order) {
        const side = which === 'raw' ? sc.raw : sc.rill;
        got[which] = (await measure(`${sc.name}:${which}`, side, sc.iterations, sc.maxMsPerRound)).opsPerSec;
      }
      if (sc.ceiling !== undefined) ceiling.push((await measure(`${sc.name}:ceiling`, sc.ceiling.side, sc.iterations, sc.maxMsPerRound)).opsPerSec);
      raw.push(got.raw!);
      rill.push(got.rill!);
      ratios.push(got.rill! / got.raw!);
    }
    const ratio = median(ratios);
    rows.push([
      sc.name,
      `${fmtOps(median(raw))}/s (${fmtMBps(median(raw), sc.bytesPerOp)})`,
      `${fmtOps(median(rill))}/s (${fmtMBps(median(rill), sc.bytesPerOp)})`,
      `${ratio.toFixed(2)}x [${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)}]`,
      ratio >= sc.target ? `>= ${sc.target}x ok` : `< ${sc.target}x MISSED`,
      sc.ceiling === undefined ? '' : `${sc.ceiling.label}: ${fmtOps(median(ceiling))}/s; rill/ceiling ${(median(rill) / median(ceiling)).toFixed(2)}x`,
    ]);
    console.log(`${sc.name}: ${sc.note}; ${scenarioRounds} rounds`);
  }
  await fixture.log.close({ flush: false });
  await rm(root, { recursive: true, force: true });

  const header = ['scenario', 'raw (median)', 'rill (median)', 'rill/raw median [min..max]', 'target', 'extra baseline'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log();
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}
