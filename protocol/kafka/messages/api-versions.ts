/**
 * ApiVersions (API key 18), versions 0-3 served; flexible versions (compact encodings, tagged fields) 3+.
 * Transcribed from Apache Kafka's ApiVersionsRequest.json / ApiVersionsResponse.json (whose validVersions
 * are 0-4); fields that exist only outside 0-3 are left out.
 *
 * Request:
 *   clientSoftwareName: string   (v3+)
 *   clientSoftwareVersion: string   (v3+)
 *
 * Response:
 *   errorCode: int16
 *   apiKeys: [{
 *     apiKey: int16
 *     minVersion: int16
 *     maxVersion: int16
 *   }]
 *   throttleTimeMs: int32   (v1+)
 *   supportedFeatures: [{   (v3+, tag 0)
 *     name: string   (v3+)
 *     minVersion: int16   (v3+)
 *     maxVersion: int16   (v3+)
 *   }]
 *   finalizedFeaturesEpoch: int64   (v3+, tag 1, default -1)
 *   finalizedFeatures: [{   (v3+, tag 2)
 *     name: string   (v3+)
 *     maxVersionLevel: int16   (v3+)
 *     minVersionLevel: int16   (v3+)
 *   }]
 *   zkMigrationReady: bool   (v3+, tag 3, default false)
 */
import type { ApiDecl } from '../schema.js';

export const API_VERSIONS = {
  key: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 3,
  flexibleVersions: '3+',
  request: [
    { name: 'clientSoftwareName', type: 'string', versions: '3+' },
    { name: 'clientSoftwareVersion', type: 'string', versions: '3+' },
  ],
  response: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'apiKeys', type: '[]struct', versions: '0+', fields: [
      { name: 'apiKey', type: 'int16', versions: '0+' },
      { name: 'minVersion', type: 'int16', versions: '0+' },
      { name: 'maxVersion', type: 'int16', versions: '0+' },
    ] },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'supportedFeatures', type: '[]struct', versions: '3+', taggedVersions: '3+', tag: 0, fields: [
      { name: 'name', type: 'string', versions: '3+' },
      { name: 'minVersion', type: 'int16', versions: '3+' },
      { name: 'maxVersion', type: 'int16', versions: '3+' },
    ] },
    { name: 'finalizedFeaturesEpoch', type: 'int64', versions: '3+', taggedVersions: '3+', tag: 1, default: -1 },
    { name: 'finalizedFeatures', type: '[]struct', versions: '3+', taggedVersions: '3+', tag: 2, fields: [
      { name: 'name', type: 'string', versions: '3+' },
      { name: 'maxVersionLevel', type: 'int16', versions: '3+' },
      { name: 'minVersionLevel', type: 'int16', versions: '3+' },
    ] },
    { name: 'zkMigrationReady', type: 'bool', versions: '3+', taggedVersions: '3+', tag: 3, default: false },
  ],
} as const satisfies ApiDecl;
