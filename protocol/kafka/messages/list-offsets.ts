/**
 * ListOffsets (API key 2), versions 0-9 served; flexible versions (compact encodings, tagged fields) 6+.
 * Transcribed from Apache Kafka's ListOffsetsRequest.json / ListOffsetsResponse.json (whose validVersions
 * are 0-10); v7-9 add no fields, only the special timestamps -3 (max timestamp), -4 (earliest
 * local) and -5 (latest tiered); v10's timeoutMs is left out.
 *
 * Request:
 *   replicaId: int32
 *   isolationLevel: int8   (v2+)
 *   topics: [{
 *     name: string
 *     partitions: [{
 *       partitionIndex: int32
 *       currentLeaderEpoch: int32   (v4+, default -1)
 *       timestamp: int64
 *       maxNumOffsets: int32   (v0, default 1)
 *     }]
 *   }]
 *
 * Response:
 *   throttleTimeMs: int32   (v2+)
 *   topics: [{
 *     name: string
 *     partitions: [{
 *       partitionIndex: int32
 *       errorCode: int16
 *       oldStyleOffsets: []int64   (v0)
 *       timestamp: int64   (v1+, default -1)
 *       offset: int64   (v1+, default -1)
 *       leaderEpoch: int32   (v4+, default -1)
 *     }]
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const LIST_OFFSETS = {
  key: 2,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 9,
  flexibleVersions: '6+',
  request: [
    { name: 'replicaId', type: 'int32', versions: '0+' },
    { name: 'isolationLevel', type: 'int8', versions: '2+' },
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]struct', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'currentLeaderEpoch', type: 'int32', versions: '4+', default: -1 },
        { name: 'timestamp', type: 'int64', versions: '0+' },
        { name: 'maxNumOffsets', type: 'int32', versions: '0', default: 1 },
      ] },
    ] },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]struct', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'oldStyleOffsets', type: '[]int64', versions: '0' },
        { name: 'timestamp', type: 'int64', versions: '1+', default: -1 },
        { name: 'offset', type: 'int64', versions: '1+', default: -1 },
        { name: 'leaderEpoch', type: 'int32', versions: '4+', default: -1 },
      ] },
    ] },
  ],
} as const satisfies ApiDecl;
