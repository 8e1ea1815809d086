/**
 * The core append / read / reopen / crash-reopen test, run over every configuration: flush
 * policy × compression × segment size (as NATS's store tests run every permutation).
 */
import { describe, expect, it } from 'vitest';
import type { Compression } from '../../protocol/record-batch.js';
import type { LogConfig } from '../../storage/log-config.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { batchOf, config, readAll, removeDir, tempDir } from './helpers.js';

const flushPolicies: Array<[string, Partial<LogConfig>]> = [
  ['flush never', {}],
  ['flush.messages=5', { flushMessages: 5 }],
  ['flush always', { flushMessages: 1 }],
];
const compressions: Compression[] = ['none', 'gzip'];
const segmentSizes: Array<[string, number]> = [['tiny segments', 400], ['one segment', 64 * 1024 * 1024]];

describe.each(flushPolicies)('%s', (_flushName, flush) => {
  describe.each(compressions)('compression %s', (compression) => {
    it.each(segmentSizes)('%s: append, read, reopen, crash-reopen', async (_segName, segmentBytes) => {
      const dir = await tempDir();
      const cfg = config({ ...flush, segmentBytes, indexIntervalBytes: 256 });
      const open = (recoveryPoint: number | null): Promise<PartitionLog> => PartitionLog.open({ topic: 'm', partition: 0, dir, config: cfg, recoveryPoint });
      const expected: string[] = [];
      try {
        let log = await open(0);
        // Bursts of concurrent appends (coalesced) interleaved with single ones.
        for (let round = 0; round < 6; round++) {
          const burst = [];
          for (let k = 0; k < 5; k++) {
            const n = 1 + ((round + k) % 3);
            burst.push(log.append(batchOf(n, `r${round}k${k}`, { compression, timestamp: 1000 + round })));
            for (let i = 0; i < n; i++) expected.push(`r${round}k${k}-${i}`);
          }
          await Promise.all(burst);
          await log.append(batchOf(2, `s${round}`, { compression }));
          expected.push(`s${round}-0`, `s${round}-1`);
        }
        expect(log.logEndOffset).toBe(expected.length);
        expect((await readAll(log)).map((r) => r.value)).toEqual(expected);
        if (segmentBytes < 1000) expect(log.segmentCount).toBeGreaterThan(3);

        await log.close();
        log = await open(null);
        expect((await readAll(log, 0, 300)).map((r) => r.value)).toEqual(expected);
        await log.append(batchOf(3, 'after-reopen', { compression }));
        expected.push('after-reopen-0', 'after-reopen-1', 'after-reopen-2');

        // Crash: no close, recover from the last recovery point.
        const crashed = log;
        log = await open(crashed.recoveryPoint);
        expect(log.logEndOffset).toBe(expected.length);
        expect((await readAll(log)).map((r) => r.value)).toEqual(expected);
        expect((await log.append(batchOf(1, 'last', { compression }))).baseOffset).toBe(expected.length);
        await log.close();
        await crashed.close({ flush: false });
      } finally {
        await removeDir(dir);
      }
    });
  });
});
