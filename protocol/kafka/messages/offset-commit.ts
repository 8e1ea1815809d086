/**
 * OffsetCommit (API key 8), versions 0-8 served; flexible versions (compact encodings, tagged fields) 8+.
 * Transcribed from Apache Kafka's OffsetCommitRequest.json / OffsetCommitResponse.json (whose validVersions
 * are 0-9); fields that exist only outside 0-8 are left out.
 *
 * Request:
 *   groupId: string
 *   generationIdOrMemberEpoch: int32   (v1+, default -1)
 *   memberId: string   (v1+)
 *   groupInstanceId: string   (v7+, null v7+, default null)
 *   retentionTimeMs: int64   (v2-4, default -1)
 *   topics: [{
 *     name: string
 *     partitions: [{
 *       partitionIndex: int32
 *       committedOffset: int64
 *       committedLeaderEpoch: int32   (v6+, default -1)
 *       commitTimestamp: int64   (v1, default -1)
 *       committedMetadata: string   (null v0+)
 *     }]
 *   }]
 *
 * Response:
 *   throttleTimeMs: int32   (v3+)
 *   topics: [{
 *     name: string
 *     partitions: [{
 *       partitionIndex: int32
 *       errorCode: int16
 *     }]
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const OFFSET_COMMIT = {
  key: 8,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 8,
  flexibleVersions: '8+',
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationIdOrMemberEpoch', type: 'int32', versions: '1+', default: -1 },
    { name: 'memberId', type: 'string', versions: '1+' },
    { name: 'groupInstanceId', type: 'string', versions: '7+', nullableVersions: '7+', default: null },
    { name: 'retentionTimeMs', type: 'int64', versions: '2-4', default: -1 },
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]struct', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'committedOffset', type: 'int64', versions: '0+' },
        { name: 'committedLeaderEpoch', type: 'int32', versions: '6+', default: -1 },
        { name: 'commitTimestamp', type: 'int64', versions: '1', default: -1 },
        { name: 'committedMetadata', type: 'string', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]struct', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies ApiDecl;
