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

/*
 * v8 moved the topics of request and response into a list of groups, with the same fields:
 * each shape is declared once and placed at both levels with that level's versions.
 */

/** The request's topics: `versions` they exist in, `nullableVersions` in which null means "all". */
function requestTopics<const V extends string, const N extends string>(versions: V, nullableVersions: N) {
  return { name: 'topics', type: '[]struct', versions, nullableVersions, fields: [
    { name: 'name', type: 'string', versions },
    { name: 'partitionIndexes', type: '[]int32', versions },
  ] } as const;
}

/** The response's topics; `epochVersions`: where committedLeaderEpoch exists. */
function responseTopics<const V extends string, const E extends string>(versions: V, epochVersions: E) {
  return { name: 'topics', type: '[]struct', versions, fields: [
    { name: 'name', type: 'string', versions },
    { name: 'partitions', type: '[]struct', versions, fields: [
      { name: 'partitionIndex', type: 'int32', versions },
      { name: 'committedOffset', type: 'int64', versions },
      { name: 'committedLeaderEpoch', type: 'int32', versions: epochVersions, default: -1 },
      { name: 'metadata', type: 'string', versions, nullableVersions: versions },
      { name: 'errorCode', type: 'int16', versions },
    ] },
  ] } as const;
}

export const OFFSET_FETCH = {
  key: 9,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 8,
  flexibleVersions: '6+',
  request: [
    { name: 'groupId', type: 'string', versions: '0-7' },
    requestTopics('0-7', '2-7'),
    { name: 'groups', type: '[]struct', versions: '8+', fields: [
      { name: 'groupId', type: 'string', versions: '8+' },
      requestTopics('8+', '8+'),
    ] },
    { name: 'requireStable', type: 'bool', versions: '7+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    responseTopics('0-7', '5-7'),
    { name: 'errorCode', type: 'int16', versions: '2-7', default: 0 },
    { name: 'groups', type: '[]struct', versions: '8+', fields: [
      { name: 'groupId', type: 'string', versions: '8+' },
      responseTopics('8+', '8+'),
      { name: 'errorCode', type: 'int16', versions: '8+', default: 0 },
    ] },
  ],
} as const satisfies ApiDecl;
