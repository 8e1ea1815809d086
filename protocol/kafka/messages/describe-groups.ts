/**
 * DescribeGroups (API key 15), versions 0-5 served; flexible versions (compact encodings, tagged fields) 5+.
 * Transcribed from Apache Kafka's DescribeGroupsRequest.json / DescribeGroupsResponse.json (whose validVersions
 * are 0-5); fields that exist only outside 0-5 are left out.
 *
 * Request:
 *   groups: []string
 *   includeAuthorizedOperations: bool   (v3+)
 *
 * Response:
 *   throttleTimeMs: int32   (v1+)
 *   groups: [{
 *     errorCode: int16
 *     groupId: string
 *     groupState: string
 *     protocolType: string
 *     protocolData: string
 *     members: [{
 *       memberId: string
 *       groupInstanceId: string   (v4+, null v4+, default null)
 *       clientId: string
 *       clientHost: string
 *       memberMetadata: bytes
 *       memberAssignment: bytes
 *     }]
 *     authorizedOperations: int32   (v3+, default -2147483648)
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const DESCRIBE_GROUPS = {
  key: 15,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  flexibleVersions: '5+',
  request: [
    { name: 'groups', type: '[]string', versions: '0+' },
    { name: 'includeAuthorizedOperations', type: 'bool', versions: '3+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'groups', type: '[]struct', versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'groupState', type: 'string', versions: '0+' },
      { name: 'protocolType', type: 'string', versions: '0+' },
      { name: 'protocolData', type: 'string', versions: '0+' },
      { name: 'members', type: '[]struct', versions: '0+', fields: [
        { name: 'memberId', type: 'string', versions: '0+' },
        { name: 'groupInstanceId', type: 'string', versions: '4+', nullableVersions: '4+', default: null },
        { name: 'clientId', type: 'string', versions: '0+' },
        { name: 'clientHost', type: 'string', versions: '0+' },
        { name: 'memberMetadata', type: 'bytes', versions: '0+' },
        { name: 'memberAssignment', type: 'bytes', versions: '0+' },
      ] },
      { name: 'authorizedOperations', type: 'int32', versions: '3+', default: -2147483648 },
    ] },
  ],
} as const satisfies ApiDecl;
