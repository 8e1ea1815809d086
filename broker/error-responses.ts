/**
 * A well-formed error response for every API, used when a handler throws: the request's
 * topics/partitions/groups/resources are mirrored, each carrying `errorCode` (and
 * `errorMessage` where the API has one), so the client sees which ones failed.
 *
 * A request that cannot be read at all (not msgpack, fails its schema) does not come here: it
 * gets the shared request-error answer (protocol/apis/request-error.ts) from the dispatcher.
 *
 * Every builder's output validates against its API's response schema
 * (test/broker/error-responses.test.ts checks that).
 */
import { allApis, type ApiName, type DefaultedRequestOf, type ResponseOf } from '../protocol/apis/index.js';

export interface ErrorResponseContext {
  nodeId: number;
  clusterId: string;
  advertisedHost: string;
  advertisedPort: number;
}

type Builder<N extends ApiName> = (req: DefaultedRequestOf<N>, errorCode: number, errorMessage: string, ctx: ErrorResponseContext) => ResponseOf<N>;
type Builders = { [N in ApiName]: Builder<N> };

const apiKeysTable = () => allApis().map((a) => ({ apiKey: a.key, minVersion: a.minVersion, maxVersion: a.maxVersion }));

const BUILDERS: Builders = {
  ApiVersions: (_req, errorCode) => ({ errorCode, apiKeys: apiKeysTable(), throttleTimeMs: 0 }),
  Metadata: (req, errorCode, _msg, ctx) => ({
    brokers: [{ nodeId: ctx.nodeId, host: ctx.advertisedHost, port: ctx.advertisedPort, rack: null }],
    clusterId: ctx.clusterId,
    controllerId: ctx.nodeId,
    topics: (req.topics ?? []).map((name) => ({ errorCode, name, isInternal: false, partitions: [] })),
  }),
  CreateTopics: (req, errorCode, errorMessage) => ({ topics: req.topics.map((t) => ({ name: t.name, errorCode, errorMessage, numPartitions: -1 })) }),
  DeleteTopics: (req, errorCode, errorMessage) => ({ topics: req.topics.map((name) => ({ name, errorCode, errorMessage })) }),
  DescribeConfigs: (req, errorCode, errorMessage) => ({
    resources: req.resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, errorCode, errorMessage, configs: [] })),
  }),
  AlterConfigs: (req, errorCode, errorMessage) => ({
    resources: req.resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, errorCode, errorMessage })),
  }),
  Produce: (req, errorCode, errorMessage) => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 })),
    })),
  }),
  Fetch: (req, errorCode, errorMessage) => ({
    throttleTimeMs: 0,
    errorCode,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode, errorMessage, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: null })),
    })),
  }),
  ListOffsets: (req, errorCode, errorMessage) => ({
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode, errorMessage, timestamp: -1, offset: -1 })) })),
  }),
  OffsetsForLeaderEpoch: (req, errorCode, errorMessage) => ({
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode, errorMessage, leaderEpoch: -1, endOffset: -1 })) })),
  }),
  InitProducerId: (_req, errorCode) => ({ errorCode, producerId: -1, producerEpoch: -1, throttleTimeMs: 0 }),
  FindCoordinator: (req, errorCode, errorMessage) => ({ coordinators: req.keys.map((key) => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage })) }),
  OffsetCommit: (req, errorCode, errorMessage) => ({
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode, errorMessage })) })),
  }),
  OffsetFetch: (_req, errorCode) => ({ errorCode, topics: [] }),
  ListGroups: (_req, errorCode) => ({ errorCode, groups: [] }),
  DescribeGroups: (req, errorCode, errorMessage) => ({
    groups: req.groupIds.map((groupId) => ({
      groupId,
      errorCode,
      errorMessage,
      state: 'dead' as const,
      groupEpoch: -1,
      assignmentEpoch: -1,
      members: [],
      offsets: [],
    })),
  }),
  DescribeCluster: (_req, errorCode, errorMessage, ctx) => ({ throttleTimeMs: 0, errorCode, errorMessage, clusterId: ctx.clusterId, controllerId: -1, brokers: [] }),
  ElectLeaders: (req, errorCode, errorMessage) => ({
    throttleTimeMs: 0,
    errorCode,
    replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({ topic: t.topic, partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode, errorMessage })) })),
  }),
  DeleteGroups: (req, errorCode, errorMessage) => ({ results: req.groupIds.map((groupId) => ({ groupId, errorCode, errorMessage })) }),
  ConsumerGroupHeartbeat: (req, errorCode, errorMessage) => ({
    errorCode,
    errorMessage,
    memberId: req.memberId,
    memberEpoch: -1,
    heartbeatIntervalMs: 0,
    assignment: null,
  }),
  AlterGroupOffsets: (req, errorCode, errorMessage) => ({
    errorCode,
    errorMessage,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode, errorMessage })) })),
  }),
};

/** The error response of API `name` to the valid request `req` whose handler threw. */
export function errorResponse<N extends ApiName>(name: N, req: DefaultedRequestOf<N>, errorCode: number, errorMessage: string, ctx: ErrorResponseContext): ResponseOf<N> {
  const build = BUILDERS[name] as Builder<N>;
  return build(req, errorCode, errorMessage, ctx);
}
