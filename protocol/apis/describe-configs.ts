/**
 * DescribeConfigs (key 32).
 *
 *   request:  { resources: [{ resourceType: 'topic' | 'broker', resourceName, configNames?: [name] | null (all, the default) }] }
 *   response: { resources: [{ resourceType, resourceName, errorCode, errorMessage,
 *               configs: [{ name, value, isDefault, readOnly, source: 'default' | 'topic' | 'broker' }] }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, Nullable, NullableString, type StaticRequest } from './common.js';

export const ResourceType = Type.Union([Type.Literal('topic'), Type.Literal('broker')]);
export const DescribeConfigsRequest = Type.Object({
  resources: Type.Array(
    Type.Object({ resourceType: ResourceType, resourceName: Type.String({ maxLength: 32767 }), configNames: Defaulted(Nullable(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 10000 })), null) }),
    { maxItems: 10000 },
  ),
});
export const ConfigEntry = Type.Object({
  name: Type.String(),
  value: NullableString(),
  isDefault: Type.Boolean(),
  readOnly: Type.Boolean(),
  source: Type.Union([Type.Literal('default'), Type.Literal('topic'), Type.Literal('broker')]),
});
export const DescribeConfigsResponse = Type.Object({
  resources: Type.Array(
    Type.Object({ resourceType: ResourceType, resourceName: Type.String(), errorCode: ErrorCodeField(), errorMessage: NullableString(), configs: Type.Array(ConfigEntry) }),
  ),
});
export type DescribeConfigsRequest = StaticRequest<typeof DescribeConfigsRequest>;
export type DescribeConfigsResponse = Static<typeof DescribeConfigsResponse>;
export type ConfigEntry = Static<typeof ConfigEntry>;
