/**
 * Replica placement for new topics, as Kafka's AdminUtils.assignReplicasToBrokers places them
 * (pure functions; the controller passes the live brokers and a random source):
 *
 * - Rack-unaware: brokers sorted by id; partition p's first replica is broker
 *   (p + start) mod n, and the others follow it at a shift that grows by one every n
 *   partitions, so followers of one leader spread over the other brokers instead of always
 *   being its neighbours. Leaders and replicas come out balanced whenever n divides the
 *   partition count.
 * - Rack-aware (every broker has a rack): the same walk over a list that alternates racks
 *   (r1-b, r2-b, r3-b, r1-b, ...), taking a broker only if its rack holds no replica of the
 *   partition yet (until every rack does) and it holds none itself (until every broker does).
 *
 * The first replica is the preferred leader. `start` and `shift` are random per topic (given
 * explicitly in tests) so that many small topics do not all lead on the lowest broker id.
 */
import { rillError } from '../../protocol/errors.js';

export interface PlacementBroker {
  nodeId: number;
  rack: string | null;
}

export interface PlacementOptions {
  numPartitions: number;
  replicationFactor: number;
  /** Index of the first partition's leader in the (arranged) broker list; random when absent. */
  startIndex?: number;
  /** Initial replica shift; random when absent. */
  replicaShift?: number;
  /** Partition number the walk starts from (adding partitions to an existing topic). */
  firstPartition?: number;
  random?: () => number;
}

/** replicas[p] = node ids of partition p's replicas, preferred leader first. */
export function placeReplicas(brokers: readonly PlacementBroker[], options: PlacementOptions): number[][] {
  const { numPartitions, replicationFactor } = options;
  if (!Number.isInteger(numPartitions) || numPartitions < 1) throw rillError('INVALID_PARTITIONS', `Number of partitions must be at least 1, got ${numPartitions}`);
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw rillError('INVALID_REPLICATION_FACTOR', `Replication factor must be at least 1, got ${replicationFactor}`);
  }
  if (replicationFactor > brokers.length) {
    throw rillError('INVALID_REPLICATION_FACTOR', `Replication factor ${replicationFactor} is larger than the ${brokers.length} available broker(s)`);
  }
  if (new Set(brokers.map((b) => b.nodeId)).size !== brokers.length) throw rillError('INVALID_REQUEST', 'placement: duplicate broker ids');
  const withRack = brokers.filter((b) => b.rack !== null).length;
  if (withRack > 0 && withRack < brokers.length) {
    throw rillError('INVALID_CONFIG', 'Not all brokers have rack information (broker.rack): set it on every broker or on none');
  }
  const random = options.random ?? Math.random;
  const n = brokers.length;
  const startIndex = options.startIndex ?? Math.floor(random() * n);
  const shift = options.replicaShift ?? Math.floor(random() * n);
  const first = options.firstPartition ?? 0;
  return withRack === 0
    ? placeRackUnaware([...brokers].map((b) => b.nodeId).sort((a, b) => a - b), numPartitions, replicationFactor, startIndex, shift, first)
    : placeRackAware(brokers, numPartitions, replicationFactor, startIndex, shift, first);
}

/** Index of the j-th follower of the replica at `firstIndex`: never `firstIndex` itself. */
function followerIndex(firstIndex: number, shift: number, j: number, n: number): number {
  return (firstIndex + 1 + ((shift + j) % (n - 1))) % n;
}

function placeRackUnaware(ids: number[], partitions: number, rf: number, startIndex: number, initialShift: number, first: number): number[][] {
  const n = ids.length;
  const out: number[][] = [];
  let shift = initialShift;
  for (let p = first; p < first + partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const firstIndex = (p + startIndex) % n;
    const replicas = [ids[firstIndex]!];
    for (let j = 0; j < rf - 1; j++) replicas.push(ids[followerIndex(firstIndex, shift, j, n)]!);
    out.push(replicas);
  }
  return out;
}

/** Brokers ordered r1, r2, r3, r1, r2, ... (racks and brokers within a rack sorted). */
export function rackAlternatedBrokers(brokers: readonly PlacementBroker[]): PlacementBroker[] {
  const byRack = new Map<string, PlacementBroker[]>();
  for (const b of brokers) {
    const list = byRack.get(b.rack!) ?? [];
    list.push(b);
    byRack.set(b.rack!, list);
  }
  const racks = [...byRack.keys()].sort();
  for (const list of byRack.values()) list.sort((a, b) => a.nodeId - b.nodeId);
  const out: PlacementBroker[] = [];
  for (let round = 0; out.length < brokers.length; round++) {
    for (const rack of racks) {
      const b = byRack.get(rack)![round];
      if (b !== undefined) out.push(b);
    }
  }
  return out;
}

function placeRackAware(brokers: readonly PlacementBroker[], partitions: number, rf: number, startIndex: number, initialShift: number, first: number): number[][] {
  const arranged = rackAlternatedBrokers(brokers);
  const n = arranged.length;
  const numRacks = new Set(arranged.map((b) => b.rack)).size;
  const out: number[][] = [];
  let shift = initialShift;
  for (let p = first; p < first + partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const firstIndex = (p + startIndex) % n;
    const leader = arranged[firstIndex]!;
    const replicas = [leader.nodeId];
    const racksUsed = new Set([leader.rack]);
    const brokersUsed = new Set([leader.nodeId]);
    // Each follower is found within n - 1 steps of the walk, so k stays bounded by rf * n.
    let k = 0;
    for (let j = 0; j < rf - 1; j++) {
      for (;;) {
        const b = arranged[followerIndex(firstIndex, shift * numRacks, k, n)]!;
        k++;
        const rackOk = !racksUsed.has(b.rack) || racksUsed.size === numRacks;
        const brokerOk = !brokersUsed.has(b.nodeId) || brokersUsed.size === n;
        if (rackOk && brokerOk) {
          replicas.push(b.nodeId);
          racksUsed.add(b.rack);
          brokersUsed.add(b.nodeId);
          break;
        }
      }
    }
    out.push(replicas);
  }
  return out;
}
