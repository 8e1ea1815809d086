/**
 * OffsetFetch (API key 9), versions 0-8 served; flexible versions (compact encodings, tagged fields) 6+.
 * Transcribed from Apache Kafka's OffsetFetchRequest.json / OffsetFetchResponse.json (whose validVersions
 * are 0-9); fields that exist only outside 0-8 are left out.
 *
 * Request:
 *   groupId: string   (v0-7)
 *   topics: [{   (v0-7, null v2-7)
 *     name: string   (v0-7)
 *     partitionIndexes: []int32   (v0-7)
 *   }]
 *   groups: [{   (v8+)
 *     groupId: string   (v8+)
 *     topics: [{   (v8+, null v8+)
 *       name: string   (v8+)
 *       partitionIndexes: []int32   (v8+)
 *     }]
 *   }]
 *   requireStable: bool   (v7+, default false)
 *
 * Response:
 *   throttleTimeMs: int32   (v3+)
 *   topics: [{   (v0-7)
 *     name: string   (v0-7)
 *     partitions: [{   (v0-7)
 *       partitionIndex: int32   (v0-7)
 *       committedOffset: int64   (v0-7)
 *       committedLeaderEpoch: int32   (v5-7, default -1)
 *       metadata: string   (v0-7, null v0-7)
 *       errorCode: int16   (v0-7)
 *     }]
 *   }]
 *   errorCode: int16   (v2-7, default 0)
 *   groups: [{   (v8+)
 *     groupId: string   (v8+)
 *     topics: [{   (v8+)
 *       name: string   (v8+)
 *       partitions: [{   (v8+)
 *         partitionIndex: int32   (v8+)
 *         committedOffset: int64   (v8+)
 *         committedLeaderEpoch: int32   (v8+, default -1)
 *         metadata: string   (v8+, null v8+)
 *         errorCode: int16   (v8+)
 *       }]
 *     }]
 *     errorCode: int16   (v8+, default 0)
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const OFFSET_FETCH = {
  key: 9,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 8,
  flexibleVersions: '6+',
  request: [
    { name: 'groupId', type: 'string', versions: '0-7' },
    { name: 'topics', type: '[]struct', versions: '0-7', nullableVersions: '2-7', fields: [
      { name: 'name', type: 'string', versions: '0-7' },
      { name: 'partitionIndexes', type: '[]int32', versions: '0-7' },
    ] },
    { name: 'groups', type: '[]struct', versions: '8+', fields: [
      { name: 'groupId', type: 'string', versions: '8+' },
      { name: 'topics', type: '[]struct', versions: '8+', nullableVersions: '8+', fields: [
        { name: 'name', type: 'string', versions: '8+' },
        { name: 'partitionIndexes', type: '[]int32', versions: '8+' },
      ] },
    ] },
    { name: 'requireStable', type: 'bool', versions: '7+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    { name: 'topics', type: '[]struct', versions: '0-7', fields: [
      { name: 'name', type: 'string', versions: '0-7' },
      { name: 'partitions', type: '[]struct', versions: '0-7', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0-7' },
        { name: 'committedOffset', type: 'int64', versions: '0-7' },
        { name: 'committedLeaderEpoch', type: 'int32', versions: '5-7', default: -1 },
        { name: 'metadata', type: 'string', versions: '0-7', nullableVersions: '0-7' },
        { name: 'errorCode', type: 'int16', versions: '0-7' },
      ] },
    ] },
    { name: 'errorCode', type: 'int16', versions: '2-7', default: 0 },
    { name: 'groups', type: '[]struct', versions: '8+', fields: [
      { name: 'groupId', type: 'string', versions: '8+' },
      { name: 'topics', type: '[]struct', versions: '8+', fields: [
        { name: 'name', type: 'string', versions: '8+' },
        { name: 'partitions', type: '[]struct', versions: '8+', fields: [
          { name: 'partitionIndex', type: 'int32', versions: '8+' },
          { name: 'committedOffset', type: 'int64', versions: '8+' },
          { name: 'committedLeaderEpoch', type: 'int32', versions: '8+', default: -1 },
          { name: 'metadata', type: 'string', versions: '8+', nullableVersions: '8+' },
          { name: 'errorCode', type: 'int16', versions: '8+' },
        ] },
      ] },
      { name: 'errorCode', type: 'int16', versions: '8+', default: 0 },
    ] },
  ],
} as const satisfies ApiDecl;
