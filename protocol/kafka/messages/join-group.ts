/**
 * JoinGroup (API key 11), versions 0-9 served; flexible versions (compact encodings, tagged fields) 6+.
 * Transcribed from Apache Kafka's JoinGroupRequest.json / JoinGroupResponse.json (whose validVersions
 * are 0-9); v8 adds the join reason (logged nowhere, accepted), v9 the SkipAssignment flag (always false: rill
 * never runs a server-side assignor for classic groups).
 *
 * Request:
 *   groupId: string
 *   sessionTimeoutMs: int32
 *   rebalanceTimeoutMs: int32   (v1+, default -1)
 *   memberId: string
 *   groupInstanceId: string   (v5+, null v5+, default null)
 *   protocolType: string
 *   protocols: [{
 *     name: string
 *     metadata: bytes
 *   }]
 *   reason: string   (v8+, null v8+, default null)
 *
 * Response:
 *   throttleTimeMs: int32   (v2+)
 *   errorCode: int16
 *   generationId: int32   (default -1)
 *   protocolType: string   (v7+, null v7+, default null)
 *   protocolName: string   (null v7+)
 *   leader: string
 *   skipAssignment: bool   (v9+, default false)
 *   memberId: string
 *   members: [{
 *     memberId: string
 *     groupInstanceId: string   (v5+, null v5+, default null)
 *     metadata: bytes
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const JOIN_GROUP = {
  key: 11,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  flexibleVersions: '6+',
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'sessionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '1+', default: -1 },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolType', type: 'string', versions: '0+' },
    { name: 'protocols', type: '[]struct', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'metadata', type: 'bytes', versions: '0+' },
    ] },
    { name: 'reason', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+', default: -1 },
    { name: 'protocolType', type: 'string', versions: '7+', nullableVersions: '7+', default: null },
    { name: 'protocolName', type: 'string', versions: '0+', nullableVersions: '7+' },
    { name: 'leader', type: 'string', versions: '0+' },
    { name: 'skipAssignment', type: 'bool', versions: '9+', default: false },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'members', type: '[]struct', versions: '0+', fields: [
      { name: 'memberId', type: 'string', versions: '0+' },
      { name: 'groupInstanceId', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
      { name: 'metadata', type: 'bytes', versions: '0+' },
    ] },
  ],
} as const satisfies ApiDecl;
