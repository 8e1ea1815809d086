/**
 * The controller's partition state rules as pure functions (Kafka's PartitionStateMachine and
 * its leader election strategies): given a partition's state, its replicas and the live brokers,
 * what its next state must be. The controller writes whatever these return, by compare-and-swap.
 *
 * A leader is valid only while it is live AND the state was written after its current
 * registration (`stateRevision > brokerEpoch`): a broker that lost its lease and registered
 * again must not go on leading on the strength of an old record (Kafka's broker-epoch check);
 * the controller re-elects such partitions, bumping the epoch, even when the same broker wins.
 * (The rule holds only if leaders write their own ISR changes solely while
 * `ClusterMetadataView.canAcknowledge` is true: a stale leader's write would look fresh.)
 *
 * Offline election (leader dead, bounced, or none): the first replica, in assignment order,
 * that is live and in the ISR. With none, unclean election (when enabled) takes the first live
 * replica and makes it the whole ISR; otherwise the leader becomes NO_LEADER and the ISR is kept
 * as it was, naming the replicas that hold every acknowledged record, so that the first of
 * them to come back is elected.
 */
import { NO_LEADER, type PartitionState } from './schemas.js';

/** Live brokers: node id → broker epoch (create revision of its registration). */
export type LiveBrokers = ReadonlyMap<number, number>;

export interface CurrentPartition {
  readonly state: PartitionState;
  /** Mod revision of the partition key. */
  readonly modRevision: number;
  readonly replicas: readonly number[];
}

