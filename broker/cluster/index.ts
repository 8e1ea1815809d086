/**
 * The cluster control plane on etcd (DESIGN.md section 9; docs/OPERATIONS.md, "Cluster: control
 * plane"). broker/cluster-runtime.ts assembles it into a broker started with `etcd.endpoints`.
 *
 *   store.ts               typed access to /rill/<clusterId>/ (keys.ts, schemas.ts)
 *   session.ts             broker registration under a lease, lease-loss detection, re-registration
 *   election.ts            controller election; controllerEpoch fences every controller write
 *   writer.ts              the controller's fenced transactions
 *   controller.ts          topics, reconciliation of partition leaders, preferred leader election
 *   placement.ts           replica placement (pure)
 *   leader-election.ts     partition state rules (pure)
 *   producer-id-blocks.ts  producer-id blocks by compare-and-swap
 *   metadata-cache.ts      the broker-side cache and local roles (pure)
 *   metadata-view.ts       the cache fed by etcd watches; become-leader / become-follower events
 */
export * from './handle.js';
export * from './keys.js';
export * from './schemas.js';
export * from './options.js';
export * from './store.js';
export * from './session.js';
export * from './election.js';
export * from './writer.js';
export * from './controller.js';
export * from './placement.js';
export * from './leader-election.js';
export * from './producer-id-blocks.js';
export * from './metadata-cache.js';
export * from './metadata-view.js';
