import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  OFFSETS_TOPIC,
  OFFSETS_TOPIC_CONFIGS,
  OffsetsTopic,
  decodeOffsetsRecord,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  javaStringHashCode,
  partitionForGroup,
} from '../../broker/groups/offsets-topic.js';
import { RillError } from '../../protocol/errors.js';
import { decodeBatches, encodeBatch } from '../../protocol/record-batch.js';
import { parseLogConfig } from '../../storage/log-config.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { silentLogger } from './group-sim.js';

const dirs: string[] = [];
const logs: PartitionLog[] = [];

afterEach(async () => {
  for (const l of logs.splice(0)) await l.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function openLogs(dir: string, n: number): Promise<PartitionLog[]> {
  const config = parseLogConfig({ ...OFFSETS_TOPIC_CONFIGS });
  const opened: PartitionLog[] = [];
  for (let p = 0; p < n; p++) {
    const log = await PartitionLog.open({ topic: OFFSETS_TOPIC, partition: p, dir: join(dir, `${OFFSETS_TOPIC}-${p}`), config, recoveryPoint: null });
    opened.push(log);
    logs.push(log);
  }
  return opened;
}

describe('__consumer_offsets', () => {
  it('maps groups to partitions exactly like Kafka (Java String.hashCode, Utils.abs)', () => {
    // Values computed by a JVM: "s".hashCode(), and Utils.abs(h) % 50 / % 10.
    const vectors: Array<[string, number, number, number]> = [
      ['', 0, 0, 0],
      ['a', 97, 47, 7],
      ['hello', 99162322, 22, 2],
      ['polygenelubricants', -2147483648, 0, 0],
      ['my-group', -1906497762, 12, 2],
      ['Hello, World!', 1498789909, 9, 9],
      ['consumer-группа-😀', 1586848223, 23, 3],
    ];
    for (const [s, hash, p50, p10] of vectors) {
      expect(javaStringHashCode(s), s).toBe(hash);
      expect(partitionForGroup(s, 50), s).toBe(p50);
      expect(partitionForGroup(s, 10), s).toBe(p10);
    }
  });

  it('round-trips offset-commit keys, values and tombstones through a record batch', () => {
    const key = encodeOffsetCommitKey({ groupId: 'g', topic: 'orders', partition: 7 });
    // The documented layout: msgpack [1, groupId, topic, partition].
    expect(key.equals(Buffer.from([0x94, 0x01, 0xa1, 0x67, 0xa6, ...Buffer.from('orders'), 0x07]))).toBe(true);
    const value = encodeOffsetCommitValue({ offset: 2 ** 40 + 5, metadata: 'm', commitTimestampMs: 1_700_000_000_000 });
    const batch = encodeBatch([
      { key, value },
      { key, value: encodeOffsetCommitValue({ offset: 3, metadata: null, commitTimestampMs: 1 }) },
      { key, value: null },
    ]);
    const [decoded] = decodeBatches(batch);
    const records = decoded!.records.map((r) => decodeOffsetsRecord(r.key, r.value));
    expect(records).toEqual([
      { kind: 'offset-commit', key: { groupId: 'g', topic: 'orders', partition: 7 }, value: { offset: 2 ** 40 + 5, metadata: 'm', commitTimestampMs: 1_700_000_000_000 } },
      { kind: 'offset-commit', key: { groupId: 'g', topic: 'orders', partition: 7 }, value: { offset: 3, metadata: null, commitTimestampMs: 1 } },
      { kind: 'offset-commit', key: { groupId: 'g', topic: 'orders', partition: 7 }, value: null },
    ]);
    // Keys are deterministic: compaction compares them byte for byte.
    expect(encodeOffsetCommitKey({ groupId: 'g', topic: 'orders', partition: 7 }).equals(key)).toBe(true);
    // Unknown key versions are reported, not misread; garbage is CORRUPT_MESSAGE.
    expect(decodeOffsetsRecord(Buffer.from([0x92, 0x02, 0xa1, 0x67]), null)).toEqual({ kind: 'unknown', keyVersion: 2 });
    expect(() => decodeOffsetsRecord(Buffer.from([0xc1]), null)).toThrow(RillError);
    expect(() => decodeOffsetsRecord(key, Buffer.from([0x93, 1, 2, 3]))).toThrow(/wrong shape/);
  });

  it('writes commits durably and loads them back, applying tombstones and later commits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rill-offsets-'));
    dirs.push(dir);
    const n = 3;
    const first = await openLogs(dir, n);
    const topic = new OffsetsTopic(n, (p) => first[p], silentLogger);
    await topic.load();
    for (let p = 0; p < n; p++) expect(topic.isLoaded(p)).toBe(true);
    const now = 1_700_000_000_000;
    for (let i = 0; i < 20; i++) {
      await topic.write(`group-${i % 4}`, [{ topic: 't', partition: i % 3, value: { offset: i, metadata: `m${i}`, commitTimestampMs: now + i } }], now + i);
    }
    await topic.write('group-0', [
      { topic: 't', partition: 0, value: null },
      { topic: 't', partition: 1, value: null },
      { topic: 't', partition: 2, value: null },
    ]);
    expect(topic.offsets.hasGroup('group-0')).toBe(false);
    expect(topic.offsets.get('group-1', 't', 0)?.offset).toBe(9);
    // flush.messages=1: the append resolved only once fdatasync'ed.
    for (const l of first) expect(l.durableEndOffset).toBe(l.logEndOffset);
    for (const l of logs.splice(0)) await l.close();

    const second = await openLogs(dir, n);
    const reloaded = new OffsetsTopic(n, (p) => second[p], silentLogger);
    expect(reloaded.isLoaded(reloaded.partitionFor('group-1'))).toBe(false);
    await reloaded.load();
    expect(reloaded.offsets.hasGroup('group-0')).toBe(false);
    for (const g of ['group-1', 'group-2', 'group-3']) {
      for (let p = 0; p < 3; p++) {
        expect(reloaded.offsets.get(g, 't', p)).toEqual(topic.offsets.get(g, 't', p));
      }
    }
  });

  it('splits a large commit into several batches under the byte budget, in one append', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rill-offsets-'));
    dirs.push(dir);
    const [log] = await openLogs(dir, 1);
    const topic = new OffsetsTopic(1, () => log, silentLogger);
    await topic.load();
    const writes = Array.from({ length: 400 }, (_, i) => ({ topic: 'big', partition: i, value: { offset: i, metadata: 'x'.repeat(4000), commitTimestampMs: 1 } }));
    await topic.write('g', writes);
    const { records } = await log!.read(0, 64 * 1024 * 1024);
    const batches = decodeBatches(records);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.reduce((n, b) => n + b.records.length, 0)).toBe(400);
    expect(topic.offsets.get('g', 'big', 399)?.recordOffset).toBe(399);
  });
});
