/**
 * Shared helpers of the storage tests: temp dirs, batch builders, a log reader that walks a
 * partition from start to end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBatches, encodeBatch, type Compression, type RecordInput } from '../../protocol/record-batch.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../storage/log-config.js';
import type { PartitionLog } from '../../storage/partition-log.js';

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rill-storage-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}

/** A batch of `count` records whose values are `${prefix}-${i}`. */
export function batchOf(count: number, prefix: string, opts: { compression?: Compression; timestamp?: number; key?: (i: number) => string | null; producerId?: number; producerEpoch?: number; baseSequence?: number } = {}): Buffer {
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const r: RecordInput = { value: `${prefix}-${i}` };
    if (opts.key !== undefined) r.key = opts.key(i);
    if (opts.timestamp !== undefined) r.timestamp = opts.timestamp + i;
    records.push(r);
  }
  const enc: Parameters<typeof encodeBatch>[1] = { compression: opts.compression ?? 'none' };
  if (opts.producerId !== undefined) {
    enc.producerId = opts.producerId;
    enc.producerEpoch = opts.producerEpoch ?? 0;
    enc.baseSequence = opts.baseSequence ?? 0;
  }
  return encodeBatch(records, enc);
}

export interface ReadRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
}

/** Every record of the log from `from` to its end, via read(); also checks batches come back whole. */
export async function readAll(log: PartitionLog, from = log.logStartOffset, maxBytes = 64 * 1024): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  let next = from;
  while (next < log.logEndOffset) {
    const r = await log.read(next, maxBytes);
    if (r.records.length === 0) throw new Error(`empty read at ${next} below the log end ${log.logEndOffset}`);
    const batches = decodeBatches(r.records);
    let consumed = 0;
    for (const b of batches) {
      consumed += 12 + b.header.batchLength;
      for (const rec of b.records) {
        if (rec.offset < next) continue;
        out.push({ offset: rec.offset, timestamp: rec.timestamp, key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? null });
      }
      next = Math.max(next, b.header.baseOffset + b.header.lastOffsetDelta + 1);
    }
    if (consumed !== r.records.length) throw new Error(`read at ${next} returned a partial batch`);
  }
  return out;
}
