/**
 * Helpers for the group tests against a real broker: a member that heartbeats over a raw
 * connection and tracks what it owns (client side), and an ownership ledger that fails the
 * test the moment a partition is owned by two live members.
 */
import { pino } from 'pino';
import { startBroker, type BrokerHandle, type StartBrokerOptions } from '../../broker/index.js';
import { partitionsOf, fromWire, toWire, type Assignment } from '../../broker/groups/assignment.js';
import type { ConsumerGroupHeartbeatResponse } from '../../protocol/apis/consumer-group-heartbeat.js';
import { encodeBatch } from '../../protocol/record-batch.js';
import { RawClient } from '../helpers/raw-client.js';

export async function startTestBroker(dataDir: string, overrides: Partial<StartBrokerOptions> = {}): Promise<BrokerHandle> {
  return startBroker({
    dataDir,
    port: 0,
    logger: pino({ level: 'silent' }),
    'group.consumer.session.timeout.ms': 1500,
    'group.consumer.heartbeat.interval.ms': 300,
    'offsets.topic.num.partitions': 4,
    ...overrides,
  });
}

export async function connectClient(port: number, clientId: string): Promise<RawClient> {
  const client = await RawClient.connect(port);
  await client.request('ApiVersions', { clientId });
  return client;
}

export async function createTopic(client: RawClient, name: string, partitions: number): Promise<void> {
  const res = await client.request('CreateTopics', { topics: [{ name, numPartitions: partitions, replicationFactor: -1, configs: {} }], timeoutMs: 10_000, validateOnly: false });
  if (res.topics[0]!.errorCode !== 0) throw new Error(`CreateTopics ${name}: ${res.topics[0]!.errorCode} ${res.topics[0]!.errorMessage}`);
}

export async function produce(client: RawClient, topic: string, partition: number, count: number): Promise<void> {
  const records = encodeBatch(Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
  const res = await client.request('Produce', { acks: -1, timeoutMs: 10_000, topics: [{ name: topic, partitions: [{ partition, records }] }] });
  const p = res.topics[0]!.partitions[0]!;
  if (p.errorCode !== 0) throw new Error(`Produce ${topic}-${partition}: ${p.errorCode} ${p.errorMessage}`);
}

/** Client-side ownership of partitions by live members; throws on any double ownership. */
export class OwnershipLedger {
  private readonly owner = new Map<string, string>();
  /** Every (time, partition, member, 'take' | 'give') event, for failure messages. */
  readonly history: string[] = [];

  take(member: string, topic: string, partition: number): void {
    const key = `${topic}-${partition}`;
    const current = this.owner.get(key);
    if (current !== undefined && current !== member) {
      throw new Error(`${key} taken by ${member} while ${current} still owns it\n${this.history.slice(-20).join('\n')}`);
    }
    this.owner.set(key, member);
    this.history.push(`${Date.now()} ${member} takes ${key}`);
  }

  give(member: string, topic: string, partition: number): void {
    const key = `${topic}-${partition}`;
    if (this.owner.get(key) === member) this.owner.delete(key);
    this.history.push(`${Date.now()} ${member} gives ${key}`);
  }

  ownerOf(topic: string, partition: number): string | undefined {
    return this.owner.get(`${topic}-${partition}`);
  }
}

export class WireMember {
  memberId = '';
  epoch = 0;
  owned: Assignment = new Map();
  /** Partitions the coordinator took away that this member has not let go of yet. */
  readonly toRevoke: Assignment = new Map();
  /** Let go of revoked partitions before the next heartbeat (else `releaseRevoked()` does). */
  autoRelease = true;
  last: ConsumerGroupHeartbeatResponse | null = null;

  constructor(
    readonly name: string,
    readonly client: RawClient,
    readonly ledger: OwnershipLedger,
    readonly topics: string[],
    readonly groupId = 'g',
  ) {}

  async heartbeat(): Promise<ConsumerGroupHeartbeatResponse> {
    if (this.autoRelease) this.releaseRevoked();
    const joining = this.epoch === 0;
    const res = await this.client.request('ConsumerGroupHeartbeat', {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      rebalanceTimeoutMs: -1,
      sessionTimeoutMs: -1,
      subscribedTopicNames: joining ? this.topics : null,
      subscribedTopicRegex: null,
      ownedPartitions: toWire(this.owned),
    });
    this.last = res;
    if (res.errorCode !== 0) throw new Error(`${this.name} heartbeat: error ${res.errorCode} ${res.errorMessage}`);
    this.memberId = res.memberId;
    this.epoch = res.memberEpoch;
    if (res.assignment !== null) {
      const assigned = fromWire(res.assignment.topicPartitions);
      for (const [t, p] of partitionsOf(this.owned)) {
        if (!assigned.get(t)?.has(p)) {
          let ps = this.toRevoke.get(t);
          if (ps === undefined) this.toRevoke.set(t, (ps = new Set()));
          ps.add(p);
        }
      }
      for (const [t, p] of partitionsOf(assigned)) {
        if (this.owned.get(t)?.has(p)) continue;
        this.ledger.take(this.name, t, p);
        let ps = this.owned.get(t);
        if (ps === undefined) this.owned.set(t, (ps = new Set()));
        ps.add(p);
      }
    }
    return res;
  }

  /** Finishes revoking: the partitions are no longer owned (reported in the next heartbeat). */
  releaseRevoked(): void {
    for (const [t, p] of partitionsOf(this.toRevoke)) {
      this.owned.get(t)?.delete(p);
      if (this.owned.get(t)?.size === 0) this.owned.delete(t);
      this.ledger.give(this.name, t, p);
    }
    this.toRevoke.clear();
  }

  /** Drops everything without telling the coordinator (a crashed or expelled member). */
  die(): void {
    for (const [t, p] of partitionsOf(this.owned)) this.ledger.give(this.name, t, p);
    this.owned.clear();
    this.toRevoke.clear();
  }

  async leave(): Promise<void> {
    const res = await this.client.request('ConsumerGroupHeartbeat', {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: -1,
      rebalanceTimeoutMs: -1,
      sessionTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      ownedPartitions: null,
    });
    if (res.errorCode !== 0) throw new Error(`${this.name} leave: error ${res.errorCode}`);
    this.die();
  }

  count(): number {
    let n = 0;
    for (const ps of this.owned.values()) n += ps.size;
    return n;
  }
}

/** Heartbeats all members in rounds until `done()` or the round limit. */
export async function heartbeatUntil(members: WireMember[], done: () => boolean, maxRounds = 20): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    for (const m of members) await m.heartbeat();
    if (done()) return;
  }
  throw new Error(`not done after ${maxRounds} heartbeat rounds: ${members.map((m) => `${m.name}=${m.count()}`).join(' ')}`);
}
