/**
 * Producer-id blocks shared by every broker of the cluster: `producer-id-block` holds the next
 * free id, and a broker takes a block by compare-and-swap on the key's mod revision (ZooKeeper-era
 * Kafka's /latest_producer_id_block, with etcd's txn in place of a conditional setData). A lost
 * swap means another broker took a block first: re-read and try the next one. Blocks never
 * overlap, so producer ids stay unique across brokers and restarts.
 */
import { rillError } from '../../protocol/errors.js';
import { PRODUCER_ID_BLOCK_KEY } from './keys.js';
import { Records } from './schemas.js';
import { encodeRecord, type ClusterStore } from './store.js';

export interface ProducerIdBlock {
  /** First id of the block. */
  readonly firstProducerId: number;
  /** One past the last id of the block. */
  readonly endProducerId: number;
}

/** Swaps lost in a row before giving up (each loss means another broker made progress). */
const MAX_ATTEMPTS = 100;

export class ProducerIdBlockAllocator {
  constructor(
    private readonly store: ClusterStore,
    private readonly blockSize: number,
  ) {
    if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw rillError('INVALID_CONFIG', `producer.id.block.size: expected a positive integer, got ${blockSize}`);
  }

  async nextBlock(): Promise<ProducerIdBlock> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.store.get(PRODUCER_ID_BLOCK_KEY, Records.producerIdBlock);
      const first = current?.value.nextProducerId ?? 0;
      const end = first + this.blockSize;
      if (!Number.isSafeInteger(end)) throw rillError('UNKNOWN_SERVER_ERROR', 'producer id space exhausted');
      const res = await this.store.ns
        .if(PRODUCER_ID_BLOCK_KEY, 'Mod', '==', current?.modRevision ?? 0)
        .then(this.store.ns.put(PRODUCER_ID_BLOCK_KEY).value(encodeRecord({ nextProducerId: end })))
        .commit();
      if (res.succeeded) return { firstProducerId: first, endProducerId: end };
    }
    throw rillError('UNKNOWN_SERVER_ERROR', `no producer-id block after ${MAX_ATTEMPTS} attempts: too much contention on '${PRODUCER_ID_BLOCK_KEY}'`);
  }
}
