/**
 * CreatePartitions (API key 37), versions 0-3 served; flexible versions (compact encodings, tagged fields) 2+.
 * Transcribed from Apache Kafka's CreatePartitionsRequest.json / CreatePartitionsResponse.json (whose validVersions
 * are 0-3); fields that exist only outside 0-3 are left out.
 *
 * Request:
 *   topics: [{
 *     name: string
 *     count: int32
 *     assignments: [{   (null v0+)
 *       brokerIds: []int32
 *     }]
 *   }]
 *   timeoutMs: int32
 *   validateOnly: bool
 *
 * Response:
 *   throttleTimeMs: int32
 *   results: [{
 *     name: string
 *     errorCode: int16
 *     errorMessage: string   (null v0+, default null)
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const CREATE_PARTITIONS = {
  key: 37,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  flexibleVersions: '2+',
  request: [
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'count', type: 'int32', versions: '0+' },
      { name: 'assignments', type: '[]struct', versions: '0+', nullableVersions: '0+', fields: [
        { name: 'brokerIds', type: '[]int32', versions: '0+' },
      ] },
    ] },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'results', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    ] },
  ],
} as const satisfies ApiDecl;
