/**
 * SyncGroup (API key 14), versions 0-5 served; flexible versions (compact encodings, tagged fields) 4+.
 * Transcribed from Apache Kafka's SyncGroupRequest.json / SyncGroupResponse.json (whose validVersions
 * are 0-5); fields that exist only outside 0-5 are left out.
 *
 * Request:
 *   groupId: string
 *   generationId: int32
 *   memberId: string
 *   groupInstanceId: string   (v3+, null v3+, default null)
 *   protocolType: string   (v5+, null v5+, default null)
 *   protocolName: string   (v5+, null v5+, default null)
 *   assignments: [{
 *     memberId: string
 *     assignment: bytes
 *   }]
 *
 * Response:
 *   throttleTimeMs: int32   (v1+)
 *   errorCode: int16
 *   protocolType: string   (v5+, null v5+, default null)
 *   protocolName: string   (v5+, null v5+, default null)
 *   assignment: bytes
 */
import type { ApiDecl } from '../schema.js';

export const SYNC_GROUP = {
  key: 14,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  flexibleVersions: '4+',
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'assignments', type: '[]struct', versions: '0+', fields: [
      { name: 'memberId', type: 'string', versions: '0+' },
      { name: 'assignment', type: 'bytes', versions: '0+' },
    ] },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'assignment', type: 'bytes', versions: '0+' },
  ],
} as const satisfies ApiDecl;
