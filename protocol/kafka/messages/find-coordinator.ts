/**
 * FindCoordinator (API key 10), versions 0-4 served; flexible versions (compact encodings, tagged fields) 3+.
 * Transcribed from Apache Kafka's FindCoordinatorRequest.json / FindCoordinatorResponse.json (whose validVersions
 * are 0-6); fields that exist only outside 0-4 are left out.
 *
 * Request:
 *   key: string   (v0-3)
 *   keyType: int8   (v1+, default 0)
 *   coordinatorKeys: []string   (v4+)
 *
 * Response:
 *   throttleTimeMs: int32   (v1+)
 *   errorCode: int16   (v0-3)
 *   errorMessage: string   (v1-3, null v1-3)
 *   nodeId: int32   (v0-3)
 *   host: string   (v0-3)
 *   port: int32   (v0-3)
 *   coordinators: [{   (v4+)
 *     key: string   (v4+)
 *     nodeId: int32   (v4+)
 *     host: string   (v4+)
 *     port: int32   (v4+)
 *     errorCode: int16   (v4+)
 *     errorMessage: string   (v4+, null v4+)
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const FIND_COORDINATOR = {
  key: 10,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 4,
  flexibleVersions: '3+',
  request: [
    { name: 'key', type: 'string', versions: '0-3' },
    { name: 'keyType', type: 'int8', versions: '1+', default: 0 },
    { name: 'coordinatorKeys', type: '[]string', versions: '4+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0-3' },
    { name: 'errorMessage', type: 'string', versions: '1-3', nullableVersions: '1-3' },
    { name: 'nodeId', type: 'int32', versions: '0-3' },
    { name: 'host', type: 'string', versions: '0-3' },
    { name: 'port', type: 'int32', versions: '0-3' },
    { name: 'coordinators', type: '[]struct', versions: '4+', fields: [
      { name: 'key', type: 'string', versions: '4+' },
      { name: 'nodeId', type: 'int32', versions: '4+' },
      { name: 'host', type: 'string', versions: '4+' },
      { name: 'port', type: 'int32', versions: '4+' },
      { name: 'errorCode', type: 'int16', versions: '4+' },
      { name: 'errorMessage', type: 'string', versions: '4+', nullableVersions: '4+' },
    ] },
  ],
} as const satisfies ApiDecl;
