/**
 * CreateTopics (API key 19), versions 0-7 served; flexible versions (compact encodings, tagged fields) 5+.
 * Transcribed from Apache Kafka's CreateTopicsRequest.json / CreateTopicsResponse.json (whose validVersions
 * are 0-7); fields that exist only outside 0-7 are left out.
 *
 * Request:
 *   topics: [{
 *     name: string
 *     numPartitions: int32
 *     replicationFactor: int16
 *     assignments: [{
 *       partitionIndex: int32
 *       brokerIds: []int32
 *     }]
 *     configs: [{
 *       name: string
 *       value: string   (null v0+)
 *     }]
 *   }]
 *   timeoutMs: int32   (default 60000)
 *   validateOnly: bool   (v1+, default false)
 *
 * Response:
 *   throttleTimeMs: int32   (v2+)
 *   topics: [{
 *     name: string
 *     topicId: uuid   (v7+)
 *     errorCode: int16
 *     errorMessage: string   (v1+, null v0+)
 *     topicConfigErrorCode: int16   (v5+, tag 0)
 *     numPartitions: int32   (v5+, default -1)
 *     replicationFactor: int16   (v5+, default -1)
 *     configs: [{   (v5+, null v5+)
 *       name: string   (v5+)
 *       value: string   (v5+, null v5+)
 *       readOnly: bool   (v5+)
 *       configSource: int8   (v5+, default -1)
 *       isSensitive: bool   (v5+)
 *     }]
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const CREATE_TOPICS = {
  key: 19,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  flexibleVersions: '5+',
  request: [
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'numPartitions', type: 'int32', versions: '0+' },
      { name: 'replicationFactor', type: 'int16', versions: '0+' },
      { name: 'assignments', type: '[]struct', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'brokerIds', type: '[]int32', versions: '0+' },
      ] },
      { name: 'configs', type: '[]struct', versions: '0+', fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60000 },
    { name: 'validateOnly', type: 'bool', versions: '1+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    { name: 'topics', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'topicId', type: 'uuid', versions: '7+' },
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '1+', nullableVersions: '0+' },
      { name: 'topicConfigErrorCode', type: 'int16', versions: '5+', taggedVersions: '5+', tag: 0 },
      { name: 'numPartitions', type: 'int32', versions: '5+', default: -1 },
      { name: 'replicationFactor', type: 'int16', versions: '5+', default: -1 },
      { name: 'configs', type: '[]struct', versions: '5+', nullableVersions: '5+', fields: [
        { name: 'name', type: 'string', versions: '5+' },
        { name: 'value', type: 'string', versions: '5+', nullableVersions: '5+' },
        { name: 'readOnly', type: 'bool', versions: '5+' },
        { name: 'configSource', type: 'int8', versions: '5+', default: -1 },
        { name: 'isSensitive', type: 'bool', versions: '5+' },
      ] },
    ] },
  ],
} as const satisfies ApiDecl;
