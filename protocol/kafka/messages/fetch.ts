/**
 * Fetch (API key 1), versions 4-12 served; flexible versions (compact encodings, tagged fields) 12+.
 * Transcribed from Apache Kafka's FetchRequest.json / FetchResponse.json (whose validVersions
 * are 0-17); fields that exist only outside 4-12 are left out.
 *
 * Request:
 *   clusterId: string   (v12+, null v12+, tag 0, default null)
 *   replicaId: int32   (v0-14, default -1)
 *   maxWaitMs: int32
 *   minBytes: int32
 *   maxBytes: int32   (v3+, default 2147483647)
 *   isolationLevel: int8   (v4+, default 0)
 *   sessionId: int32   (v7+, default 0)
 *   sessionEpoch: int32   (v7+, default -1)
 *   topics: [{
 *     topic: string   (v0-12)
 *     partitions: [{
 *       partition: int32
 *       currentLeaderEpoch: int32   (v9+, default -1)
 *       fetchOffset: int64
 *       lastFetchedEpoch: int32   (v12+, default -1)
 *       logStartOffset: int64   (v5+, default -1)
 *       partitionMaxBytes: int32
 *     }]
 *   }]
 *   forgottenTopicsData: [{   (v7+)
 *     topic: string   (v7-12)
 *     partitions: []int32   (v7+)
 *   }]
 *   rackId: string   (v11+, default "")
 *
 * Response:
 *   throttleTimeMs: int32   (v1+)
 *   errorCode: int16   (v7+)
 *   sessionId: int32   (v7+, default 0)
 *   responses: [{
 *     topic: string   (v0-12)
 *     partitions: [{
 *       partitionIndex: int32
 *       errorCode: int16
 *       highWatermark: int64
 *       lastStableOffset: int64   (v4+, default -1)
 *       logStartOffset: int64   (v5+, default -1)
 *       divergingEpoch: {   (v12+, tag 0)
 *         epoch: int32   (v12+, default -1)
 *         endOffset: int64   (v12+, default -1)
 *       }
 *       currentLeader: {   (v12+, tag 1)
 *         leaderId: int32   (v12+, default -1)
 *         leaderEpoch: int32   (v12+, default -1)
 *       }
 *       snapshotId: {   (v12+, tag 2)
 *         endOffset: int64   (default -1)
 *         epoch: int32   (default -1)
 *       }
 *       abortedTransactions: [{   (v4+, null v4+)
 *         producerId: int64   (v4+)
 *         firstOffset: int64   (v4+)
 *       }]
 *       preferredReadReplica: int32   (v11+, default -1)
 *       records: records   (null v0+)
 *     }]
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const FETCH = {
  key: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 12,
  flexibleVersions: '12+',
  request: [
    { name: 'clusterId', type: 'string', versions: '12+', nullableVersions: '12+', taggedVersions: '12+', tag: 0, default: null },
    { name: 'replicaId', type: 'int32', versions: '0-14', default: -1 },
    { name: 'maxWaitMs', type: 'int32', versions: '0+' },
    { name: 'minBytes', type: 'int32', versions: '0+' },
    { name: 'maxBytes', type: 'int32', versions: '3+', default: 2147483647 },
    { name: 'isolationLevel', type: 'int8', versions: '4+', default: 0 },
    { name: 'sessionId', type: 'int32', versions: '7+', default: 0 },
    { name: 'sessionEpoch', type: 'int32', versions: '7+', default: -1 },
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0-12' },
      { name: 'partitions', type: '[]struct', versions: '0+', fields: [
        { name: 'partition', type: 'int32', versions: '0+' },
        { name: 'currentLeaderEpoch', type: 'int32', versions: '9+', default: -1 },
        { name: 'fetchOffset', type: 'int64', versions: '0+' },
        { name: 'lastFetchedEpoch', type: 'int32', versions: '12+', default: -1 },
        { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
        { name: 'partitionMaxBytes', type: 'int32', versions: '0+' },
      ] },
    ] },
    { name: 'forgottenTopicsData', type: '[]struct', versions: '7+', fields: [
      { name: 'topic', type: 'string', versions: '7-12' },
      { name: 'partitions', type: '[]int32', versions: '7+' },
    ] },
    { name: 'rackId', type: 'string', versions: '11+', default: '' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '7+' },
    { name: 'sessionId', type: 'int32', versions: '7+', default: 0 },
    { name: 'responses', type: '[]struct', versions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0-12' },
      { name: 'partitions', type: '[]struct', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'highWatermark', type: 'int64', versions: '0+' },
        { name: 'lastStableOffset', type: 'int64', versions: '4+', default: -1 },
        { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
        { name: 'divergingEpoch', type: 'struct', versions: '12+', taggedVersions: '12+', tag: 0, fields: [
          { name: 'epoch', type: 'int32', versions: '12+', default: -1 },
          { name: 'endOffset', type: 'int64', versions: '12+', default: -1 },
        ] },
        { name: 'currentLeader', type: 'struct', versions: '12+', taggedVersions: '12+', tag: 1, fields: [
          { name: 'leaderId', type: 'int32', versions: '12+', default: -1 },
          { name: 'leaderEpoch', type: 'int32', versions: '12+', default: -1 },
        ] },
        { name: 'snapshotId', type: 'struct', versions: '12+', taggedVersions: '12+', tag: 2, fields: [
          { name: 'endOffset', type: 'int64', versions: '0+', default: -1 },
          { name: 'epoch', type: 'int32', versions: '0+', default: -1 },
        ] },
        { name: 'abortedTransactions', type: '[]struct', versions: '4+', nullableVersions: '4+', fields: [
          { name: 'producerId', type: 'int64', versions: '4+' },
          { name: 'firstOffset', type: 'int64', versions: '4+' },
        ] },
        { name: 'preferredReadReplica', type: 'int32', versions: '11+', default: -1 },
        { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
  ],
} as const satisfies ApiDecl;
