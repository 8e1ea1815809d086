/**
 * One member of a classic group (Kafka's JoinGroup/SyncGroup protocol), as Kafka 3.x's
 * GroupCoordinator keeps it: the protocols it offered (name + opaque metadata, in its order of
 * preference), the assignment the leader gave it, and at most one parked JoinGroup and one
 * parked SyncGroup waiting for the rebalance to move on.
 *
 * The session timer (unref'd) expels a silent member. It is paused while the member has a
 * parked join or sync: those are bounded by the group's rebalance and sync deadlines instead,
 * as Kafka keeps members awaiting a response alive.
 */

export interface ClassicProtocol {
  name: string;
  metadata: Buffer;
}

/** What a parked or immediate JoinGroup gets (Kafka's JoinGroupResponse fields). */
export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Only the leader gets the members (with their metadata for the chosen protocol). */
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export const EMPTY_BYTES = Buffer.alloc(0);

export class ClassicMember {
  readonly memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: ClassicProtocol[];
  assignment: Buffer = EMPTY_BYTES;
  awaitingJoin: ((r: JoinResult) => void) | null = null;
  awaitingSync: ((r: SyncResult) => void) | null = null;

  private sessionTimer: NodeJS.Timeout | null = null;

  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    protocols: ClassicProtocol[];
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.protocols = init.protocols;
  }

  /** (Re)starts the session timer, unless a parked request keeps the member alive. */
  touchSession(onExpired: () => void): void {
    this.stopSession();
    if (this.awaitingJoin !== null || this.awaitingSync !== null) return;
    this.sessionTimer = setTimeout(onExpired, this.sessionTimeoutMs);
    this.sessionTimer.unref();
  }

  stopSession(): void {
    if (this.sessionTimer !== null) clearTimeout(this.sessionTimer);
    this.sessionTimer = null;
  }

  /** The metadata it offered for `protocolName` (empty if it offered none by that name). */
  metadataFor(protocolName: string | null): Buffer {
    return this.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY_BYTES;
  }

  /** Its most preferred protocol among `candidates` (Kafka's MemberMetadata.vote). */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }

  /** True when `protocols` is what it offered last time, same order and bytes. */
  matches(protocols: readonly ClassicProtocol[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata))
    );
  }

  /** Answers a parked join, if any. */
  answerJoin(result: JoinResult): void {
    const cb = this.awaitingJoin;
    this.awaitingJoin = null;
    cb?.(result);
  }

  /** Answers a parked sync, if any. */
  answerSync(result: SyncResult): void {
    const cb = this.awaitingSync;
    this.awaitingSync = null;
    cb?.(result);
  }
}