export function isValidLeader(p: CurrentPartition, live: LiveBrokers): boolean {
  const epoch = p.state.leader === NO_LEADER ? undefined : live.get(p.state.leader);
  return epoch !== undefined && p.modRevision > epoch;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function changed(state: PartitionState, leader: number, isr: number[], newLeaderEpoch: boolean): PartitionState {
  return {
    leader,
    leaderEpoch: newLeaderEpoch ? state.leaderEpoch + 1 : state.leaderEpoch,
    isr,
    partitionEpoch: state.partitionEpoch + 1,
  };
}

/** The state a new partition starts in: the preferred replica leads, every replica is in the ISR. */
export function initialPartitionState(replicas: readonly number[]): PartitionState {
  return { leader: replicas[0]!, leaderEpoch: 0, isr: [...replicas], partitionEpoch: 0 };
}

/** No broker is in controlled shutdown. */
export const NONE_SHUTTING_DOWN: ReadonlySet<number> = new Set();

/**
 * The state the partition must move to given who is live, or null when it is fine as it is.
 * Dead followers leave the ISR (partitionEpoch bump only); a leader change bumps both epochs.
 *
 * Brokers in controlled shutdown (`shuttingDown`, their registration's flag) are live but on
 * their way out, as in Kafka's ControlledShutdownLeaderElection: a partition they lead moves to
 * the first other live ISR member, they leave every ISR (acks=all stops waiting on them), and
 * they are elected only when no other ISR member is live. A partition led by one with no other
 * live ISR member keeps its leader (and that leader stays in its ISR).
 */
export function reconcilePartition(p: CurrentPartition, live: LiveBrokers, uncleanElection: boolean, shuttingDown: ReadonlySet<number> = NONE_SHUTTING_DOWN): PartitionState | null {
  const { state, replicas } = p;
  const staying = (id: number): boolean => live.has(id) && !shuttingDown.has(id);
  if (isValidLeader(p, live)) {
    if (shuttingDown.has(state.leader)) {
      const successor = replicas.find((id) => id !== state.leader && state.isr.includes(id) && staying(id));
      if (successor !== undefined) return changed(state, successor, state.isr.filter(staying), true);
    }
    const isr = state.isr.filter((id) => id === state.leader || staying(id));
    return sameMembers(isr, state.isr) ? null : changed(state, state.leader, isr, false);
  }
  // A leader that is live but bounced (registered again since this state) is passed over when
  // another in-sync replica can lead, and then leaves the ISR as any failed replica does.
  const bounced = state.leader !== NO_LEADER && live.has(state.leader) ? state.leader : NO_LEADER;
  const liveIsr = replicas.filter((id) => state.isr.includes(id) && live.has(id));
  const others = liveIsr.filter((id) => id !== bounced);
  const leader = others.find((id) => !shuttingDown.has(id)) ?? others[0] ?? (liveIsr.includes(bounced) ? bounced : undefined);
  if (leader !== undefined) {
    const isr = state.isr.filter((id) => id === leader || (staying(id) && id !== bounced));
    return changed(state, leader, isr, true);
  }
  if (uncleanElection) {
    const first = replicas.find(staying) ?? replicas.find((id) => live.has(id));
    if (first !== undefined) return changed(state, first, [first], true);
  }
  return state.leader === NO_LEADER ? null : changed(state, NO_LEADER, [...state.isr], true);
}

/**
 * True when the partition is led by a broker in controlled shutdown that no other live ISR
 * member can relieve: it keeps its leader until it leaves (the controller says so in its log).
 */
export function leaderCannotHandOver(state: PartitionState, live: LiveBrokers, shuttingDown: ReadonlySet<number>): boolean {
  if (state.leader === NO_LEADER || !shuttingDown.has(state.leader)) return false;
  return !state.isr.some((id) => id !== state.leader && live.has(id) && !shuttingDown.has(id));
}

/** The decision of an election on demand (ElectLeaders) for one partition. */
export type Election =
  | { outcome: 'elected'; state: PartitionState }
  | { outcome: 'not-needed' }
  /** Preferred: the preferred replica is down or not in the ISR. Unclean: no replica is live. */
  | { outcome: 'not-available' };

/** Kafka's preferred replica election: move leadership back to replicas[0] when it can lead. */
export function electPreferred(p: CurrentPartition, live: LiveBrokers, shuttingDown: ReadonlySet<number> = NONE_SHUTTING_DOWN): Election {
  const preferred = p.replicas[0]!;
  if (p.state.leader === preferred && isValidLeader(p, live)) return { outcome: 'not-needed' };
  // A broker in controlled shutdown is never handed leadership back.
  if (!live.has(preferred) || shuttingDown.has(preferred) || !p.state.isr.includes(preferred)) return { outcome: 'not-available' };
  const isr = p.state.isr.filter((id) => live.has(id));
  return { outcome: 'elected', state: changed(p.state, preferred, isr, true) };
}

/**
 * Kafka's unclean election on demand (kafka-leader-election --election-type unclean): a
 * partition without a valid leader gets one as offline election with unclean election enabled
 * would pick it (reconcilePartition decides, so the rule lives in one place): a live ISR member
 * first, else the first live replica as the whole ISR. A partition with a valid leader needs
 * none; one with no live replica cannot have one (its state is left as it is).
 */
export function electUnclean(p: CurrentPartition, live: LiveBrokers, shuttingDown: ReadonlySet<number> = NONE_SHUTTING_DOWN): Election {
  if (isValidLeader(p, live)) return { outcome: 'not-needed' };
  const next = reconcilePartition(p, live, true, shuttingDown);
  if (next === null || next.leader === NO_LEADER) return { outcome: 'not-available' };
  return { outcome: 'elected', state: next };
}

/**
 * Kafka's auto leader rebalance trigger: for each broker, the share of the partitions it
 * prefers to lead that someone else leads; brokers above `percentage` get theirs back.
 */
export function brokersOverImbalance(partitions: readonly CurrentPartition[], percentage: number): Set<number> {
  const preferredCount = new Map<number, number>();
  const notLeading = new Map<number, number>();
  for (const p of partitions) {
    const preferred = p.replicas[0]!;
    preferredCount.set(preferred, (preferredCount.get(preferred) ?? 0) + 1);
    if (p.state.leader !== preferred) notLeading.set(preferred, (notLeading.get(preferred) ?? 0) + 1);
  }
  const out = new Set<number>();
  for (const [id, total] of preferredCount) {
    if (((notLeading.get(id) ?? 0) * 100) / total > percentage) out.add(id);
  }
  return out;
}
