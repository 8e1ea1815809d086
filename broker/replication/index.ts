/**
 * The replication data plane (DESIGN §9, Kafka's split of the work): per-partition leader and
 * follower state with the ISR and high-watermark rules (partition-state.ts), the acks=all
 * purgatory (produce-purgatory.ts), and the follower side: one fetcher per source broker
 * (replica-fetcher.ts) managed per broker (fetcher-manager.ts), over a small broker-to-broker
 * connection (peer-connection.ts). Built and tested as a library; the broker wiring maps the
 * cluster view's events onto it:
 *
 *   become-leader    → fetchers.unfollow(t, p); state.becomeLeader(...)
 *   become-follower  → state.becomeFollower(...); fetchers.follow(log, leaderAddress, epoch)
 *   stop-replica     → fetchers.unfollow(t, p); state.stop()
 *   Fetch with replicaId >= 0 → state.updateFollowerFetchState(replicaId, fetchOffset, now),
 *                      then purgatory.onPartitionChange(state); ISR proposals go to etcd
 *   Produce acks=-1  → purgatory.checkBeforeAppend, append, purgatory.park(state, last + 1, ...)
 */
export { PartitionState, type FetchStateUpdate, type FollowerAssignment, type FollowerState, type LeaderAssignment, type PartitionStateOptions, type ReplicaRole } from './partition-state.js';
export { ProducePurgatory, DEFAULT_MAX_PARKED_PRODUCES, DEFAULT_REQUEST_TIMEOUT_MS, type ProduceOutcome, type ProducePurgatoryOptions } from './produce-purgatory.js';
export { ReplicaFetcher, type ReplicaFetcherEvents, type ReplicaFetcherOptions, type ReplicaFetcherStats, type SourceBroker } from './replica-fetcher.js';
export { ReplicaFetcherManager, type FetcherManagerOptions } from './fetcher-manager.js';
export { PeerConnection, type PeerConnectionOptions } from './peer-connection.js';
