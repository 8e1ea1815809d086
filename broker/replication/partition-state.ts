/**
 * One partition's replication state on this broker (Kafka's cluster/Partition.scala): whether it
 * leads or follows, at which leader epoch, the ISR, every follower's fetch state, and the rules
 * that move the high watermark and the ISR, as small named methods.
 *
 * States and the transitions allowed between them (checked on every change; a change that is
 * not in the table throws, it never happens silently):
 *
 *   none      → leader | follower | stopped     a replica just opened
 *   leader    → leader | follower | stopped     leader → leader only with a newer epoch
 *   follower  → leader | follower | stopped     follower → follower: a new leader or epoch
 *   stopped   → (nothing)                       no longer a replica; the object is dropped
 *
 * Epochs never go back: a become-leader/-follower with an epoch older than the current one is
 * refused (a stale event), and the same epoch is accepted only for a follower's new leader.
 *
 * ISR changes are proposals: `maybeShrinkIsr`/`maybeExpandIsr` set `pendingIsr` and return it;
 * the owner writes it to etcd (compare-and-swap on the partition's revision) and calls
 * `commitIsr` when the write succeeds or `abortIsrChange` when it failed (then the metadata view
 * delivers whatever state won, and nothing is retried blindly). While a change is pending no
 * other is proposed, and the high watermark counts the "maximal ISR" (committed ∪ pending), as
 * Kafka does: a replica being added must have the data, one being removed still counts until
 * the removal is committed.
 */
import { rillError, type RillError } from '../../protocol/errors.js';
import type { PartitionLog } from '../../storage/partition-log.js';

export type ReplicaRole = 'none' | 'leader' | 'follower' | 'stopped';

const ALLOWED: Readonly<Record<ReplicaRole, readonly ReplicaRole[]>> = {
  none: ['leader', 'follower', 'stopped'],
  leader: ['leader', 'follower', 'stopped'],
  follower: ['leader', 'follower', 'stopped'],
  stopped: [],
};

/** The leader's view of one follower (Kafka's Replica). */
export interface FollowerState {
  /** The follower's log end offset: the fetch offset of its last fetch; -1 before any. */
  logEndOffset: number;
  /** Last time the follower was known to have everything the leader had (ms); 0 = never. */
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  /** The leader's log end offset when that last fetch arrived. */
  lastFetchLeaderLogEndOffset: number;
}

export interface PartitionStateOptions {
  topic: string;
  partition: number;
  localBrokerId: number;
  log: PartitionLog;
  /** replica.lag.time.max.ms (Kafka default 30000). */
  replicaLagTimeMaxMs: number;
  /** min.insync.replicas of the topic (default 1). */
  minInsyncReplicas: number;
}

export interface LeaderAssignment {
  leaderEpoch: number;
  partitionEpoch: number;
  isr: readonly number[];
  replicas: readonly number[];
}

export interface FollowerAssignment {
  leader: number;
  leaderEpoch: number;
  replicas: readonly number[];
}

export interface FetchStateUpdate {
  /** The high watermark moved forward (parked acks=all produces may complete). */
  highWatermarkChanged: boolean;
  /** A proposed ISR that adds the follower, to be written by the owner; null if none. */
  expandIsr: number[] | null;
}

