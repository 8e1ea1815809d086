/**
 * The default partitioner, as the Java client has it:
 * - keyed records: `(murmur2(key) & 0x7fffffff) % partitionCount` (protocol/murmur2.ts), so a
 *   key lands where a Java, librdkafka or KafkaJS producer would put it;
 * - null keys: "sticky" (KIP-480) — every null-key record of a topic goes to one partition
 *   until that partition's batch is closed (sent), then a different partition is picked at
 *   random. Batches fill up instead of spreading one record per partition per linger.
 */
import { partitionForKey } from '../../protocol/murmur2.js';

export class DefaultPartitioner {
  /** topic -> the partition null-key records currently stick to. */
  private readonly sticky = new Map<string, number>();
  private readonly random: () => number;
  /** The last topic asked about and its sticky partition: skips the Map lookup per record. */
  private lastTopic: string | null = null;
  private lastPartition = -1;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  partition(topic: string, key: Buffer | null, partitionCount: number): number {
    if (key !== null) return partitionForKey(key, partitionCount);
    if (topic === this.lastTopic && this.lastPartition < partitionCount) return this.lastPartition;
    let p = this.sticky.get(topic);
    if (p === undefined || p >= partitionCount) {
      p = Math.floor(this.random() * partitionCount);
      this.sticky.set(topic, p);
    }
    this.lastTopic = topic;
    this.lastPartition = p;
    return p;
  }

  /**
   * The accumulator closed `partition`'s batch (it is being sent): if null-key records were
   * sticking to it, move them to another partition for the next batch.
   */
  batchClosed(topic: string, partition: number, partitionCount: number): void {
    if (this.sticky.get(topic) !== partition) return;
    if (partitionCount <= 1) return;
    // Uniform over the other partitions.
    let next = Math.floor(this.random() * (partitionCount - 1));
    if (next >= partition) next++;
    this.sticky.set(topic, next);
    if (this.lastTopic === topic) this.lastPartition = next;
  }
}
