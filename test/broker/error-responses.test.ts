import { describe, expect, it } from 'vitest';
import { allApis, isRequestErrorResponse, validateRequest, validateResponse, type ApiName } from '../../protocol/apis/index.js';
import { errorResponse } from '../../broker/error-responses.js';

const ctx = { nodeId: 0, clusterId: 'c', advertisedHost: '127.0.0.1', advertisedPort: 9292 };
const tp = [{ topic: 't', partitions: [0, 1] }];

/** One valid request per API, each naming something to mirror in the error response. */
const SAMPLES: Record<ApiName, unknown> = {
  Produce: { acks: -1, timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partition: 0, records: Buffer.alloc(1) }] }] },
  Fetch: { maxWaitMs: 0, minBytes: 0, maxBytes: 1, topics: [{ name: 't', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 }] }] },
  ListOffsets: { topics: [{ name: 't', partitions: [{ partition: 0, timestamp: -1 }] }] },
  OffsetsForLeaderEpoch: { replicaId: -1, topics: [{ name: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] },
  Metadata: { topics: ['t'], allowAutoTopicCreation: false },
  OffsetCommit: { groupId: 'g', memberId: '', memberEpoch: -1, topics: [{ name: 't', partitions: [{ partition: 0, committedOffset: 1, committedMetadata: null }] }] },
  OffsetFetch: { groupId: 'g', topics: null },
  FindCoordinator: { keyType: 0, keys: ['g'] },
  DescribeGroups: { groupIds: ['g'] },
  ListGroups: { statesFilter: null },
  ApiVersions: { clientId: 'x' },
  CreateTopics: { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, configs: {} }], timeoutMs: 0, validateOnly: false },
  DeleteTopics: { topics: ['t'], timeoutMs: 0 },
  InitProducerId: { transactionalId: null, transactionTimeoutMs: 0, producerId: -1, producerEpoch: -1 },
  DescribeConfigs: { resources: [{ resourceType: 'topic', resourceName: 't', configNames: null }] },
  AlterConfigs: { resources: [{ resourceType: 'topic', resourceName: 't', configs: [] }], validateOnly: false },
  DeleteGroups: { groupIds: ['g'] },
  ElectLeaders: { electionType: 0, topicPartitions: tp, timeoutMs: 1000 },
  DescribeCluster: {},
  ConsumerGroupHeartbeat: { groupId: 'g', memberId: 'm', memberEpoch: 1, rebalanceTimeoutMs: -1, sessionTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, ownedPartitions: tp },
  AlterGroupOffsets: { groupId: 'g', topics: [{ name: 't', partitions: [{ partition: 0, offset: 0, metadata: null }] }] },
};

describe('error responses', () => {
  for (const def of allApis()) {
    it(`${def.name}: a schema-valid error response, mirroring the request`, () => {
      const req = SAMPLES[def.name];
      expect(validateRequest(def, req)).toBeNull();
      const withReq = errorResponse(def.name, req as never, -1, 'boom', ctx);
      expect(withReq).not.toBeNull();
      expect(validateResponse(def, withReq)).toBeNull();
      expect(JSON.stringify(withReq)).toMatch(/"errorCode":-1/);
      // Never mistaken for the shared request-error answer, which has exactly two keys.
      expect(isRequestErrorResponse(withReq)).toBe(false);
    });
  }
});
