/**
 * AlterConfigs (key 33), with Kafka's *incremental* semantics (IncrementalAlterConfigs): each
 * named config is set, or reverted to its default when `value` is null; others are untouched.
 *
 *   request:  { resources: [{ resourceType: 'topic', resourceName, configs: [{ name, value | null }] }], validateOnly? = false }
 *   response: { resources: [{ resourceType, resourceName, errorCode, errorMessage }] }
 */
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, ErrorCodeField, NullableString, type StaticRequest } from './common.js';
import { ResourceType } from './describe-configs.js';

export const AlterConfigsRequest = Type.Object({
  resources: Type.Array(
    Type.Object({
      resourceType: ResourceType,
      resourceName: Type.String({ maxLength: 32767 }),
      configs: Type.Array(Type.Object({ name: Type.String({ maxLength: 255 }), value: NullableString() }), { maxItems: 1000 }),
    }),
    { maxItems: 10000 },
  ),
  validateOnly: Defaulted(Type.Boolean(), false),
});
export const AlterConfigsResponse = Type.Object({
  resources: Type.Array(Type.Object({ resourceType: ResourceType, resourceName: Type.String(), errorCode: ErrorCodeField(), errorMessage: NullableString() })),
});
export type AlterConfigsRequest = StaticRequest<typeof AlterConfigsRequest>;
export type AlterConfigsResponse = Static<typeof AlterConfigsResponse>;
