/**
 * DescribeCluster (key 60). The cluster as an admin sees it: its id, the controller, and every
 * live broker (registered in etcd under a live lease) with its address and rack. A standalone
 * broker answers itself as the only broker and the controller. Any broker may answer; Kafka's
 * admin sends it to any broker too.
 *
 *   request:  {}
 *   response: { throttleTimeMs, errorCode, errorMessage, clusterId, controllerId,
 *               brokers: [{ nodeId, host, port, rack }] }
 *
 * controllerId is -1 while the cluster has no controller (an election is under way). Brokers
 * that are down are not listed: rill keeps no registration for a broker without a lease
 * (`rill cluster describe` names them from the partitions' replica lists instead).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodeField, Int32, NullableString, type StaticRequest } from './common.js';
import { MetadataBroker } from './metadata.js';

export const DescribeClusterRequest = Type.Object({});
export const DescribeClusterResponse = Type.Object({
  throttleTimeMs: Int32({ minimum: 0 }),
  errorCode: ErrorCodeField(),
  errorMessage: NullableString(),
  clusterId: Type.String(),
  controllerId: Int32({ minimum: -1 }),
  brokers: Type.Array(MetadataBroker),
});
export type DescribeClusterRequest = StaticRequest<typeof DescribeClusterRequest>;
export type DescribeClusterResponse = Static<typeof DescribeClusterResponse>;
