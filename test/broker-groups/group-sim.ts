/**
 * Simulated group members for the state-machine tests: each behaves like a well-behaved
 * client (takes what the coordinator grants, gives up what it drops, possibly a few
 * heartbeats later, and reports what it owns), and `SimGroup` checks after every step that no
 * partition is owned by two live simulated members from the clients' point of view.
 */
import { expect } from 'vitest';
import { pino } from 'pino';
import { partitionsOf, fromWire, toWire, assignmentsEqual, cloneAssignment, type Assignment } from '../../broker/groups/assignment.js';
import { ConsumerGroup, DEFAULT_GROUP_CONFIG, type GroupConfig, type TopicMetadataSource } from '../../broker/groups/group.js';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../protocol/apis/consumer-group-heartbeat.js';
import { RillError } from '../../protocol/errors.js';

export class FakeMetadata implements TopicMetadataSource {
  readonly counts = new Map<string, number>();
  constructor(topics: Record<string, number>) {
    for (const [t, n] of Object.entries(topics)) this.counts.set(t, n);
  }
  partitionCount(topic: string): number | undefined {
    return this.counts.get(topic);
  }
  topicNames(): Iterable<string> {
    return this.counts.keys();
  }
}

export const silentLogger = pino({ level: 'silent' });

export function makeGroup(metadata: TopicMetadataSource, config: Partial<GroupConfig> = {}): ConsumerGroup {
  return new ConsumerGroup('g', { config: { ...DEFAULT_GROUP_CONFIG, ...config }, metadata, logger: silentLogger, debugChecks: true });
}

export function heartbeatRequest(fields: Partial<ConsumerGroupHeartbeatRequest>): ConsumerGroupHeartbeatRequest {
  return {
    groupId: 'g',
    memberId: '',
    memberEpoch: 0,
    rebalanceTimeoutMs: -1,
    sessionTimeoutMs: -1,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    ownedPartitions: null,
    ...fields,
  };
}

export function errorNameOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof RillError) return err.errorName;
    throw err;
  }
}

export class SimMember {
  memberId = '';
  epoch = 0;
  owned: Assignment = new Map();
  alive = true;
  /** Partitions being revoked, each with the heartbeats left before the member lets go. */
  private revoking = new Map<string, { topic: string; partition: number; heartbeatsLeft: number }>();
  private lastReported: Assignment | null = null;
  /** Every partition this member lost while it was still in its target (must stay empty). */
  readonly lostWhileTargeted: string[] = [];

  constructor(
    readonly name: string,
    public topics: string[],
    /** Heartbeats a revocation takes (0 = given up before the next heartbeat). */
    public revokeDelay = 0,
    /** Send ownedPartitions only when it changed (null otherwise), as the protocol allows. */
    public sendOwnedOnlyOnChange = false,
  ) {}

  request(subscriptionChanged = false): ConsumerGroupHeartbeatRequest {
    const joining = this.epoch === 0;
    const changed = this.lastReported === null || !assignmentsEqual(this.lastReported, this.owned);
    const owned = joining || changed || !this.sendOwnedOnlyOnChange ? toWire(this.owned) : null;
    if (owned !== null) this.lastReported = cloneAssignment(this.owned);
    return heartbeatRequest({
      memberId: this.memberId,
      memberEpoch: this.epoch,
      subscribedTopicNames: joining || subscriptionChanged ? this.topics : null,
      ownedPartitions: owned,
    });
  }

  /** Applies a heartbeat response the way a client does. */
  apply(res: ConsumerGroupHeartbeatResponse, group: ConsumerGroup): void {
    if (res.errorCode !== 0) throw new Error(`heartbeat of ${this.name} failed: ${res.errorCode} ${res.errorMessage}`);
    this.memberId = res.memberId;
    this.epoch = res.memberEpoch;
    // Revocations in progress advance by one heartbeat.
    for (const [key, r] of this.revoking) {
      if (r.heartbeatsLeft-- <= 0) {
        this.owned.get(r.topic)?.delete(r.partition);
        if (this.owned.get(r.topic)?.size === 0) this.owned.delete(r.topic);
        this.revoking.delete(key);
      }
    }
    if (res.assignment === null) return;
    const assigned = fromWire(res.assignment.topicPartitions);
    const target = group.targetOf(this.memberId);
    for (const [t, p] of partitionsOf(this.owned)) {
      if (assigned.get(t)?.has(p)) continue;
      const key = `${t}-${p}`;
      if (target.get(t)?.has(p)) this.lostWhileTargeted.push(key);
      if (this.revokeDelay === 0) {
        this.owned.get(t)!.delete(p);
        if (this.owned.get(t)!.size === 0) this.owned.delete(t);
      } else if (!this.revoking.has(key)) {
        this.revoking.set(key, { topic: t, partition: p, heartbeatsLeft: this.revokeDelay });
      }
    }
    for (const [t, p] of partitionsOf(assigned)) {
      let ps = this.owned.get(t);
      if (ps === undefined) this.owned.set(t, (ps = new Set()));
      ps.add(p);
      this.revoking.delete(`${t}-${p}`);
    }
  }
}

export class SimGroup {
  readonly members: SimMember[] = [];
  constructor(readonly group: ConsumerGroup) {}

  live(): SimMember[] {
    return this.members.filter((m) => m.alive);
  }

  heartbeat(m: SimMember, subscriptionChanged = false): ConsumerGroupHeartbeatResponse {
    const res = this.group.heartbeat(m.request(subscriptionChanged), { clientId: m.name, clientHost: '127.0.0.1' });
    m.apply(res, this.group);
    this.checkNoDoubleOwnership();
    return res;
  }

  join(m: SimMember): SimMember {
    this.members.push(m);
    this.heartbeat(m);
    return m;
  }

  leave(m: SimMember): void {
    const res = this.group.heartbeat(heartbeatRequest({ memberId: m.memberId, memberEpoch: -1 }), { clientId: m.name, clientHost: '127.0.0.1' });
    expect(res.errorCode).toBe(0);
    m.alive = false;
    m.owned = new Map();
  }

  /** Members the coordinator expelled are dead from now on (their client lost its session). */
  reapExpelled(): void {
    for (const m of this.live()) {
      if (m.memberId !== '' && !this.group.members.has(m.memberId)) {
        m.alive = false;
        m.owned = new Map();
      }
    }
  }

  checkNoDoubleOwnership(): void {
    const seen = new Map<string, string>();
    for (const m of this.live()) {
      for (const [t, p] of partitionsOf(m.owned)) {
        const key = `${t}-${p}`;
        // A plain check, not expect(): this runs after every simulated heartbeat.
        if (seen.has(key)) throw new Error(`${key} owned by both ${seen.get(key)} and ${m.name}`);
        seen.set(key, m.name);
      }
    }
    this.group.assertInvariants();
  }

  /** Heartbeats every live member until the group is stable (bounded rounds). */
  converge(maxRounds = 20): void {
    for (let round = 0; round < maxRounds; round++) {
      for (const m of this.live()) this.heartbeat(m);
      if (this.group.state === 'stable') {
        // One more round so every member has applied the final assignment.
        for (const m of this.live()) this.heartbeat(m);
        return;
      }
    }
    throw new Error(`group did not converge in ${maxRounds} rounds (state ${this.group.state})`);
  }
}