export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly localBrokerId: number;
  readonly log: PartitionLog;
  replicaLagTimeMaxMs: number;
  minInsyncReplicas: number;

  private roleNow: ReplicaRole = 'none';
  private epoch = -1;
  private partitionEpochNow = -1;
  private leaderIdNow = -1;
  private replicasNow: readonly number[] = [];
  private isrNow: readonly number[] = [];
  private pending: readonly number[] | null = null;
  /** Log end offset when this broker became leader: a follower below it cannot join the ISR. */
  private leaderEpochStartOffset = 0;
  private readonly followers = new Map<number, FollowerState>();

  constructor(opts: PartitionStateOptions) {
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.localBrokerId = opts.localBrokerId;
    this.log = opts.log;
    this.replicaLagTimeMaxMs = opts.replicaLagTimeMaxMs;
    this.minInsyncReplicas = opts.minInsyncReplicas;
  }

  get role(): ReplicaRole {
    return this.roleNow;
  }

  get leaderEpoch(): number {
    return this.epoch;
  }

  get partitionEpoch(): number {
    return this.partitionEpochNow;
  }

  /** The leader's node id (this broker's when leading); -1 when none is known. */
  get leaderId(): number {
    return this.leaderIdNow;
  }

  get replicas(): readonly number[] {
    return this.replicasNow;
  }

  /** The committed ISR (as written to etcd). */
  get isr(): readonly number[] {
    return this.isrNow;
  }

  /** An ISR change proposed and not yet committed or aborted; null when none. */
  get pendingIsr(): readonly number[] | null {
    return this.pending;
  }

  /** committed ∪ pending: who counts for the high watermark. */
  get maximalIsr(): readonly number[] {
    if (this.pending === null) return this.isrNow;
    return [...new Set([...this.isrNow, ...this.pending])];
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  follower(replicaId: number): Readonly<FollowerState> | undefined {
    return this.followers.get(replicaId);
  }

  /** Whether acks=all must be refused before appending (ISR smaller than min.insync.replicas). */
  get isUnderMinIsr(): boolean {
    return this.isrNow.length < this.minInsyncReplicas;
  }

  /**
   * Becomes (or stays, at a newer epoch) the leader: the log stamps the new epoch, the high
   * watermark becomes managed (starting where it was), and every follower's fetch state is
   * reset, with ISR members counted as caught up now (Kafka does the same: they get a full
   * replica.lag.time.max.ms to show up).
   */
  becomeLeader(a: LeaderAssignment, nowMs: number): void {
    this.checkTransition('leader', a.leaderEpoch);
    if (!a.isr.includes(this.localBrokerId)) throw new Error(`${this.name}: cannot lead with an ISR ${JSON.stringify(a.isr)} that lacks this broker`);
    this.roleNow = 'leader';
    this.epoch = a.leaderEpoch;
    this.partitionEpochNow = a.partitionEpoch;
    this.leaderIdNow = this.localBrokerId;
    this.replicasNow = [...a.replicas];
    this.isrNow = [...a.isr];
    this.pending = null;
    this.log.setLeaderEpoch(a.leaderEpoch);
    if (!this.log.isHighWatermarkManaged) this.log.manageHighWatermark(this.log.highWatermark);
    this.leaderEpochStartOffset = this.log.logEndOffset;
    this.followers.clear();
    for (const id of a.replicas) {
      if (id === this.localBrokerId) continue;
      this.followers.set(id, { logEndOffset: -1, lastCaughtUpTimeMs: a.isr.includes(id) ? nowMs : 0, lastFetchTimeMs: 0, lastFetchLeaderLogEndOffset: -1 });
    }
    this.maybeIncrementLeaderHW();
  }

  /** Becomes a follower of `leader` (-1: no leader right now) at `leaderEpoch`. */
  becomeFollower(a: FollowerAssignment): void {
    this.checkTransition('follower', a.leaderEpoch);
    if (this.roleNow === 'follower' && a.leaderEpoch === this.epoch && a.leader === this.leaderIdNow) return;
    this.roleNow = 'follower';
    this.epoch = a.leaderEpoch;
    this.leaderIdNow = a.leader;
    this.replicasNow = [...a.replicas];
    this.isrNow = [];
    this.pending = null;
    this.followers.clear();
    this.log.setLeaderEpoch(a.leaderEpoch);
    if (!this.log.isHighWatermarkManaged) this.log.manageHighWatermark(this.log.highWatermark);
  }

  /** No longer a replica (reassigned away, or the topic was deleted). */
  stop(): void {
    this.checkTransition('stopped', this.epoch);
    this.roleNow = 'stopped';
    this.pending = null;
    this.followers.clear();
  }

  /**
   * A follower fetched from `fetchOffset` (Kafka's Replica.updateFetchState: the fetch offset is
   * the follower's log end offset). It caught up if it asked for the leader's log end, or for at
   * least what the leader had at its previous fetch (then it was caught up at that fetch's time).
   * Then the ISR may expand and the high watermark may move.
   */
  updateFollowerFetchState(replicaId: number, fetchOffset: number, nowMs: number): FetchStateUpdate {
    if (this.roleNow !== 'leader') throw this.notLeader();
    const f = this.followers.get(replicaId);
    if (f === undefined) {
      throw rillError('NOT_LEADER_OR_FOLLOWER', `${this.name}: broker ${replicaId} is not a replica (replicas ${JSON.stringify(this.replicasNow)})`, { topic: this.topic, partition: this.partition });
    }
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset >= leaderEnd) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset && f.lastFetchLeaderLogEndOffset >= 0) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    f.logEndOffset = fetchOffset;
    f.lastFetchLeaderLogEndOffset = leaderEnd;
    f.lastFetchTimeMs = nowMs;
    const expandIsr = this.maybeExpandIsr(replicaId);
    const highWatermarkChanged = this.maybeIncrementLeaderHW();
    return { highWatermarkChanged, expandIsr };
  }

  /**
   * Proposes adding `replicaId` to the ISR when it is a replica outside the ISR, no change is
   * pending, and its log reaches both the high watermark and the start of this leader's epoch
   * (so it holds every batch this leader wrote before its own). Returns the proposal or null.
   */
  maybeExpandIsr(replicaId: number): number[] | null {
    if (this.roleNow !== 'leader' || this.pending !== null) return null;
    if (this.isrNow.includes(replicaId)) return null;
    const f = this.followers.get(replicaId);
    if (f === undefined || f.logEndOffset < 0) return null;
    if (f.logEndOffset < this.log.highWatermark || f.logEndOffset < this.leaderEpochStartOffset) return null;
    const proposal = [...this.isrNow, replicaId];
    this.pending = proposal;
    return proposal;
  }

  /** ISR members (never the leader itself) not caught up within replica.lag.time.max.ms. */
  outOfSyncReplicas(nowMs: number): number[] {
    const out: number[] = [];
    for (const id of this.isrNow) {
      if (id === this.localBrokerId) continue;
      const f = this.followers.get(id);
      if (f === undefined || nowMs - f.lastCaughtUpTimeMs > this.replicaLagTimeMaxMs) out.push(id);
    }
    return out;
  }

  /** Proposes dropping the out-of-sync followers from the ISR; null when none or a change is pending. */
  maybeShrinkIsr(nowMs: number): number[] | null {
    if (this.roleNow !== 'leader' || this.pending !== null) return null;
    const lagging = this.outOfSyncReplicas(nowMs);
    if (lagging.length === 0) return null;
    const proposal = this.isrNow.filter((id) => !lagging.includes(id));
    this.pending = proposal;
    return proposal;
  }

  /** The proposed ISR was written (at `partitionEpoch`): it is the ISR now. */
  commitIsr(isr: readonly number[], partitionEpoch: number): boolean {
    if (this.roleNow !== 'leader') throw this.notLeader();
    if (this.pending === null || !sameMembers(isr, this.pending)) throw new Error(`${this.name}: commit of ISR ${JSON.stringify(isr)} that was not proposed (pending ${JSON.stringify(this.pending)})`);
    if (partitionEpoch <= this.partitionEpochNow) throw new Error(`${this.name}: partition epoch ${partitionEpoch} does not follow ${this.partitionEpochNow}`);
    this.isrNow = [...isr];
    this.partitionEpochNow = partitionEpoch;
    this.pending = null;
    // A shrink can let the high watermark move (the slow follower no longer holds it back).
    return this.maybeIncrementLeaderHW();
  }

  /**
   * The controller changed the ISR of a partition this broker still leads at the same epoch
   * (it removes replicas whose broker died: a partitionEpoch bump only). Adopts it, dropping any
   * pending proposal (whose compare-and-swap fails against the newer state anyway). Returns
   * whether the high watermark moved. Ignored unless `partitionEpoch` is newer.
   */
  adoptIsr(isr: readonly number[], partitionEpoch: number): boolean {
    if (this.roleNow !== 'leader' || partitionEpoch <= this.partitionEpochNow) return false;
    if (!isr.includes(this.localBrokerId)) return false; // a leader outside its ISR: the controller's next write fixes it
    this.isrNow = [...isr];
    this.partitionEpochNow = partitionEpoch;
    this.pending = null;
    for (const id of isr) {
      const f = this.followers.get(id);
      // Added by someone else: give it a full lag window, as becomeLeader does.
      if (f !== undefined && f.lastCaughtUpTimeMs === 0) f.lastCaughtUpTimeMs = Date.now();
    }
    return this.maybeIncrementLeaderHW();
  }

  /** The proposed ISR write failed (someone else changed the partition): forget the proposal. */
  abortIsrChange(): void {
    this.pending = null;
  }

  /**
   * HW = the smallest log end offset over the maximal ISR (the leader's own included), moved
   * forward only. A follower that has not fetched yet holds it where it is. Returns whether it moved.
   */
  maybeIncrementLeaderHW(): boolean {
    if (this.roleNow !== 'leader') return false;
    let candidate = this.log.logEndOffset;
    for (const id of this.maximalIsr) {
      if (id === this.localBrokerId) continue;
      const f = this.followers.get(id);
      const end = f === undefined ? -1 : f.logEndOffset;
      if (end < candidate) candidate = end;
    }
    if (candidate <= this.log.highWatermark) return false;
    return this.log.updateHighWatermark(candidate);
  }

  /** A follower learns the leader's high watermark from its fetch answers (never past its own log end). */
  updateFollowerHighWatermark(leaderHighWatermark: number): boolean {
    if (this.roleNow !== 'follower') return false;
    return this.log.updateHighWatermark(Math.min(leaderHighWatermark, this.log.logEndOffset));
  }

  /** NOT_LEADER_OR_FOLLOWER unless this broker leads at `leaderEpoch` (-1: any epoch). */
  checkLeader(leaderEpoch = -1): RillError | null {
    if (this.roleNow !== 'leader') return this.notLeader();
    if (leaderEpoch >= 0 && leaderEpoch < this.epoch) return rillError('FENCED_LEADER_EPOCH', `${this.name}: epoch ${leaderEpoch} is older than ${this.epoch}`, { topic: this.topic, partition: this.partition });
    if (leaderEpoch > this.epoch) return rillError('UNKNOWN_LEADER_EPOCH', `${this.name}: epoch ${leaderEpoch} is newer than ${this.epoch}`, { topic: this.topic, partition: this.partition });
    return null;
  }

  private get name(): string {
    return `${this.topic}-${this.partition}`;
  }

  private notLeader(): RillError {
    return rillError('NOT_LEADER_OR_FOLLOWER', `${this.name}: this broker is ${this.roleNow === 'follower' ? `a follower of ${this.leaderIdNow}` : this.roleNow}, not the leader`, {
      topic: this.topic,
      partition: this.partition,
    });
  }

  private checkTransition(to: ReplicaRole, epoch: number): void {
    const from = this.roleNow;
    if (!ALLOWED[from].includes(to)) throw new Error(`${this.name}: transition ${from} → ${to} is not allowed`);
    if (to === 'stopped') return;
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`${this.name}: leader epoch ${epoch} is not a non-negative integer`);
    if (epoch < this.epoch) throw new Error(`${this.name}: leader epoch ${epoch} is older than the current ${this.epoch}`);
    if (epoch === this.epoch && to === 'leader') throw new Error(`${this.name}: ${from} → leader needs an epoch newer than ${this.epoch}`);
  }
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
