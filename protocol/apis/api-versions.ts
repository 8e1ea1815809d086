/**
 * ApiVersions (key 18). The first request on every connection: the client says who it is
 * (the broker keeps clientId per connection, for logs and DescribeGroups) and learns which
 * API versions the broker speaks.
 *
 *   request:  { clientId? = '', clientSoftwareName? = '', clientSoftwareVersion? = '' }
 *   response: { errorCode, apiKeys: [{ apiKey, minVersion, maxVersion }], throttleTimeMs }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Int32, type StaticRequest } from './common.js';

export const ApiVersionsRequest = Type.Object({
  clientId: Defaulted(Type.String({ maxLength: 255 }), ''),
  clientSoftwareName: Defaulted(Type.String({ maxLength: 255 }), ''),
  clientSoftwareVersion: Defaulted(Type.String({ maxLength: 255 }), ''),
});
export const ApiVersionsResponse = Type.Object({
  errorCode: ErrorCodeField(),
  apiKeys: Type.Array(Type.Object({ apiKey: Int32({ minimum: 0 }), minVersion: Int32({ minimum: 0 }), maxVersion: Int32({ minimum: 0 }) })),
  throttleTimeMs: Int32({ minimum: 0 }),
});
export type ApiVersionsRequest = StaticRequest<typeof ApiVersionsRequest>;
export type ApiVersionsResponse = Static<typeof ApiVersionsResponse>;
