/**
 * One member of a consumer group, as the coordinator sees it (KIP-848).
 *
 * Partition sets, all disjoint from every other live member's `assigned ∪ pendingRevocation`:
 *  - `assigned`: partitions the coordinator has granted the member and not taken back;
 *  - `pendingRevocation`: partitions taken back that the member still reported owning at its
 *    last heartbeat; they stay the member's until a heartbeat no longer reports them (or the
 *    member leaves or is expelled), and only then can another member be granted them;
 *  - `reportedOwned`: what the member said it owns in its last heartbeat that carried
 *    `ownedPartitions` (a joining member owns nothing).
 *
 * Timers (unref'd, so they never hold the process open): the session timer, reset on every
 * heartbeat, expels a silent member; the revocation timer (the member's rebalance timeout)
 * expels a member that keeps heartbeating but never finishes revoking.
 */
import { cloneAssignment, emptyAssignment, type Assignment } from './assignment.js';

export class GroupMember {
  readonly memberId: string;
  memberEpoch = 0;
  /** The epoch before the last advance; heartbeats carrying it are tolerated (lost response). */
  previousMemberEpoch = -1;
  clientId = '';
  clientHost = '';
  subscribedTopicNames: string[] = [];
  subscribedTopicRegex: string | null = null;
  /** Compiled `^(?:regex)$`, or null without a regex subscription. */
  topicRegex: RegExp | null = null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  assigned: Assignment = emptyAssignment();
  pendingRevocation: Assignment = emptyAssignment();
  reportedOwned: Assignment = emptyAssignment();
  /** The assignment last sent in a response, to send it again only when it changed. */
  lastSentAssignment: Assignment | null = null;

  private sessionTimer: NodeJS.Timeout | null = null;
  /** The timeout the running session timer was armed with, to re-arm it when it changes. */
  private sessionTimerMs = -1;
  private revocationTimer: NodeJS.Timeout | null = null;

  constructor(memberId: string, sessionTimeoutMs: number, rebalanceTimeoutMs: number) {
    this.memberId = memberId;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.rebalanceTimeoutMs = rebalanceTimeoutMs;
  }

  /** Starts or restarts the session timer (called on every accepted heartbeat). */
  touchSession(onExpired: () => void): void {
    if (this.sessionTimer !== null && this.sessionTimerMs === this.sessionTimeoutMs) {
      this.sessionTimer.refresh();
      return;
    }
    if (this.sessionTimer !== null) clearTimeout(this.sessionTimer);
    this.sessionTimerMs = this.sessionTimeoutMs;
    this.sessionTimer = setTimeout(onExpired, this.sessionTimeoutMs);
    this.sessionTimer.unref();
  }

  /** Starts the revocation deadline unless one is already running. */
  startRevocationDeadline(onExpired: () => void): void {
    if (this.revocationTimer !== null) return;
    this.revocationTimer = setTimeout(onExpired, this.rebalanceTimeoutMs);
    this.revocationTimer.unref();
  }

  clearRevocationDeadline(): void {
    if (this.revocationTimer !== null) clearTimeout(this.revocationTimer);
    this.revocationTimer = null;
  }

  /** Stops every timer: the member is gone. */
  dispose(): void {
    if (this.sessionTimer !== null) clearTimeout(this.sessionTimer);
    this.sessionTimer = null;
    this.clearRevocationDeadline();
  }

  /** What the member holds in the coordinator's view: assigned plus pending revocation. */
  owned(): Assignment {
    const out = cloneAssignment(this.assigned);
    for (const [t, ps] of this.pendingRevocation) {
      let set = out.get(t);
      if (set === undefined) out.set(t, (set = new Set()));
      for (const p of ps) set.add(p);
    }
    return out;
  }
}
