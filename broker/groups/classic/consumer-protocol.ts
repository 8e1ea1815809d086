/**
 * Reads the "consumer" protocol type's member metadata and assignment bytes (Kafka's
 * ConsumerProtocolSubscription / ConsumerProtocolAssignment, non-flexible, big-endian), so
 * that rill's DescribeGroups can show a classic member's subscription and assignment the way
 * it shows a KIP-848 member's. The broker never needs them to run the protocol: they are
 * opaque to the coordinator and passed between members as sent.
 *
 *   Subscription: version:int16, topics:[int32 count][int16 len + utf8]...,
 *                 userData:int32 len (-1 = null) + bytes, then (v1+) owned partitions,
 *                 (v2+) generationId, (v3+) rackId — not read here.
 *   Assignment:   version:int16, [int32 count]{ topic:int16 len + utf8, [int32 count]int32 }...,
 *                 userData:int32 len + bytes — not read here.
 *
 * Anything malformed (another protocol type's bytes, truncation, absurd counts) gives null.
 */
import type { WireTopicPartitions } from '../assignment.js';

type TopicPartitionsWire = WireTopicPartitions[];

class Cursor {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  string(): string {
    const len = this.int16();
    if (len < 0 || this.pos + len > this.buf.length) throw new RangeError('bad string');
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** An array count, checked against the bytes left (each element takes >= `minBytes`). */
  count(minBytes: number): number {
    const n = this.int32();
    if (n < 0 || n * minBytes > this.buf.length - this.pos) throw new RangeError('bad count');
    return n;
  }
}

/** The topics a "consumer" protocol subscription names, or null if the bytes are not one. */
export function subscribedTopicsOf(metadata: Buffer): string[] | null {
  try {
    const c = new Cursor(metadata);
    if (c.int16() < 0) return null;
    const n = c.count(2);
    const topics: string[] = [];
    for (let i = 0; i < n; i++) topics.push(c.string());
    return topics;
  } catch {
    return null;
  }
}

/** The partitions a "consumer" protocol assignment holds, or null if the bytes are not one. */
export function assignedPartitionsOf(assignment: Buffer): TopicPartitionsWire | null {
  if (assignment.length === 0) return [];
  try {
    const c = new Cursor(assignment);
    if (c.int16() < 0) return null;
    const n = c.count(6);
    const out: TopicPartitionsWire = [];
    for (let i = 0; i < n; i++) {
      const topic = c.string();
      const k = c.count(4);
      const partitions: number[] = [];
      for (let j = 0; j < k; j++) partitions.push(c.int32());
      out.push({ topic, partitions });
    }
    return out;
  } catch {
    return null;
  }
}
