/**
 * DescribeCluster: the cluster id, the controller and the live brokers, from the cluster view
 * (ctx.cluster); a standalone broker is the whole cluster and its own controller.
 */
import type { Handler } from '../context.js';

export const describeClusterHandler: Handler<'DescribeCluster'> = (ctx) => {
  const cluster = ctx.cluster;
  if (cluster === null) {
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      clusterId: ctx.clusterId,
      controllerId: ctx.nodeId,
      brokers: [{ nodeId: ctx.nodeId, host: ctx.advertisedHost, port: ctx.advertisedPort, rack: null }],
    };
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    clusterId: cluster.clusterId,
    controllerId: cluster.controllerId() ?? -1,
    brokers: cluster.liveBrokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
  };
};
