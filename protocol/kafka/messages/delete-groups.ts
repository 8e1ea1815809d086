/**
 * DeleteGroups (API key 42), versions 0-2 served; flexible versions (compact encodings, tagged fields) 2+.
 * Transcribed from Apache Kafka's DeleteGroupsRequest.json / DeleteGroupsResponse.json (whose validVersions
 * are 0-2); fields that exist only outside 0-2 are left out.
 *
 * Request:
 *   groupsNames: []string
 *
 * Response:
 *   throttleTimeMs: int32
 *   results: [{
 *     groupId: string
 *     errorCode: int16
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const DELETE_GROUPS = {
  key: 42,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  flexibleVersions: '2+',
  request: [
    { name: 'groupsNames', type: '[]string', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'results', type: '[]struct', versions: '0+', fields: [
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'errorCode', type: 'int16', versions: '0+' },
    ] },
  ],
} as const satisfies ApiDecl;
