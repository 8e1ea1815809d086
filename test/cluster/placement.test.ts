import { describe, expect, it } from 'vitest';
import { placeReplicas, rackAlternatedBrokers, type PlacementBroker } from '../../broker/cluster/placement.js';
import { RillError } from '../../protocol/errors.js';

const ids = (n: number, rack?: (i: number) => string): PlacementBroker[] =>
  Array.from({ length: n }, (_, i) => ({ nodeId: i + 1, rack: rack === undefined ? null : rack(i) }));

function counts(replicas: number[][]): { leaders: Map<number, number>; held: Map<number, number> } {
  const leaders = new Map<number, number>();
  const held = new Map<number, number>();
  for (const r of replicas) {
    leaders.set(r[0]!, (leaders.get(r[0]!) ?? 0) + 1);
    for (const id of r) held.set(id, (held.get(id) ?? 0) + 1);
  }
  return { leaders, held };
}

describe('placeReplicas', () => {
  it('12 partitions RF 3 on 3 brokers: each broker leads 4 and holds 12, from any random start', () => {
    for (let start = 0; start < 3; start++) {
      for (let shift = 0; shift < 3; shift++) {
        const replicas = placeReplicas(ids(3), { numPartitions: 12, replicationFactor: 3, startIndex: start, replicaShift: shift });
        expect(replicas).toHaveLength(12);
        for (const r of replicas) expect(new Set(r).size).toBe(3);
        const { leaders, held } = counts(replicas);
        expect([...leaders.values()]).toEqual([4, 4, 4]);
        expect([...held.values()]).toEqual([12, 12, 12]);
      }
    }
  });

  it('spreads followers: on 5 brokers RF 2, each leader has more than one distinct follower', () => {
    const replicas = placeReplicas(ids(5), { numPartitions: 20, replicationFactor: 2, startIndex: 0, replicaShift: 0 });
    const followersOf = new Map<number, Set<number>>();
    for (const [leader, follower] of replicas) {
      const s = followersOf.get(leader!) ?? new Set();
      s.add(follower!);
      followersOf.set(leader!, s);
    }
    for (const s of followersOf.values()) expect(s.size).toBeGreaterThan(1);
    expect([...counts(replicas).held.values()]).toEqual([8, 8, 8, 8, 8]);
  });

  it('follows Kafka for a fixed start: 0,1,2 / 1,2,0 / 2,0,1 then shifted', () => {
    const replicas = placeReplicas([{ nodeId: 0, rack: null }, { nodeId: 1, rack: null }, { nodeId: 2, rack: null }], { numPartitions: 4, replicationFactor: 3, startIndex: 0, replicaShift: 0 });
    expect(replicas).toEqual([[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1]]);
  });

  it('rack-aware: every partition spans min(RF, racks) racks and leaders stay balanced', () => {
    const brokers = ids(6, (i) => `r${i % 3}`);
    expect(rackAlternatedBrokers(brokers).map((b) => b.rack)).toEqual(['r0', 'r1', 'r2', 'r0', 'r1', 'r2']);
    const rackOf = new Map(brokers.map((b) => [b.nodeId, b.rack]));
    for (let start = 0; start < 6; start++) {
      const replicas = placeReplicas(brokers, { numPartitions: 12, replicationFactor: 3, startIndex: start, replicaShift: start });
      for (const r of replicas) {
        expect(new Set(r).size).toBe(3);
        expect(new Set(r.map((id) => rackOf.get(id))).size).toBe(3);
      }
      expect([...counts(replicas).leaders.values()]).toEqual([2, 2, 2, 2, 2, 2]);
    }
    // Two racks, RF 3: both racks used, no broker twice.
    const two = ids(4, (i) => (i < 2 ? 'a' : 'b'));
    for (const r of placeReplicas(two, { numPartitions: 8, replicationFactor: 3 })) {
      expect(new Set(r).size).toBe(3);
      expect(new Set(r.map((id) => (id <= 2 ? 'a' : 'b'))).size).toBe(2);
    }
  });

  it('refuses RF above the broker count, RF or partitions below 1, and mixed rack information', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        return (err as RillError).errorName;
      }
      return undefined;
    };
    expect(code(() => placeReplicas(ids(2), { numPartitions: 3, replicationFactor: 3 }))).toBe('INVALID_REPLICATION_FACTOR');
    expect(code(() => placeReplicas(ids(2), { numPartitions: 3, replicationFactor: 0 }))).toBe('INVALID_REPLICATION_FACTOR');
    expect(code(() => placeReplicas(ids(2), { numPartitions: 0, replicationFactor: 1 }))).toBe('INVALID_PARTITIONS');
    expect(code(() => placeReplicas([{ nodeId: 1, rack: 'a' }, { nodeId: 2, rack: null }], { numPartitions: 1, replicationFactor: 1 }))).toBe('INVALID_CONFIG');
  });
});
