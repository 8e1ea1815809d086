/**
 * Bytes written by someone else: KafkaJS's own protocol encoders and decoders (kafkajs 2.2.4,
 * `src/protocol/requests/<api>/v<n>/`). Requests KafkaJS encodes must decode here to the values
 * given to KafkaJS; responses encoded here must decode in KafkaJS to the values given to us.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KafkaApiKey } from '../../../protocol/kafka/apis.js';
import { decodeRequest, encodeResponse } from '../../../protocol/kafka/frames.js';
import type { KafkaMessage } from '../../../protocol/kafka/schema.js';
import { decodeBatch } from '../../../protocol/record-batch.js';
import { encodeBatch } from '../../../protocol/record-batch.js';

const require = createRequire(import.meta.url);

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode: () => Promise<unknown>;
}
interface KafkajsResponse {
  decode: (payload: Buffer) => Promise<Record<string, unknown>>;
}
const buildRequest = require('kafkajs/src/protocol/request') as (args: { correlationId: number; clientId: string; request: KafkajsRequest }) => Promise<{ buffer: Buffer }>;

function kafkajs(api: string, version: number, args: unknown): { request: KafkajsRequest; response: KafkajsResponse } {
  const mod = require(`kafkajs/src/protocol/requests/${api}`) as { protocol: (o: { version: number }) => (args: unknown) => { request: KafkajsRequest; response: KafkajsResponse } };
  return mod.protocol({ version })(args);
}

async function decodeKafkajsRequest(api: string, version: number, args: unknown): Promise<KafkaMessage> {
  const { request } = kafkajs(api, version, args);
  const frame = (await buildRequest({ correlationId: 77, clientId: 'kafkajs-test', request })).buffer;
  expect(frame.readInt32BE(0)).toBe(frame.length - 4);
  const decoded = decodeRequest(frame.subarray(4));
  expect(decoded.header).toMatchObject({ apiKey: request.apiKey, apiVersion: version, correlationId: 77, clientId: 'kafkajs-test' });
  return decoded.body;
}

/** Encodes our response and hands KafkaJS what its connection would: the bytes after the correlation id. */
async function decodeWithKafkajs(apiKey: number, api: string, version: number, body: KafkaMessage): Promise<Record<string, unknown>> {
  const frame = Buffer.concat(encodeResponse(apiKey, version, 5, body));
  expect(frame.readInt32BE(4)).toBe(5);
  const { response } = kafkajs(api, version, {});
  return response.decode(frame.subarray(8));
}

