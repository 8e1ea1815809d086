/**
 * Test fixture: the control-plane half of a broker (session, election, controller, metadata
 * view) on a real etcd, as the broker wiring will assemble it.
 */
import type { EtcdProcess } from './etcd.js';
import { BrokerSession } from '../../broker/cluster/session.js';
import { ControllerElection } from '../../broker/cluster/election.js';
import { Controller } from '../../broker/cluster/controller.js';
import { ClusterMetadataView } from '../../broker/cluster/metadata-view.js';
import type { ClusterControlOptions } from '../../broker/cluster/options.js';
import type { ClusterStore } from '../../broker/cluster/store.js';
import { Records, type PartitionState } from '../../broker/cluster/schemas.js';
import { partitionKey } from '../../broker/cluster/keys.js';

export interface TestNode {
  nodeId: number;
  store: ClusterStore;
  session: BrokerSession;
  election: ControllerElection;
  controller: Controller;
  view: ClusterMetadataView;
  close(): Promise<void>;
}

export async function startNode(etcd: EtcdProcess, clusterId: string, nodeId: number, options: Partial<ClusterControlOptions> = {}, rack: string | null = null): Promise<TestNode> {
  const store = etcd.store(clusterId);
  const session = new BrokerSession({
    store,
    nodeId,
    endpoint: { host: '127.0.0.1', port: 9000 + nodeId, kafkaPort: null, rack },
    sessionTimeoutMs: 1000,
    reregisterBackoffMs: 100,
  });
  const election = new ControllerElection(store, session);
  const controller = new Controller(store, election, { autoLeaderRebalanceEnable: false, ...options });
  const view = new ClusterMetadataView(store, session);
  await session.start();
  await view.start();
  await election.start();
  return {
    nodeId,
    store,
    session,
    election,
    controller,
    view,
    async close() {
      await view.close();
      await controller.close();
      await election.close();
      await session.close();
    },
  };
}

export async function partitionState(store: ClusterStore, topic: string, partition: number): Promise<PartitionState | undefined> {
  return (await store.get(partitionKey(topic, partition), Records.partition))?.value;
}
