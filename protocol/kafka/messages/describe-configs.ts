/**
 * DescribeConfigs (API key 32), versions 0-4 served; flexible versions (compact encodings, tagged fields) 4+.
 * Transcribed from Apache Kafka's DescribeConfigsRequest.json / DescribeConfigsResponse.json (whose validVersions
 * are 0-4); fields that exist only outside 0-4 are left out.
 *
 * Request:
 *   resources: [{
 *     resourceType: int8
 *     resourceName: string
 *     configurationKeys: []string   (null v0+)
 *   }]
 *   includeSynonyms: bool   (v1+, default false)
 *   includeDocumentation: bool   (v3+, default false)
 *
 * Response:
 *   throttleTimeMs: int32
 *   results: [{
 *     errorCode: int16
 *     errorMessage: string   (null v0+)
 *     resourceType: int8
 *     resourceName: string
 *     configs: [{
 *       name: string
 *       value: string   (null v0+)
 *       readOnly: bool
 *       isDefault: bool   (v0)
 *       configSource: int8   (v1+, default -1)
 *       isSensitive: bool
 *       synonyms: [{   (v1+)
 *         name: string   (v1+)
 *         value: string   (v1+, null v0+)
 *         source: int8   (v1+)
 *       }]
 *       configType: int8   (v3+, default 0)
 *       documentation: string   (v3+, null v0+)
 *     }]
 *   }]
 */
import type { ApiDecl } from '../schema.js';

export const DESCRIBE_CONFIGS = {
  key: 32,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  flexibleVersions: '4+',
  request: [
    { name: 'resources', type: '[]struct', versions: '0+', fields: [
      { name: 'resourceType', type: 'int8', versions: '0+' },
      { name: 'resourceName', type: 'string', versions: '0+' },
      { name: 'configurationKeys', type: '[]string', versions: '0+', nullableVersions: '0+' },
    ] },
    { name: 'includeSynonyms', type: 'bool', versions: '1+', default: false },
    { name: 'includeDocumentation', type: 'bool', versions: '3+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'results', type: '[]struct', versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
      { name: 'resourceType', type: 'int8', versions: '0+' },
      { name: 'resourceName', type: 'string', versions: '0+' },
      { name: 'configs', type: '[]struct', versions: '0+', fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
        { name: 'readOnly', type: 'bool', versions: '0+' },
        { name: 'isDefault', type: 'bool', versions: '0' },
        { name: 'configSource', type: 'int8', versions: '1+', default: -1 },
        { name: 'isSensitive', type: 'bool', versions: '0+' },
        { name: 'synonyms', type: '[]struct', versions: '1+', fields: [
          { name: 'name', type: 'string', versions: '1+' },
          { name: 'value', type: 'string', versions: '1+', nullableVersions: '0+' },
          { name: 'source', type: 'int8', versions: '1+' },
        ] },
        { name: 'configType', type: 'int8', versions: '3+', default: 0 },
        { name: 'documentation', type: 'string', versions: '3+', nullableVersions: '0+' },
      ] },
    ] },
  ],
} as const satisfies ApiDecl;
