/**
 * DeleteTopics (API key 20), versions 0-6 served; flexible versions (compact encodings, tagged fields) 4+.
 * Transcribed from Apache Kafka's DeleteTopicsRequest.json / DeleteTopicsResponse.json (whose validVersions
 * are 0-6); fields that exist only outside 0-6 are left out.
 *
 * Request:
 *   topics: [{   (v6+)
 *     name: string   (v6+, null v6+, default null)
 *     topicId: uuid   (v6+)
 *   }]
 *   topicNames: []string   (v0-5)
 *   timeoutMs: int32
 *
 * Response:
 *   throttleTimeMs: int32   (v1+)
 *   responses: [{
 *     name: string   (null v6+)
 *     topicId: uuid   (v6+)
 *     errorCode: int16
 *     errorMessage: string   (v5+, null v5+, default null)
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const DELETE_TOPICS = {
  key: 20,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  flexibleVersions: '4+',
  request: [
    { name: 'topics', type: '[]struct', versions: '6+', fields: [
      { name: 'name', type: 'string', versions: '6+', nullableVersions: '6+', default: null },
      { name: 'topicId', type: 'uuid', versions: '6+' },
    ] },
    { name: 'topicNames', type: '[]string', versions: '0-5' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'responses', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+', nullableVersions: '6+' },
      { name: 'topicId', type: 'uuid', versions: '6+' },
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    ] },
  ],
} as const satisfies ApiDecl;
