/**
 * Every write the controller makes, each one an etcd transaction that also compares the
 * `controller` key's create revision with the writer's epoch: once another controller has been
 * elected (or the key is gone), the comparison fails and nothing is written. Partition writes
 * additionally compare the partition key's mod revision (compare-and-swap): a failed swap means
 * someone else changed the state, and the caller re-reads and obeys.
 */
import { RillError, ERRORS, rillError } from '../../protocol/errors.js';
import { CONTROLLER_KEY, partitionKey, topicKey, topicPartitionsPrefix } from './keys.js';
import type { PartitionState, TopicRecord } from './schemas.js';
import { encodeRecord, type ClusterStore } from './store.js';

/** This controller was deposed: its write did not happen. */
export class FencedControllerError extends RillError {
  constructor(epoch: number) {
    super(ERRORS.NOT_CONTROLLER.code, `controller epoch ${epoch} is no longer current: write refused`);
    this.name = 'FencedControllerError';
  }
}

/** etcd's default --max-txn-ops is 128: stay well under it, leaving room for the compares. */
const MAX_OPS_PER_TXN = 100;

export type SwapResult = 'written' | 'conflict';

export class ControllerWriter {
  constructor(
    private readonly store: ClusterStore,
    readonly epoch: number,
  ) {}

  /** A transaction that only commits while this epoch's controller key stands. */
  private fenced() {
    return this.store.ns.if(CONTROLLER_KEY, 'Create', '==', this.epoch);
  }

  /** True when the fence still holds; distinguishes a deposed controller from a lost swap. */
  private async stillController(): Promise<boolean> {
    const kv = (await this.store.ns.get(CONTROLLER_KEY).exec()).kvs[0];
    return kv !== undefined && Number(kv.create_revision) === this.epoch;
  }

  private async failure(): Promise<never | 'conflict'> {
    if (!(await this.stillController())) throw new FencedControllerError(this.epoch);
    return 'conflict';
  }

  /**
   * Writes a new topic and its partitions. The topic key is created (if absent) first, with the
   * first chunk of partitions; a controller that dies between chunks leaves partitions missing,
   * which the next controller's reconciliation creates from the topic record.
   */
  async createTopic(name: string, record: TopicRecord, states: PartitionState[]): Promise<void> {
    const ops = states.map((s, p) => this.store.ns.put(partitionKey(name, p)).value(encodeRecord(s)));
    const first = ops.slice(0, MAX_OPS_PER_TXN - 1);
    const res = await this.fenced()
      .and(topicKey(name), 'Create', '==', 0)
      .then(this.store.ns.put(topicKey(name)).value(encodeRecord(record)), ...first)
      .commit();
    if (!res.succeeded) {
      if (!(await this.stillController())) throw new FencedControllerError(this.epoch);
      throw rillError('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`);
    }
    for (let i = first.length; i < ops.length; i += MAX_OPS_PER_TXN) {
      const chunk = await this.fenced().then(...ops.slice(i, i + MAX_OPS_PER_TXN)).commit();
      if (!chunk.succeeded) throw new FencedControllerError(this.epoch);
    }
  }

  /** Deletes the topic and every partition key of it in one transaction. */
  async deleteTopic(name: string): Promise<void> {
    const res = await this.fenced()
      .and(topicKey(name), 'Create', '>', 0)
      .then(this.store.ns.delete().key(topicKey(name)), this.store.ns.delete().prefix(topicPartitionsPrefix(name)))
      .commit();
    if (!res.succeeded) {
      if (!(await this.stillController())) throw new FencedControllerError(this.epoch);
      throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
    }
  }

  /** Compare-and-swap of one partition's state on its mod revision (0: create if absent). */
  async swapPartition(topic: string, partition: number, expectedModRevision: number, state: PartitionState): Promise<SwapResult> {
    const key = partitionKey(topic, partition);
    const res = await this.fenced()
      .and(key, 'Mod', '==', expectedModRevision)
      .then(this.store.ns.put(key).value(encodeRecord(state)))
      .commit();
    return res.succeeded ? 'written' : this.failure();
  }
}
