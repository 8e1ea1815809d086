/**
 * Metadata (API key 3), versions 0-9 served; flexible versions (compact encodings, tagged fields) 9+.
 * Transcribed from Apache Kafka's MetadataRequest.json / MetadataResponse.json (whose validVersions
 * are 0-12); fields that exist only outside 0-9 are left out.
 *
 * Request:
 *   topics: [{   (null v1+)
 *     name: string
 *   }]
 *   allowAutoTopicCreation: bool   (v4+, default true)
 *   includeClusterAuthorizedOperations: bool   (v8-10)
 *   includeTopicAuthorizedOperations: bool   (v8+)
 *
 * Response:
 *   throttleTimeMs: int32   (v3+)
 *   brokers: [{
 *     nodeId: int32
 *     host: string
 *     port: int32
 *     rack: string   (v1+, null v1+, default null)
 *   }]
 *   clusterId: string   (v2+, null v2+, default null)
 *   controllerId: int32   (v1+, default -1)
 *   topics: [{
 *     errorCode: int16
 *     name: string
 *     isInternal: bool   (v1+, default false)
 *     partitions: [{
 *       errorCode: int16
 *       partitionIndex: int32
 *       leaderId: int32
 *       leaderEpoch: int32   (v7+, default -1)
 *       replicaNodes: []int32
 *       isrNodes: []int32
 *       offlineReplicas: []int32   (v5+)
 *     }]
 *     topicAuthorizedOperations: int32   (v8+, default -2147483648)
 *   }]
 *   clusterAuthorizedOperations: int32   (v8-10, default -2147483648)
 */
import type { ApiDecl } from '../schema.js';

export const METADATA = {
  key: 3,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 9,
  flexibleVersions: '9+',
  request: [
    { name: 'topics', type: '[]struct', versions: '0+', nullableVersions: '1+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
    ] },
    { name: 'allowAutoTopicCreation', type: 'bool', versions: '4+', default: true },
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: '8-10' },
    { name: 'includeTopicAuthorizedOperations', type: 'bool', versions: '8+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    { name: 'brokers', type: '[]struct', versions: '0+', fields: [
      { name: 'nodeId', type: 'int32', versions: '0+' },
      { name: 'host', type: 'string', versions: '0+' },
      { name: 'port', type: 'int32', versions: '0+' },
      { name: 'rack', type: 'string', versions: '1+', nullableVersions: '1+', default: null },
    ] },
    { name: 'clusterId', type: 'string', versions: '2+', nullableVersions: '2+', default: null },
    { name: 'controllerId', type: 'int32', versions: '1+', default: -1 },
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'isInternal', type: 'bool', versions: '1+', default: false },
      { name: 'partitions', type: '[]struct', versions: '0+', fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'leaderId', type: 'int32', versions: '0+' },
        { name: 'leaderEpoch', type: 'int32', versions: '7+', default: -1 },
        { name: 'replicaNodes', type: '[]int32', versions: '0+' },
        { name: 'isrNodes', type: '[]int32', versions: '0+' },
        { name: 'offlineReplicas', type: '[]int32', versions: '5+' },
      ] },
      { name: 'topicAuthorizedOperations', type: 'int32', versions: '8+', default: -2147483648 },
    ] },
    { name: 'clusterAuthorizedOperations', type: 'int32', versions: '8-10', default: -2147483648 },
  ],
} as const satisfies ApiDecl;
