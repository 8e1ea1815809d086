/**
 * Producer id allocation for InitProducerId. Ids come from a counter whose high-water mark
 * (`producerIdBlockEnd` in meta.json) is raised a block at a time, durably, before any id of
 * the block is handed out: after a crash or restart the counter resumes at the persisted end,
 * skipping the unused rest of the last block, so no id is ever given to two producers.
 *
 * In a cluster the blocks come from etcd instead (`ClusterBlockSource`, taken by
 * compare-and-swap: broker/cluster/producer-id-blocks.ts), so ids are unique across brokers; an
 * existing id presented to InitProducerId may then come from any broker, so it is not checked
 * against this broker's blocks.
 */
import { rillError } from '../protocol/errors.js';
import type { BrokerMetadataStore } from './broker-metadata.js';

/** Kafka's producer epochs are int16; an exhausted epoch gets a fresh id instead. */
export const MAX_PRODUCER_EPOCH = 32767;

export interface ProducerIdAndEpoch {
  producerId: number;
  producerEpoch: number;
}

/** The cluster's producer-id blocks (ClusterHandle.nextProducerIdBlock). */
export interface ClusterBlockSource {
  nextProducerIdBlock(): Promise<{ firstProducerId: number; endProducerId: number }>;
}

export class ProducerIdAllocator {
  private next: number;
  private blockEnd: number;
  private cluster: ClusterBlockSource | null = null;
  /** The in-progress reservation of the next block, shared by every waiting allocation. */
  private reserving: Promise<void> | null = null;

  constructor(
    private readonly store: BrokerMetadataStore,
    private readonly blockSize: number,
  ) {
    this.next = store.metadata.producerIdBlockEnd;
    this.blockEnd = store.metadata.producerIdBlockEnd;
  }

  /** Takes blocks from the cluster from now on (a broker started with etcd.endpoints). */
  useCluster(cluster: ClusterBlockSource): void {
    this.cluster = cluster;
    this.next = 0;
    this.blockEnd = 0;
  }

  /** A producer id never handed out before, on this broker or any earlier run of it. */
  async allocate(): Promise<number> {
    while (this.next >= this.blockEnd) {
      if (this.reserving === null && this.cluster !== null) {
        this.reserving = this.cluster.nextProducerIdBlock().then(
          (block) => {
            this.next = block.firstProducerId;
            this.blockEnd = block.endProducerId;
            this.reserving = null;
          },
          (err: unknown) => {
            this.reserving = null;
            throw err;
          },
        );
      } else if (this.reserving === null) {
        const end = this.blockEnd + this.blockSize;
        if (!Number.isSafeInteger(end)) throw rillError('UNKNOWN_SERVER_ERROR', 'producer id space exhausted');
        this.reserving = this.store.update({ producerIdBlockEnd: end }).then(
          () => {
            this.blockEnd = end;
            this.reserving = null;
          },
          (err: unknown) => {
            this.reserving = null;
            throw err;
          },
        );
      }
      await this.reserving;
    }
    return this.next++;
  }

  /**
   * InitProducerId: a new id with epoch 0, or, for a producer that passes its current id and
   * epoch, the same id with the next epoch (a fresh id once the epoch would overflow).
   */
  async initProducerId(producerId: number, producerEpoch: number): Promise<ProducerIdAndEpoch> {
    if (producerId === -1) return { producerId: await this.allocate(), producerEpoch: 0 };
    if (producerId < 0 || (this.cluster === null && producerId >= this.blockEnd)) {
      throw rillError('UNKNOWN_PRODUCER_ID', `producer id ${producerId} was never allocated by this broker`);
    }
    if (producerEpoch < 0) throw rillError('INVALID_PRODUCER_EPOCH', `producer epoch ${producerEpoch} is invalid for an existing producer id`);
    if (producerEpoch >= MAX_PRODUCER_EPOCH) return { producerId: await this.allocate(), producerEpoch: 0 };
    return { producerId, producerEpoch: producerEpoch + 1 };
  }
}