describe('KafkaJS-encoded requests decode', () => {
  it('ApiVersions v0-v2', async () => {
    for (const v of [0, 1, 2]) expect(await decodeKafkajsRequest('apiVersions', v, {})).toMatchObject({});
  });

  it('Metadata v0-v6', async () => {
    for (let v = 0; v <= 6; v++) {
      const body = await decodeKafkajsRequest('metadata', v, { topics: ['orders', 'payments'], allowAutoTopicCreation: false });
      expect(body.topics).toEqual([{ name: 'orders' }, { name: 'payments' }]);
      expect(body.allowAutoTopicCreation).toBe(v >= 4 ? false : true);
    }
  });

  it('Produce v3-v7 with a KafkaJS-built batch, records intact', async () => {
    for (let v = 3; v <= 7; v++) {
      const body = await decodeKafkajsRequest('produce', v, {
        acks: -1,
        timeout: 30000,
        topicData: [{ topic: 'orders', partitions: [{ partition: 2, messages: [{ key: 'k1', value: 'v1', timestamp: 1700000000000 }, { key: null, value: 'v2', headers: { h: 'x' }, timestamp: 1700000000001 }] }] }],
      });
      expect(body).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
      const partition = (body.topicData as Array<{ name: string; partitionData: Array<{ index: number; records: Buffer }> }>)[0]!;
      expect(partition.name).toBe('orders');
      expect(partition.partitionData[0]!.index).toBe(2);
      const batch = decodeBatch(partition.partitionData[0]!.records);
      expect(batch.records.map((r) => [r.key?.toString() ?? null, r.value?.toString(), r.timestamp])).toEqual([
        ['k1', 'v1', 1700000000000],
        [null, 'v2', 1700000000001],
      ]);
    }
  });

  it('Fetch v4-v11', async () => {
    for (let v = 4; v <= 11; v++) {
      const body = await decodeKafkajsRequest('fetch', v, {
        replicaId: -1, maxWaitTime: 500, minBytes: 1, maxBytes: 10485760, isolationLevel: 1, rackId: 'r1',
        topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: '12345678901', maxBytes: 1048576 }] }],
      });
      expect(body).toMatchObject({ replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 10485760, isolationLevel: 1 });
      const topics = body.topics as Array<{ topic: string; partitions: Array<Record<string, unknown>> }>;
      expect(topics[0]!.topic).toBe('orders');
      expect(topics[0]!.partitions[0]).toMatchObject({ partition: 0, fetchOffset: 12345678901, partitionMaxBytes: 1048576 });
      if (v >= 7) expect(body).toMatchObject({ sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [] });
      if (v >= 11) expect(body.rackId).toBe('r1');
    }
  });

  it('ListOffsets v0-v3', async () => {
    for (let v = 0; v <= 3; v++) {
      const body = await decodeKafkajsRequest('listOffsets', v, { replicaId: -1, isolationLevel: 1, topics: [{ topic: 't', partitions: [{ partition: 3, timestamp: -2 }] }] });
      expect(body.replicaId).toBe(-1);
      expect(body.topics).toMatchObject([{ name: 't', partitions: [{ partitionIndex: 3, timestamp: -2 }] }]);
      if (v >= 2) expect(body.isolationLevel).toBe(1);
    }
  });

  it('group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup', async () => {
    for (let v = 0; v <= 2; v++) {
      const body = await decodeKafkajsRequest('findCoordinator', v, { groupId: 'g', coordinatorKey: 'g', coordinatorType: 0 });
      expect(body.key).toBe('g');
    }
    for (let v = 0; v <= 5; v++) {
      const body = await decodeKafkajsRequest('joinGroup', v, {
        groupId: 'g', sessionTimeout: 30000, rebalanceTimeout: 60000, memberId: '', protocolType: 'consumer',
        groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
      });
      expect(body).toMatchObject({ groupId: 'g', sessionTimeoutMs: 30000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }] });
      if (v >= 1) expect(body.rebalanceTimeoutMs).toBe(60000);
    }
    for (let v = 0; v <= 3; v++) {
      const body = await decodeKafkajsRequest('syncGroup', v, { groupId: 'g', generationId: 4, memberId: 'm1', groupAssignment: [{ memberId: 'm1', memberAssignment: Buffer.from('abc') }] });
      expect(body).toMatchObject({ groupId: 'g', generationId: 4, memberId: 'm1', assignments: [{ memberId: 'm1', assignment: Buffer.from('abc') }] });
    }
    for (let v = 0; v <= 3; v++) {
      const body = await decodeKafkajsRequest('heartbeat', v, { groupId: 'g', groupGenerationId: 4, memberId: 'm1', groupInstanceId: null });
      expect(body).toMatchObject({ groupId: 'g', generationId: 4, memberId: 'm1', groupInstanceId: null });
    }
    for (let v = 0; v <= 3; v++) {
      const body = await decodeKafkajsRequest('leaveGroup', v, { groupId: 'g', memberId: 'm1', members: [{ memberId: 'm1' }] });
      expect(body.groupId).toBe('g');
      if (v >= 3) expect(body.members).toEqual([{ memberId: 'm1', groupInstanceId: null, reason: null }]);
      else expect(body.memberId).toBe('m1');
    }
  });

  it('offsets: OffsetCommit v0-v5, OffsetFetch v1-v4', async () => {
    for (let v = 0; v <= 5; v++) {
      const body = await decodeKafkajsRequest('offsetCommit', v, {
        groupId: 'g', groupGenerationId: 3, memberId: 'm', retentionTime: -1,
        topics: [{ topic: 't', partitions: [{ partition: 1, offset: '9007199254740991', metadata: null }] }],
      });
      expect(body.groupId).toBe('g');
      const partition = (body.topics as Array<{ name: string; partitions: Array<Record<string, unknown>> }>)[0]!.partitions[0]!;
      expect(partition).toMatchObject({ partitionIndex: 1, committedOffset: Number.MAX_SAFE_INTEGER });
      if (v >= 1) expect(body).toMatchObject({ generationIdOrMemberEpoch: 3, memberId: 'm' });
    }
    for (let v = 1; v <= 4; v++) {
      const body = await decodeKafkajsRequest('offsetFetch', v, { groupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }] });
      expect(body).toMatchObject({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }] });
    }
  });

  it('admin: CreateTopics, DeleteTopics, DescribeGroups, ListGroups, DeleteGroups, DescribeConfigs, CreatePartitions, InitProducerId', async () => {
    for (let v = 0; v <= 3; v++) {
      const body = await decodeKafkajsRequest('createTopics', v, {
        topics: [{ topic: 't', numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
        validateOnly: true, timeout: 5000,
      });
      expect(body).toMatchObject({ timeoutMs: 5000, topics: [{ name: 't', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }] });
      if (v >= 1) expect(body.validateOnly).toBe(true);
    }
    for (let v = 0; v <= 1; v++) {
      expect(await decodeKafkajsRequest('deleteTopics', v, { topics: ['a', 'b'], timeout: 100 })).toMatchObject({ topicNames: ['a', 'b'], timeoutMs: 100 });
      expect(await decodeKafkajsRequest('deleteGroups', v, ['g1', 'g2'])).toMatchObject({ groupsNames: ['g1', 'g2'] });
      expect(await decodeKafkajsRequest('initProducerId', v, { transactionalId: null, transactionTimeout: 60000 })).toMatchObject({ transactionalId: null, transactionTimeoutMs: 60000 });
      expect(await decodeKafkajsRequest('createPartitions', v, { topicPartitions: [{ topic: 't', count: 6 }], validateOnly: false, timeout: 100 }))
        .toMatchObject({ topics: [{ name: 't', count: 6, assignments: null }], timeoutMs: 100, validateOnly: false }); // KafkaJS writes an empty nullable array as null
    }
    for (let v = 0; v <= 2; v++) {
      expect(await decodeKafkajsRequest('describeGroups', v, { groupIds: ['g'] })).toMatchObject({ groups: ['g'] });
      expect(await decodeKafkajsRequest('listGroups', v, {})).toMatchObject({});
      const body = await decodeKafkajsRequest('describeConfigs', v, { resources: [{ type: 2, name: 't', configNames: ['retention.ms'] }], includeSynonyms: true });
      expect(body.resources).toEqual([{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }]);
      if (v >= 1) expect(body.includeSynonyms).toBe(true);
    }
  });
});

