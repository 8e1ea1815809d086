import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartitionState } from '../../broker/replication/partition-state.js';
import { ProducePurgatory } from '../../broker/replication/produce-purgatory.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import { openLog, records, removeDir, tempDir } from './helpers.js';

const LONG_MS = 60_000;

describe('ProducePurgatory (acks=all)', () => {
  let dir: string;
  let log: PartitionLog;
  let state: PartitionState;
  let purgatory: ProducePurgatory;
  beforeEach(async () => {
    dir = await tempDir();
    log = await openLog(dir);
    state = new PartitionState({ topic: 't', partition: 0, localBrokerId: 1, log, replicaLagTimeMaxMs: 10_000, minInsyncReplicas: 2 });
    state.becomeLeader({ leaderEpoch: 1, partitionEpoch: 1, isr: [1, 2, 3], replicas: [1, 2, 3] }, 0);
    purgatory = new ProducePurgatory({ maxParked: 3 });
  });
  afterEach(async () => {
    purgatory.close();
    await log.close();
    await removeDir(dir);
  });

  /** Appends as the leader and parks like the produce path will. */
  async function produce(count: number, timeoutMs = LONG_MS): Promise<{ lastOffset: number; outcome: ReturnType<ProducePurgatory['park']> }> {
    expect(purgatory.checkBeforeAppend(state, -1)).toBeNull();
    const r = await log.append(records(count, 'v'));
    return { lastOffset: r.lastOffset, outcome: purgatory.park(state, r.lastOffset + 1, state.leaderEpoch, timeoutMs) };
  }

  it('completes when every ISR member has the batch, in order, and not before', async () => {
    const a = await produce(2);
    const b = await produce(3);
    const settled: string[] = [];
    void a.outcome.then(() => settled.push('a'));
    void b.outcome.then(() => settled.push('b'));
    state.updateFollowerFetchState(2, 5, 1);
    expect(purgatory.onPartitionChange(state)).toBe(0);
    state.updateFollowerFetchState(3, 2, 1);
    expect(purgatory.onPartitionChange(state)).toBe(1);
    expect(await a.outcome).toBeNull();
    expect(purgatory.size).toBe(1);
    state.updateFollowerFetchState(3, 5, 2);
    purgatory.onPartitionChange(state);
    expect(await b.outcome).toBeNull();
    expect(settled).toEqual(['a', 'b']);
  });

  it('NOT_ENOUGH_REPLICAS before the append when the ISR is below min.insync.replicas; acks=1 passes', async () => {
    state.updateFollowerFetchState(2, 0, 1);
    state.maybeShrinkIsr(20_000);
    state.commitIsr([1], 2);
    expect(purgatory.checkBeforeAppend(state, -1)?.errorName).toBe('NOT_ENOUGH_REPLICAS');
    expect(purgatory.checkBeforeAppend(state, 1)).toBeNull();
  });

  it('NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below min.insync.replicas while waiting', async () => {
    const p = await produce(4);
    // Both followers stop fetching: the shrink to [1] lets the high watermark pass the batch.
    expect(state.maybeShrinkIsr(20_000)).toEqual([1]);
    state.commitIsr([1], 2);
    purgatory.onPartitionChange(state);
    expect((await p.outcome)?.errorName).toBe('NOT_ENOUGH_REPLICAS_AFTER_APPEND');
    expect(log.highWatermark).toBe(4);
  });

  it('NOT_LEADER_OR_FOLLOWER when leadership moves away while waiting', async () => {
    const p = await produce(1);
    state.becomeFollower({ leader: 2, leaderEpoch: 2, replicas: [1, 2, 3] });
    purgatory.onPartitionChange(state);
    expect((await p.outcome)?.errorName).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(purgatory.checkBeforeAppend(state, -1)?.errorName).toBe('NOT_LEADER_OR_FOLLOWER');
  });

  it('REQUEST_TIMED_OUT after request.timeout.ms, and the purgatory is bounded', async () => {
    const timed = await produce(1, 5);
    expect((await timed.outcome)?.errorName).toBe('REQUEST_TIMED_OUT');
    expect(purgatory.size).toBe(0);
    const parked = [await produce(1), await produce(1), await produce(1)];
    expect(purgatory.size).toBe(3);
    const over = await produce(1);
    expect((await over.outcome)?.message).toMatch(/already waiting/);
    purgatory.close();
    for (const p of parked) expect((await p.outcome)?.errorName).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(purgatory.size).toBe(0);
  });

  it('a timed-out produce between two others leaves them waiting, answered later in order', async () => {
    purgatory.close();
    purgatory = new ProducePurgatory({ maxParked: 100 });
    const settled: string[] = [];
    const a = await produce(1);
    const b = await produce(1, 5);
    const c = await produce(1);
    void a.outcome.then(() => settled.push('a'));
    void c.outcome.then(() => settled.push('c'));
    expect((await b.outcome)?.errorName).toBe('REQUEST_TIMED_OUT');
    expect(purgatory.size).toBe(2);
    // Many rounds of park-and-complete behind them reuse the partition's array.
    for (let round = 0; round < 50; round++) {
      const p = await produce(1);
      state.updateFollowerFetchState(2, p.lastOffset + 1, 1);
      state.updateFollowerFetchState(3, p.lastOffset + 1, 1);
      expect(purgatory.onPartitionChange(state)).toBe(round === 0 ? 3 : 1);
      expect(await p.outcome).toBeNull();
    }
    expect(await a.outcome).toBeNull();
    expect(await c.outcome).toBeNull();
    expect(settled).toEqual(['a', 'c']);
    expect(purgatory.size).toBe(0);
  });

  it('an already-replicated batch completes at once', async () => {
    await log.append(records(2, 'x'));
    state.updateFollowerFetchState(2, 2, 1);
    state.updateFollowerFetchState(3, 2, 1);
    expect(await purgatory.park(state, 2, 1, LONG_MS)).toBeNull();
    expect(purgatory.size).toBe(0);
  });
});
