import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartitionState } from '../../broker/replication/partition-state.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import { openLog, records, removeDir, tempDir } from './helpers.js';

const LAG_MS = 10_000;

describe('PartitionState', () => {
  let dir: string;
  let log: PartitionLog;
  let state: PartitionState;
  beforeEach(async () => {
    dir = await tempDir();
    log = await openLog(dir);
    state = new PartitionState({ topic: 't', partition: 0, localBrokerId: 1, log, replicaLagTimeMaxMs: LAG_MS, minInsyncReplicas: 2 });
  });
  afterEach(async () => {
    await log.close();
    await removeDir(dir);
  });

  const lead = (isr = [1, 2, 3], epoch = 1, now = 1000): void => state.becomeLeader({ leaderEpoch: epoch, partitionEpoch: epoch, isr, replicas: [1, 2, 3] }, now);

  it('checks transitions: stopped is final, epochs never go back, leader → leader needs a newer epoch', () => {
    lead();
    expect(state.role).toBe('leader');
    expect(() => lead([1, 2, 3], 1)).toThrow(/newer than 1/);
    expect(() => state.becomeFollower({ leader: 2, leaderEpoch: 0, replicas: [1, 2, 3] })).toThrow(/older/);
    state.becomeFollower({ leader: 2, leaderEpoch: 2, replicas: [1, 2, 3] });
    expect(state.role).toBe('follower');
    expect(state.leaderId).toBe(2);
    // The same epoch with a new leader is a follower → follower change.
    state.becomeFollower({ leader: 3, leaderEpoch: 2, replicas: [1, 2, 3] });
    expect(state.leaderId).toBe(3);
    lead([1], 3);
    state.stop();
    expect(() => lead([1], 4)).toThrow(/stopped → leader/);
    expect(() => state.becomeFollower({ leader: 2, leaderEpoch: 5, replicas: [1, 2] })).toThrow(/not allowed/);
  });

  it('becomeLeader stamps the epoch into the log, refuses an ISR without this broker, and manages the high watermark', async () => {
    expect(() => lead([2, 3])).toThrow(/lacks this broker/);
    await log.append(records(2, 'before'));
    lead([1, 2, 3], 4);
    expect(log.leaderEpoch).toBe(4);
    expect(log.isHighWatermarkManaged).toBe(true);
    expect(log.highWatermark).toBe(2);
    await log.append(records(3, 'a'));
    expect(log.epochEntries.at(-1)).toEqual({ epoch: 4, startOffset: 2 });
    expect(log.highWatermark).toBe(2);
  });

  it('maybeIncrementLeaderHW: the smallest log end over the ISR, never back', async () => {
    lead();
    await log.append(records(10, 'a'));
    expect(state.updateFollowerFetchState(2, 10, 1100).highWatermarkChanged).toBe(false);
    expect(state.updateFollowerFetchState(3, 4, 1100).highWatermarkChanged).toBe(true);
    expect(log.highWatermark).toBe(4);
    // A follower cannot pull it back (a stale, lower fetch offset).
    state.updateFollowerFetchState(3, 2, 1200);
    expect(log.highWatermark).toBe(4);
    state.updateFollowerFetchState(3, 10, 1300);
    expect(log.highWatermark).toBe(10);
  });

  it('a leader alone in its ISR moves the high watermark with its log end', async () => {
    lead([1]);
    await log.append(records(3, 'a'));
    expect(state.maybeIncrementLeaderHW()).toBe(true);
    expect(log.highWatermark).toBe(3);
  });

  it('maybeShrinkIsr drops followers not caught up within replica.lag.time.max.ms; the shrink lets the HW move once committed', async () => {
    lead([1, 2, 3], 1, 1000);
    await log.append(records(5, 'a'));
    state.updateFollowerFetchState(2, 5, 2000);
    state.updateFollowerFetchState(3, 1, 2000);
    expect(log.highWatermark).toBe(1);
    expect(state.maybeShrinkIsr(1000 + LAG_MS)).toBeNull();
    // Follower 3 was caught up at becomeLeader (1000) and never since.
    expect(state.outOfSyncReplicas(1001 + LAG_MS)).toEqual([3]);
    expect(state.maybeShrinkIsr(1001 + LAG_MS)).toEqual([1, 2]);
    expect(state.pendingIsr).toEqual([1, 2]);
    // While pending, no other change is proposed and the removed replica still counts.
    expect(state.maybeShrinkIsr(5000 + LAG_MS)).toBeNull();
    expect(state.maybeIncrementLeaderHW()).toBe(false);
    expect(state.commitIsr([1, 2], 2)).toBe(true);
    expect(state.isr).toEqual([1, 2]);
    expect(log.highWatermark).toBe(5);
    expect(() => state.commitIsr([1, 2], 3)).toThrow(/not proposed/);
  });

  it('a follower that fetches at the leader\'s previous log end counts as caught up at that fetch\'s time', async () => {
    lead([1, 2], 1, 0);
    await log.append(records(5, 'a'));
    state.updateFollowerFetchState(2, 0, 100);
    await log.append(records(5, 'b'));
    // Asked for offset 5 = the leader's end at the previous fetch: caught up as of time 100.
    state.updateFollowerFetchState(2, 5, 50_000);
    expect(state.follower(2)!.lastCaughtUpTimeMs).toBe(100);
    expect(state.outOfSyncReplicas(100 + LAG_MS)).toEqual([]);
    expect(state.outOfSyncReplicas(101 + LAG_MS)).toEqual([2]);
  });

  it('maybeExpandIsr adds a follower that reached the high watermark and this epoch\'s start; an aborted change is forgotten', async () => {
    await log.append(records(4, 'old'));
    lead([1, 2], 2, 0);
    await log.append(records(4, 'new'));
    state.updateFollowerFetchState(2, 8, 10);
    expect(log.highWatermark).toBe(8);
    // Follower 3 below the epoch start offset (4): not yet.
    expect(state.updateFollowerFetchState(3, 3, 20).expandIsr).toBeNull();
    expect(state.updateFollowerFetchState(3, 6, 30).expandIsr).toBeNull();
    const up = state.updateFollowerFetchState(3, 8, 40);
    expect(up.expandIsr).toEqual([1, 2, 3]);
    state.abortIsrChange();
    expect(state.pendingIsr).toBeNull();
    expect(state.maybeExpandIsr(3)).toEqual([1, 2, 3]);
    state.commitIsr([1, 2, 3], 3);
    expect(state.isr).toEqual([1, 2, 3]);
    expect(state.maybeExpandIsr(3)).toBeNull();
  });

  it('a fetch from a broker that is not a replica, or to a follower, is NOT_LEADER_OR_FOLLOWER', () => {
    lead();
    expect(() => state.updateFollowerFetchState(9, 0, 1)).toThrow(expect.objectContaining({ errorName: 'NOT_LEADER_OR_FOLLOWER' }));
    state.becomeFollower({ leader: 2, leaderEpoch: 2, replicas: [1, 2, 3] });
    expect(() => state.updateFollowerFetchState(2, 0, 1)).toThrow(expect.objectContaining({ errorName: 'NOT_LEADER_OR_FOLLOWER' }));
    expect(state.checkLeader()?.errorName).toBe('NOT_LEADER_OR_FOLLOWER');
  });

  it('checkLeader compares the request\'s epoch: older is FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH', () => {
    lead([1, 2, 3], 5);
    expect(state.checkLeader(5)).toBeNull();
    expect(state.checkLeader(-1)).toBeNull();
    expect(state.checkLeader(4)?.errorName).toBe('FENCED_LEADER_EPOCH');
    expect(state.checkLeader(6)?.errorName).toBe('UNKNOWN_LEADER_EPOCH');
  });

  it('isUnderMinIsr follows the committed ISR', () => {
    lead([1]);
    expect(state.isUnderMinIsr).toBe(true);
    expect(state.maybeExpandIsr(2)).toBeNull();
  });

  it('a follower takes the leader\'s high watermark, bounded by its own log end', async () => {
    state.becomeFollower({ leader: 2, leaderEpoch: 1, replicas: [1, 2] });
    await log.appendAsFollower(Buffer.from(records(3, 'x')));
    expect(state.updateFollowerHighWatermark(10)).toBe(true);
    expect(log.highWatermark).toBe(3);
  });
});
