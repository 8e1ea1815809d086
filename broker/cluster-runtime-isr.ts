/**
 * A leader's ISR change in etcd (DESIGN §9): the partition key is swapped on its mod revision,
 * in a transaction that also checks this broker's registration (`brokers/<id>` created at its
 * broker epoch), so a broker whose lease is gone writes nothing even if it has not noticed yet;
 * and only while the view says it may acknowledge as leader at the state's epoch. The proposal
 * is committed to the PartitionState on success, dropped otherwise (the winner's state then
 * arrives through the watch).
 */
import type { Logger } from 'pino';
import type { BrokerSession } from './cluster/session.js';
import type { ClusterMetadataView } from './cluster/metadata-view.js';
import { brokerKey, partitionKey } from './cluster/keys.js';
import { encodeRecord, type ClusterStore } from './cluster/store.js';
import type { PartitionState } from './replication/partition-state.js';

export interface IsrWriterContext {
  readonly nodeId: number;
  readonly store: ClusterStore;
  readonly view: ClusterMetadataView;
  readonly session: BrokerSession;
  readonly logger: Logger;
}

/** Writes `proposal` (the state's pending ISR) as the partition's ISR; true when written. */
export async function writeLeaderIsr(ctx: IsrWriterContext, state: PartitionState, proposal: number[]): Promise<boolean> {
  const { topic, partition } = state;
  const cur = ctx.view.cache.partitionState(topic, partition);
  const brokerEpoch = ctx.session.brokerEpoch();
  if (
    cur === undefined || brokerEpoch === null || cur.value.leader !== ctx.nodeId || cur.value.leaderEpoch !== state.leaderEpoch ||
    cur.value.partitionEpoch !== state.partitionEpoch || !ctx.view.canAcknowledge(topic, partition, state.leaderEpoch)
  ) {
    state.abortIsrChange();
    return false;
  }
  const next = { ...cur.value, isr: proposal, partitionEpoch: cur.value.partitionEpoch + 1 };
  const key = partitionKey(topic, partition);
  let ok = false;
  try {
    const res = await ctx.store.ns
      .if(key, 'Mod', '==', cur.modRevision)
      .and(brokerKey(ctx.nodeId), 'Create', '==', brokerEpoch)
      .then(ctx.store.ns.put(key).value(encodeRecord(next)))
      .commit();
    ok = res.succeeded;
  } catch (err) {
    ctx.logger.warn({ err, topic, partition }, 'ISR write failed');
  }
  if (!ok) {
    if (state.pendingIsr !== null) state.abortIsrChange();
    return false;
  }
  // The watch may have delivered our own write first (the runtime's adoptIsr took it then).
  if (state.role === 'leader' && state.leaderEpoch === next.leaderEpoch && state.pendingIsr !== null && next.partitionEpoch > state.partitionEpoch) state.commitIsr(proposal, next.partitionEpoch);
  return true;
}
