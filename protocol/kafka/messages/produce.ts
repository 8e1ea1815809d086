/**
 * Produce (API key 0), versions 3-9 served; flexible versions (compact encodings, tagged fields) 9+.
 * Transcribed from Apache Kafka's ProduceRequest.json / ProduceResponse.json (whose validVersions
 * are 0-11); fields that exist only outside 3-9 are left out.
 *
 * Request:
 *   transactionalId: string   (v3+, null v3+, default null)
 *   acks: int16
 *   timeoutMs: int32
 *   topicData: [{
 *     name: string
 *     partitionData: [{
 *       index: int32
 *       records: records   (null v0+)
 *     }]
 *   }]
 *
 * Response:
 *   responses: [{
 *     name: string
 *     partitionResponses: [{
 *       index: int32
 *       errorCode: int16
 *       baseOffset: int64
 *       logAppendTimeMs: int64   (v2+, default -1)
 *       logStartOffset: int64   (v5+, default -1)
 *       recordErrors: [{   (v8+)
 *         batchIndex: int32   (v8+)
 *         batchIndexErrorMessage: string   (v8+, null v8+, default null)
 *       }]
 *       errorMessage: string   (v8+, null v8+, default null)
 *     }]
 *   }]
 *   throttleTimeMs: int32   (v1+, default 0)
 */
import type { ApiDecl } from '../schema.js';

export const PRODUCE = {
  key: 0,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 9,
  flexibleVersions: '9+',
  request: [
    { name: 'transactionalId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'acks', type: 'int16', versions: '0+' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    { name: 'topicData', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitionData', type: '[]struct', versions: '0+', fields: [
        { name: 'index', type: 'int32', versions: '0+' },
        { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
  ],
  response: [
    { name: 'responses', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitionResponses', type: '[]struct', versions: '0+', fields: [
        { name: 'index', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'baseOffset', type: 'int64', versions: '0+' },
        { name: 'logAppendTimeMs', type: 'int64', versions: '2+', default: -1 },
        { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
        { name: 'recordErrors', type: '[]struct', versions: '8+', fields: [
          { name: 'batchIndex', type: 'int32', versions: '8+' },
          { name: 'batchIndexErrorMessage', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
        ] },
        { name: 'errorMessage', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
      ] },
    ] },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', default: 0 },
  ],
} as const satisfies ApiDecl;