describe('responses encoded here decode in KafkaJS', () => {
  it('ApiVersions v0-v2', async () => {
    for (const v of [0, 1, 2]) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.ApiVersions, 'apiVersions', v, { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 9 }, { apiKey: 18, minVersion: 0, maxVersion: 3 }], throttleTimeMs: 0 });
      expect(decoded).toMatchObject({ errorCode: 0, apiVersions: [{ apiKey: 0, minVersion: 3, maxVersion: 9 }, { apiKey: 18, minVersion: 0, maxVersion: 3 }] });
    }
  });

  it('Metadata v0-v6', async () => {
    for (let v = 0; v <= 6; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.Metadata, 'metadata', v, {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
        clusterId: 'rill-cluster', controllerId: 1,
        topics: [{ errorCode: 0, name: 'orders', isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }] }],
      });
      expect(decoded.brokers).toMatchObject([{ nodeId: 1, host: 'localhost', port: 9092 }]);
      expect(decoded.topicMetadata).toMatchObject([{ topicErrorCode: 0, topic: 'orders', partitionMetadata: [{ partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1], isr: [1] }] }]);
      if (v >= 2) expect(decoded.clusterId).toBe('rill-cluster');
    }
  });

  it('Produce v3-v7', async () => {
    for (let v = 3; v <= 7; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.Produce, 'produce', v, {
        responses: [{ name: 'orders', partitionResponses: [{ index: 2, errorCode: 0, baseOffset: 4294967296, logAppendTimeMs: -1, logStartOffset: 0 }] }],
        throttleTimeMs: 0,
      });
      expect(decoded.topics).toMatchObject([{ topicName: 'orders', partitions: [{ partition: 2, errorCode: 0, baseOffset: '4294967296' }] }]);
    }
  });

  it('Fetch v4-v11 with a record batch KafkaJS decodes', async () => {
    const batch = encodeBatch([{ key: 'k', value: 'hello', timestamp: 1700000000000 }, { value: 'world', timestamp: 1700000000005 }], { baseOffset: 40 });
    for (let v = 4; v <= 11; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.Fetch, 'fetch', v, {
        throttleTimeMs: 0, errorCode: 0, sessionId: 0,
        responses: [{ topic: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 42, lastStableOffset: 42, logStartOffset: 0, abortedTransactions: [], preferredReadReplica: -1, records: batch }] }],
      });
      const partition = (decoded.responses as Array<{ topicName: string; partitions: Array<{ partition: number; highWatermark: string; messages: Array<{ offset: string; key: Buffer | null; value: Buffer }> }> }>)[0]!;
      expect(partition.topicName).toBe('orders');
      expect(partition.partitions[0]!.highWatermark).toBe('42');
      expect(partition.partitions[0]!.messages.map((m) => [m.offset, m.key?.toString() ?? null, m.value.toString()])).toEqual([
        ['40', 'k', 'hello'],
        ['41', null, 'world'],
      ]);
    }
  });

  it('group and offset responses', async () => {
    for (let v = 0; v <= 2; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.FindCoordinator, 'findCoordinator', v, { errorCode: 0, errorMessage: null, nodeId: 1, host: 'h', port: 9092 });
      expect(decoded).toMatchObject({ errorCode: 0, coordinator: { nodeId: 1, host: 'h', port: 9092 } });
    }
    for (let v = 0; v <= 5; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.JoinGroup, 'joinGroup', v, {
        errorCode: 0, generationId: 3, protocolName: 'RoundRobinAssigner', leader: 'm1', memberId: 'm1',
        members: [{ memberId: 'm1', groupInstanceId: null, metadata: Buffer.from([1, 2]) }],
      });
      expect(decoded).toMatchObject({ errorCode: 0, generationId: 3, groupProtocol: 'RoundRobinAssigner', leaderId: 'm1', memberId: 'm1', members: [{ memberId: 'm1', memberMetadata: Buffer.from([1, 2]) }] });
    }
    for (let v = 0; v <= 3; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.SyncGroup, 'syncGroup', v, { errorCode: 0, assignment: Buffer.from('xyz') });
      expect(decoded).toMatchObject({ errorCode: 0, memberAssignment: Buffer.from('xyz') });
    }
    for (let v = 1; v <= 4; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.OffsetFetch, 'offsetFetch', v, {
        throttleTimeMs: 0, errorCode: 0,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 17, metadata: '', errorCode: 0 }] }],
      });
      expect(decoded.responses).toMatchObject([{ topic: 't', partitions: [{ partition: 0, offset: '17', metadata: '', errorCode: 0 }] }]);
    }
    for (let v = 0; v <= 3; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.ListOffsets, 'listOffsets', v, {
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, oldStyleOffsets: [5], timestamp: -1, offset: 5 }] }],
      });
      const partition = (decoded.responses as Array<{ topic: string; partitions: Array<Record<string, unknown>> }>)[0]!;
      expect(partition.topic).toBe('t');
      expect(partition.partitions[0]).toMatchObject(v === 0 ? { partition: 0, offsets: ['5'] } : { partition: 0, offset: '5' });
    }
  });

  it('admin responses', async () => {
    for (let v = 0; v <= 3; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.CreateTopics, 'createTopics', v, { topics: [{ name: 't', errorCode: 36, errorMessage: 'exists' }] });
      expect(decoded.topicErrors).toMatchObject([{ topic: 't', errorCode: 36 }]);
    }
    for (let v = 0; v <= 2; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.DescribeGroups, 'describeGroups', v, {
        groups: [{ errorCode: 0, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'RoundRobinAssigner',
          members: [{ memberId: 'm1', clientId: 'c', clientHost: '/127.0.0.1', memberMetadata: Buffer.from([1]), memberAssignment: Buffer.from([2]) }] }],
      });
      expect(decoded.groups).toMatchObject([{ groupId: 'g', state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner', members: [{ memberId: 'm1', clientId: 'c', clientHost: '/127.0.0.1', memberMetadata: Buffer.from([1]), memberAssignment: Buffer.from([2]) }] }]);
    }
    for (let v = 0; v <= 1; v++) {
      const decoded = await decodeWithKafkajs(KafkaApiKey.InitProducerId, 'initProducerId', v, { errorCode: 0, producerId: 1000, producerEpoch: 0 });
      expect(decoded).toMatchObject({ errorCode: 0, producerId: '1000', producerEpoch: 0 });
    }
  });
});
