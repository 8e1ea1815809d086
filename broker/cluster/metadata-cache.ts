/**
 * The broker-side cluster metadata cache: brokers, controller, topics and partition states as
 * last read from etcd, plus this broker's role for each of its replicas. Fed key by key
 * (metadata-view.ts does the I/O); `applyPut` / `applyDelete` report which partitions they
 * touched, and `localRoleOf` computes what this broker must be for one of them:
 *
 * - leader: the state names it AND was written after its current registration (a leadership
 *   older than the registration belongs to an earlier life and waits for the controller);
 * - follower of the state's leader (NO_LEADER when none can lead, or when the leadership is stale);
 * - none: not a replica, or the partition is gone.
 */
import type { IKeyValue } from 'etcd3';
import { parseKey } from './keys.js';
import { NO_LEADER, Records, type BrokerRegistration, type ControllerRecord, type PartitionState, type TopicRecord } from './schemas.js';
import { decodeRecord, type Versioned } from './store.js';

export type LocalRole =
  | { role: 'leader'; leaderEpoch: number }
  | { role: 'follower'; leader: number; leaderEpoch: number }
  | { role: 'none' };

export function partitionId(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export class ClusterMetadataCache {
  readonly brokers = new Map<number, Versioned<BrokerRegistration>>();
  readonly topics = new Map<string, Versioned<TopicRecord>>();
  readonly partitions = new Map<string, Versioned<PartitionState>>();
  controller: Versioned<ControllerRecord> | null = null;
  /** The etcd revision the cache reflects. */
  revision = 0;

  /** Applies one key; returns the partitions whose state or replicas it touched. Throws on an invalid value. */
  applyPut(kv: IKeyValue): Array<[string, number]> {
    const parsed = parseKey(kv.key.toString());
    this.revision = Math.max(this.revision, Number(kv.mod_revision));
    switch (parsed?.kind) {
      case 'broker':
        this.brokers.set(parsed.nodeId, decodeRecord(kv, Records.broker));
        return [];
      case 'controller':
        this.controller = decodeRecord(kv, Records.controller);
        return [];
      case 'topic': {
        this.topics.set(parsed.topic, decodeRecord(kv, Records.topic));
        return this.partitionsOf(parsed.topic);
      }
      case 'partition':
        this.partitions.set(partitionId(parsed.topic, parsed.partition), decodeRecord(kv, Records.partition));
        return [[parsed.topic, parsed.partition]];
      default:
        return [];
    }
  }

  applyDelete(key: string, revision: number): Array<[string, number]> {
    const parsed = parseKey(key);
    this.revision = Math.max(this.revision, revision);
    switch (parsed?.kind) {
      case 'broker':
        this.brokers.delete(parsed.nodeId);
        return [];
      case 'controller':
        this.controller = null;
        return [];
      case 'topic': {
        const touched = this.partitionsOf(parsed.topic);
        this.topics.delete(parsed.topic);
        return touched;
      }
      case 'partition':
        this.partitions.delete(partitionId(parsed.topic, parsed.partition));
        return [[parsed.topic, parsed.partition]];
      default:
        return [];
    }
  }

  /** Every partition the cache knows of, by topic record or by state key. */
  allPartitions(): Array<[string, number]> {
    const out = new Map<string, [string, number]>();
    for (const topic of this.topics.keys()) for (const tp of this.partitionsOf(topic)) out.set(partitionId(...tp), tp);
    for (const [id, state] of this.partitions) {
      const parsed = parseKey(state.key);
      if (parsed?.kind === 'partition') out.set(id, [parsed.topic, parsed.partition]);
    }
    return [...out.values()];
  }

  private partitionsOf(topic: string): Array<[string, number]> {
    const record = this.topics.get(topic);
    return record === undefined ? [] : record.value.replicas.map((_, p) => [topic, p] as [string, number]);
  }

  replicasOf(topic: string, partition: number): readonly number[] | undefined {
    return this.topics.get(topic)?.value.replicas[partition];
  }

  partitionState(topic: string, partition: number): Versioned<PartitionState> | undefined {
    return this.partitions.get(partitionId(topic, partition));
  }

  /** What `nodeId` (registered at `brokerEpoch`, null while its lease is not alive) must be for this partition. */
  localRoleOf(topic: string, partition: number, nodeId: number, brokerEpoch: number | null): LocalRole {
    const replicas = this.replicasOf(topic, partition);
    const state = this.partitionState(topic, partition);
    if (replicas === undefined || state === undefined || !replicas.includes(nodeId)) return { role: 'none' };
    const { leader, leaderEpoch } = state.value;
    if (leader === nodeId) {
      return brokerEpoch !== null && state.modRevision > brokerEpoch ? { role: 'leader', leaderEpoch } : { role: 'follower', leader: NO_LEADER, leaderEpoch };
    }
    return { role: 'follower', leader, leaderEpoch };
  }
}
