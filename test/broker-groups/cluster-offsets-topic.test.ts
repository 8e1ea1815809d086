/**
 * OffsetsTopic ownership as a cluster broker uses it (assign on leadership, unassign when it
 * goes), on a real PartitionLog in a temp dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, OffsetsTopic, encodeOffsetCommitKey, encodeOffsetCommitValue } from '../../broker/groups/offsets-topic.js';
import { encodeBatch } from '../../protocol/record-batch.js';
import { parseLogConfig } from '../../storage/log-config.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { silentLogger } from './group-sim.js';

let dir: string;
let log: PartitionLog;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rill-offsets-ownership-'));
  log = await PartitionLog.open({ topic: OFFSETS_TOPIC, partition: 0, dir: join(dir, `${OFFSETS_TOPIC}-0`), config: parseLogConfig({ ...OFFSETS_TOPIC_CONFIGS }), recoveryPoint: null });
});

afterEach(async () => {
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

/** A commit written by some leader straight into the log. */
async function logged(offset: number): Promise<void> {
  const key = encodeOffsetCommitKey({ groupId: 'g', topic: 't', partition: 0 });
  await log.append(encodeBatch([{ key, value: encodeOffsetCommitValue({ offset, metadata: null, commitTimestampMs: 1 }) }]));
}

it('a load given up before it finished installs nothing; assigning again at the same epoch shares the running load', async () => {
  await logged(3);
  const topic = new OffsetsTopic(1, () => log, silentLogger);
  expect(topic.stateOf(0)).toBe('none');
  const first = topic.assign(0, 1);
  expect(topic.assign(0, 1)).toBe(first);
  expect(topic.unavailable('g')?.errorName).toBe('COORDINATOR_LOAD_IN_PROGRESS');
  expect(topic.unassign(0)).toBe(true);
  await first;
  expect(topic.stateOf(0)).toBe('none');
  expect(topic.offsets.get('g', 't', 0)).toBeUndefined();
  expect(topic.unavailable('g')?.errorName).toBe('NOT_COORDINATOR');
  await expect(topic.write('g', [{ topic: 't', partition: 0, value: { offset: 9, metadata: null, commitTimestampMs: 1 } }])).rejects.toMatchObject({ errorName: 'NOT_COORDINATOR' });
  expect(log.logEndOffset).toBe(1); // the refused write appended nothing
});

it('assigning at a new epoch reloads from the log (another leader may have written); unassigning drops the offsets', async () => {
  await logged(3);
  const topic = new OffsetsTopic(1, () => log, silentLogger);
  await topic.assign(0, 1);
  expect(topic.offsets.get('g', 't', 0)?.offset).toBe(3);
  await logged(4); // as if written while another broker led the partition
  await topic.assign(0, 1); // same epoch: nothing to do
  expect(topic.offsets.get('g', 't', 0)?.offset).toBe(3);
  await topic.assign(0, 2);
  expect(topic.offsets.get('g', 't', 0)?.offset).toBe(4);
  expect(topic.epochOf(0)).toBe(2);
  topic.unassign(0);
  expect(topic.offsets.hasGroup('g')).toBe(false);
  expect([...topic.offsets.groupIds()]).toEqual([]);
  expect(topic.epochOf(0)).toBe(-1);
});

it('a load that stops being current (no longer leader at that epoch) is abandoned', async () => {
  await logged(3);
  let leaderEpoch = 1;
  const topic = new OffsetsTopic(1, () => log, silentLogger, { isLeader: (_p, epoch) => epoch === leaderEpoch });
  const load = topic.assign(0, 1);
  leaderEpoch = 2;
  await load;
  expect(topic.stateOf(0)).toBe('none');
  await expect(topic.assign(5, 1)).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' });
});
