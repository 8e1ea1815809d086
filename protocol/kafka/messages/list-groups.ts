/**
 * ListGroups (API key 16), versions 0-4 served; flexible versions (compact encodings, tagged fields) 3+.
 * Transcribed from Apache Kafka's ListGroupsRequest.json / ListGroupsResponse.json (whose validVersions
 * are 0-5); fields that exist only outside 0-4 are left out.
 *
 * Request:
 *   statesFilter: []string   (v4+)
 *
 * Response:
 *   throttleTimeMs: int32   (v1+)
 *   errorCode: int16
 *   groups: [{
 *     groupId: string
 *     protocolType: string
 *     groupState: string   (v4+)
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const LIST_GROUPS = {
  key: 16,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 4,
  flexibleVersions: '3+',
  request: [
    { name: 'statesFilter', type: '[]string', versions: '4+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'groups', type: '[]struct', versions: '0+', fields: [
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'protocolType', type: 'string', versions: '0+' },
      { name: 'groupState', type: 'string', versions: '4+' },
    ] },
  ],
} as const satisfies ApiDecl;
