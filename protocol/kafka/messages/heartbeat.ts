/**
 * Heartbeat (API key 12), versions 0-4 served; flexible versions (compact encodings, tagged fields) 4+.
 * Transcribed from Apache Kafka's HeartbeatRequest.json / HeartbeatResponse.json (whose validVersions
 * are 0-4); fields that exist only outside 0-4 are left out.
 *
 * Request:
 *   groupId: string
 *   generationId: int32
 *   memberId: string
 *   groupInstanceId: string   (v3+, null v3+, default null)
 *
 * Response:
 *   throttleTimeMs: int32   (v1+)
 *   errorCode: int16
 */
import type { ApiDecl } from '../schema.js';

export const HEARTBEAT = {
  key: 12,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  flexibleVersions: '4+',
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
  ],
} as const satisfies ApiDecl;
