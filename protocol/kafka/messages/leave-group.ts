/**
 * LeaveGroup (API key 13), versions 0-5 served; flexible versions (compact encodings, tagged fields) 4+.
 * Transcribed from Apache Kafka's LeaveGroupRequest.json / LeaveGroupResponse.json (whose validVersions
 * are 0-5); v5 adds a per-member leave reason (accepted, not kept).
 *
 * Request:
 *   groupId: string
 *   memberId: string   (v0-2)
 *   members: [{   (v3+)
 *     memberId: string   (v3+)
 *     groupInstanceId: string   (v3+, null v3+, default null)
 *     reason: string   (v5+, null v5+, default null)
 *   }]
 *
 * Response:
 *   throttleTimeMs: int32   (v1+)
 *   errorCode: int16
 *   members: [{   (v3+)
 *     memberId: string   (v3+)
 *     groupInstanceId: string   (v3+, null v3+)
 *     errorCode: int16   (v3+)
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const LEAVE_GROUP = {
  key: 13,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  flexibleVersions: '4+',
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0-2' },
    { name: 'members', type: '[]struct', versions: '3+', fields: [
      { name: 'memberId', type: 'string', versions: '3+' },
      { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
      { name: 'reason', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    ] },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'members', type: '[]struct', versions: '3+', fields: [
      { name: 'memberId', type: 'string', versions: '3+' },
      { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+' },
      { name: 'errorCode', type: 'int16', versions: '3+' },
    ] },
  ],
} as const satisfies ApiDecl;
