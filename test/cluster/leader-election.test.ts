import { describe, expect, it } from 'vitest';
import { brokersOverImbalance, electPreferred, reconcilePartition, type CurrentPartition } from '../../broker/cluster/leader-election.js';
import type { PartitionState } from '../../broker/cluster/schemas.js';

const state = (leader: number, isr: number[], leaderEpoch = 3, partitionEpoch = 5): PartitionState => ({ leader, leaderEpoch, isr, partitionEpoch });
const part = (s: PartitionState, replicas = [1, 2, 3], modRevision = 100): CurrentPartition => ({ state: s, modRevision, replicas });
/** Every broker registered at revision 10 (before the states, written at 100). */
const live = (...ids: number[]): Map<number, number> => new Map(ids.map((id) => [id, 10]));

describe('reconcilePartition', () => {
  it('leaves a healthy partition alone', () => {
    expect(reconcilePartition(part(state(1, [1, 2, 3])), live(1, 2, 3), false)).toBeNull();
  });

  it('shrinks the ISR of a dead follower, bumping only the partition epoch', () => {
    expect(reconcilePartition(part(state(1, [1, 2, 3])), live(1, 3), false)).toEqual(state(1, [1, 3], 3, 6));
  });

  it('elects the first live ISR member in replica order when the leader dies', () => {
    expect(reconcilePartition(part(state(1, [3, 1, 2])), live(2, 3), false)).toEqual(state(2, [3, 2], 4, 6));
    // 2 is live but out of the ISR: 3 leads.
    expect(reconcilePartition(part(state(1, [1, 3])), live(2, 3), false)).toEqual(state(3, [3], 4, 6));
  });

  it('takes a partition offline, keeping its ISR, when the whole ISR is down; back when a member returns', () => {
    const offline = reconcilePartition(part(state(1, [1, 2])), live(3), false)!;
    expect(offline).toEqual(state(-1, [1, 2], 4, 6));
    expect(reconcilePartition(part(offline), live(3), false)).toBeNull();
    expect(reconcilePartition(part(offline), live(2, 3), false)).toEqual(state(2, [2], 5, 7));
  });

  it('with unclean election, elects a live replica outside the ISR', () => {
    expect(reconcilePartition(part(state(1, [1, 2])), live(3), true)).toEqual(state(3, [3], 4, 6));
  });

  it('re-elects when the leader registered again after the state was written (bounce)', () => {
    const bounced = new Map([[1, 200], [2, 10], [3, 10]]);
    expect(reconcilePartition(part(state(1, [1, 2, 3])), bounced, false)).toEqual(state(2, [2, 3], 4, 6));
    // Alone in the ISR, the bounced leader is re-confirmed with a new epoch.
    expect(reconcilePartition(part(state(1, [1])), bounced, false)).toEqual(state(1, [1], 4, 6));
  });
});

describe('electPreferred', () => {
  it('moves leadership back when the preferred replica is live and in sync', () => {
    expect(electPreferred(part(state(2, [1, 2, 3])), live(1, 2, 3))).toEqual({ outcome: 'elected', state: state(1, [1, 2, 3], 4, 6) });
    expect(electPreferred(part(state(1, [1, 2, 3])), live(1, 2, 3))).toEqual({ outcome: 'not-needed' });
    expect(electPreferred(part(state(2, [2, 3])), live(1, 2, 3))).toEqual({ outcome: 'not-available' });
    expect(electPreferred(part(state(2, [1, 2, 3])), live(2, 3))).toEqual({ outcome: 'not-available' });
  });

  it('flags brokers whose share of lost leaderships is above the threshold', () => {
    const parts = [part(state(2, [1, 2])), part(state(1, [1, 2])), part(state(2, [2, 1]), [2, 1])];
    expect([...brokersOverImbalance(parts, 10)]).toEqual([1]);
    expect([...brokersOverImbalance(parts, 50)]).toEqual([]);
  });
});
