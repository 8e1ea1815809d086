/** Shared helpers of the replication tests: temp dirs and real partition logs. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBatch } from '../../protocol/record-batch.js';
import { DEFAULT_LOG_CONFIG } from '../../storage/log-config.js';
import { PartitionLog } from '../../storage/partition-log.js';

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rill-replication-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function openLog(dir: string, topic = 't', partition = 0): Promise<PartitionLog> {
  return PartitionLog.open({ topic, partition, dir: join(dir, `${topic}-${partition}`), config: { ...DEFAULT_LOG_CONFIG }, recoveryPoint: 0 });
}

/** A producer's batch of `count` records (values `${prefix}-${i}`). */
export function records(count: number, prefix: string): Buffer {
  return encodeBatch(Array.from({ length: count }, (_, i) => ({ value: `${prefix}-${i}`, timestamp: 1_700_000_000_000 + i })));
}
