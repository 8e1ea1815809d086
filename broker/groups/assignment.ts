/**
 * A set of topic-partitions, as the group coordinator handles them: topic → partition numbers.
 * Used for members' assigned / pending-revocation / owned sets and for target assignments.
 * The wire form is `[{ topic, partitions }]` (protocol/apis/common.ts TopicPartitions), sorted
 * by topic then partition so responses and tests are deterministic.
 */

export type Assignment = Map<string, Set<number>>;

export interface WireTopicPartitions {
  topic: string;
  partitions: number[];
}

export function emptyAssignment(): Assignment {
  return new Map();
}

export function cloneAssignment(a: Assignment): Assignment {
  const out: Assignment = new Map();
  for (const [t, ps] of a) if (ps.size > 0) out.set(t, new Set(ps));
  return out;
}

export function hasPartition(a: Assignment, topic: string, partition: number): boolean {
  return a.get(topic)?.has(partition) ?? false;
}

export function addPartition(a: Assignment, topic: string, partition: number): void {
  let ps = a.get(topic);
  if (ps === undefined) {
    ps = new Set();
    a.set(topic, ps);
  }
  ps.add(partition);
}

export function removePartition(a: Assignment, topic: string, partition: number): boolean {
  const ps = a.get(topic);
  if (ps === undefined || !ps.delete(partition)) return false;
  if (ps.size === 0) a.delete(topic);
  return true;
}

export function assignmentSize(a: Assignment): number {
  let n = 0;
  for (const ps of a.values()) n += ps.size;
  return n;
}

export function isEmptyAssignment(a: Assignment): boolean {
  for (const ps of a.values()) if (ps.size > 0) return false;
  return true;
}

/** Every partition of `a`, sorted by topic then partition. */
export function* partitionsOf(a: Assignment): Generator<[string, number]> {
  for (const t of [...a.keys()].sort()) {
    for (const p of [...a.get(t)!].sort((x, y) => x - y)) yield [t, p];
  }
}

/** Partitions in `a` but not in `b`. */
export function minus(a: Assignment, b: Assignment): Assignment {
  const out: Assignment = new Map();
  for (const [t, ps] of a) {
    const other = b.get(t);
    for (const p of ps) if (other === undefined || !other.has(p)) addPartition(out, t, p);
  }
  return out;
}

/** Partitions in both `a` and `b`. */
export function intersect(a: Assignment, b: Assignment): Assignment {
  const out: Assignment = new Map();
  for (const [t, ps] of a) {
    const other = b.get(t);
    if (other === undefined) continue;
    for (const p of ps) if (other.has(p)) addPartition(out, t, p);
  }
  return out;
}

export function isSubset(a: Assignment, b: Assignment): boolean {
  for (const [t, ps] of a) {
    if (ps.size === 0) continue;
    const other = b.get(t);
    if (other === undefined) return false;
    for (const p of ps) if (!other.has(p)) return false;
  }
  return true;
}

export function assignmentsEqual(a: Assignment, b: Assignment): boolean {
  return assignmentSize(a) === assignmentSize(b) && isSubset(a, b);
}

export function toWire(a: Assignment): WireTopicPartitions[] {
  const out: WireTopicPartitions[] = [];
  for (const t of [...a.keys()].sort()) {
    const ps = a.get(t)!;
    if (ps.size > 0) out.push({ topic: t, partitions: [...ps].sort((x, y) => x - y) });
  }
  return out;
}

export function fromWire(wire: readonly WireTopicPartitions[]): Assignment {
  const out: Assignment = new Map();
  for (const { topic, partitions } of wire) for (const p of partitions) addPartition(out, topic, p);
  return out;
}

/** Compact text for log lines and assertion messages: "t1[0,1] t2[3]". */
export function formatAssignment(a: Assignment): string {
  return toWire(a)
    .map((tp) => `${tp.topic}[${tp.partitions.join(',')}]`)
    .join(' ');
}
