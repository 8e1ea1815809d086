/**
 * The API registry: every API declared once, as data. The broker's dispatcher, the client and
 * ApiVersions all read it. Validators are compiled once (TypeBox's TypeCompiler), on first use.
 *
 * Keys follow Apache Kafka's numbering where the API is the same concept; rill's own APIs use
 * keys from 1000 up.
 */
import { Kind, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { AlterConfigsRequest, AlterConfigsResponse } from './alter-configs.js';
import { AlterGroupOffsetsRequest, AlterGroupOffsetsResponse } from './alter-group-offsets.js';
import { ApiVersionsRequest, ApiVersionsResponse } from './api-versions.js';
import { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from './consumer-group-heartbeat.js';
import { CreateTopicsRequest, CreateTopicsResponse } from './create-topics.js';
import { DeleteGroupsRequest, DeleteGroupsResponse } from './delete-groups.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from './delete-topics.js';
import { DescribeClusterRequest, DescribeClusterResponse } from './describe-cluster.js';
import { DescribeConfigsRequest, DescribeConfigsResponse } from './describe-configs.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from './describe-groups.js';
import { ElectLeadersRequest, ElectLeadersResponse } from './elect-leaders.js';
import { FetchRequest, FetchResponse } from './fetch.js';
import { FindCoordinatorRequest, FindCoordinatorResponse } from './find-coordinator.js';
import { InitProducerIdRequest, InitProducerIdResponse } from './init-producer-id.js';
import { ListGroupsRequest, ListGroupsResponse } from './list-groups.js';
import { ListOffsetsRequest, ListOffsetsResponse } from './list-offsets.js';
import { MetadataRequest, MetadataResponse } from './metadata.js';
import { OffsetCommitRequest, OffsetCommitResponse } from './offset-commit.js';
import { OffsetFetchRequest, OffsetFetchResponse } from './offset-fetch.js';
import { OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse } from './offsets-for-leader-epoch.js';
import { ProduceRequest, ProduceResponse } from './produce.js';
import type { StaticRequest } from './common.js';
import { describeSchemaError, notAMap, type RequestErrorResponse } from './request-error.js';

function api<K extends number, Req extends TSchema, Res extends TSchema>(key: K, request: Req, response: Res) {
  return { key, minVersion: 0, maxVersion: 0, request, response } as const;
}

export const APIS = {
  Produce: api(0, ProduceRequest, ProduceResponse),
  Fetch: api(1, FetchRequest, FetchResponse),
  ListOffsets: api(2, ListOffsetsRequest, ListOffsetsResponse),
  Metadata: api(3, MetadataRequest, MetadataResponse),
  OffsetCommit: api(8, OffsetCommitRequest, OffsetCommitResponse),
  OffsetFetch: api(9, OffsetFetchRequest, OffsetFetchResponse),
  FindCoordinator: api(10, FindCoordinatorRequest, FindCoordinatorResponse),
  DescribeGroups: api(15, DescribeGroupsRequest, DescribeGroupsResponse),
  ListGroups: api(16, ListGroupsRequest, ListGroupsResponse),
  ApiVersions: api(18, ApiVersionsRequest, ApiVersionsResponse),
  CreateTopics: api(19, CreateTopicsRequest, CreateTopicsResponse),
  DeleteTopics: api(20, DeleteTopicsRequest, DeleteTopicsResponse),
  InitProducerId: api(22, InitProducerIdRequest, InitProducerIdResponse),
  OffsetsForLeaderEpoch: api(23, OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse),
  DescribeConfigs: api(32, DescribeConfigsRequest, DescribeConfigsResponse),
  AlterConfigs: api(33, AlterConfigsRequest, AlterConfigsResponse),
  DeleteGroups: api(42, DeleteGroupsRequest, DeleteGroupsResponse),
  ElectLeaders: api(43, ElectLeadersRequest, ElectLeadersResponse),
  DescribeCluster: api(60, DescribeClusterRequest, DescribeClusterResponse),
  ConsumerGroupHeartbeat: api(68, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse),
  AlterGroupOffsets: api(1001, AlterGroupOffsetsRequest, AlterGroupOffsetsResponse),
} as const;

export type ApiName = keyof typeof APIS;
export type RequestOf<N extends ApiName> = Static<(typeof APIS)[N]['request']>;
export type ResponseOf<N extends ApiName> = Static<(typeof APIS)[N]['response']>;
/** A request as a handler sees it: after `applyRequestDefaults`, no field is missing. */
export type DefaultedRequestOf<N extends ApiName> = StaticRequest<(typeof APIS)[N]['request']>;
export interface ApiDefinition {
  name: ApiName;
  key: number;
  minVersion: number;
  maxVersion: number;
  request: TSchema;
  response: TSchema;
}

const BY_KEY = new Map<number, ApiDefinition>();
for (const [name, def] of Object.entries(APIS)) {
  BY_KEY.set(def.key, { name: name as ApiName, ...def });
}

export function apiByKey(key: number): ApiDefinition | undefined {
  return BY_KEY.get(key);
}

export function allApis(): ApiDefinition[] {
  return [...BY_KEY.values()].sort((a, b) => a.key - b.key);
}

const checks = new Map<TSchema, TypeCheck<TSchema>>();
function checkerFor(schema: TSchema): TypeCheck<TSchema> {
  let c = checks.get(schema);
  if (c === undefined) {
    c = TypeCompiler.Compile(schema);
    checks.set(schema, c);
  }
  return c;
}

/**
 * Validates a decoded payload against a schema. Returns null when valid, otherwise one line
 * naming the first offending field (e.g. "/topics/0/partitions/2/partition: Expected integer").
 */
export function validationError(schema: TSchema, payload: unknown): string | null {
  const c = checkerFor(schema);
  if (c.Check(payload)) return null;
  const first = c.Errors(payload).First();
  return first ? `${first.path || '/'}: ${first.message}` : 'payload does not match the schema';
}

/**
 * Checks a decoded request payload: null when valid, otherwise the request-error answer
 * naming the first offending field (./request-error.ts).
 */
export function checkRequest(def: ApiDefinition, payload: unknown): RequestErrorResponse | null {
  // The map check comes first: a schema whose fields are all optional would accept any object,
  // including the placeholder msgpackr decodes the reserved byte 0xC1 into.
  const shape = notAMap(payload);
  if (shape !== null) return shape;
  const c = checkerFor(def.request);
  if (c.Check(payload)) return null;
  const first = c.Errors(payload).First();
  return first === undefined ? { errorCode: 42, errorMessage: 'request: does not match the schema' } : describeSchemaError(first);
}

/**
 * How a request schema's defaults are applied. TypeBox's Value.Default visits the whole payload
 * and lists every object schema's keys as it goes: on Fetch (replicaId, and each partition's
 * currentLeaderEpoch), the broker's busiest request at low latency, that was its largest single
 * source of young-generation garbage (~15% of the broker's bytes at 20,000 msgs/s;
 * docs/BENCHMARKS.md, issue 8: garbage per request). So schemas made only of objects, arrays of
 * objects and primitive defaults get a filler planned once (below) that does the same in place
 * without allocating; any other schema with defaults still goes through Value.Default.
 */
type Filler = (value: unknown) => void;
/** null: the schema has no defaults; 'walk': Value.Default; else the filler. */
type DefaultsPlan = null | 'walk' | Filler;
const defaultsPlans = new Map<TSchema, DefaultsPlan>();
function hasDefaults(schema: unknown): boolean {
  if (schema === null || typeof schema !== 'object') return false;
  if ('default' in schema) return true;
  return Object.values(schema).some(hasDefaults);
}
/** Value.Default's own test for an object it fills (arrays included). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
/** A filler for a schema with defaults, or 'walk' when it is not one this plan covers. */
function planFiller(schema: TSchema): Filler | 'walk' {
  if ('default' in schema) return 'walk';
  if (schema[Kind] === 'Array') {
    const items = schema.items as TSchema;
    const fill = planFiller(items);
    if (fill === 'walk' || items[Kind] !== 'Object') return 'walk';
    return (value) => {
      if (!Array.isArray(value)) return;
      for (let i = 0; i < value.length; i++) fill(value[i]);
    };
  }
  if (schema[Kind] !== 'Object' || hasDefaults(schema.additionalProperties)) return 'walk';
  const keys: string[] = [];
  const defaults: unknown[] = [];
  const nested: Array<Filler | null> = [];
  for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
    if (!hasDefaults(property)) continue;
    if ('default' in property) {
      const { default: value, ...rest } = property as TSchema & { default?: unknown };
      // Object defaults are cloned per request and defaults under a default need the walk.
      if (hasDefaults(rest) || (typeof value === 'object' && value !== null) || typeof value === 'function') return 'walk';
      keys.push(key);
      defaults.push(value);
      nested.push(null);
    } else {
      const fill = planFiller(property);
      if (fill === 'walk') return 'walk';
      keys.push(key);
      defaults.push(undefined);
      nested.push(fill);
    }
  }
  return (value) => {
    if (!isObject(value)) return;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const fill = nested[i]!;
      if (fill === null) {
        if (value[key] === undefined) value[key] = defaults[i];
      } else {
        fill(value[key]);
      }
    }
  };
}

/**
 * Fills, in place, every omitted field that has a `default` in the API's request schema: the
 * one place defaults are applied. APIs that declare none (Produce, the hottest) pay nothing.
 */
export function applyRequestDefaults(def: ApiDefinition, payload: unknown): void {
  let plan = defaultsPlans.get(def.request);
  if (plan === undefined) {
    plan = hasDefaults(def.request) ? planFiller(def.request) : null;
    defaultsPlans.set(def.request, plan);
  }
  if (plan === null) return;
  if (plan === 'walk') Value.Default(def.request, payload);
  else plan(payload);
}

export function validateRequest(def: ApiDefinition, payload: unknown): string | null {
  return validationError(def.request, payload);
}

export function validateResponse(def: ApiDefinition, payload: unknown): string | null {
  return validationError(def.response, payload);
}

export * from './alter-configs.js';
export * from './alter-group-offsets.js';
export * from './api-versions.js';
export * from './common.js';
export * from './consumer-group-heartbeat.js';
export * from './create-topics.js';
export * from './delete-groups.js';
export * from './delete-topics.js';
export * from './describe-cluster.js';
export * from './describe-configs.js';
export * from './describe-groups.js';
export * from './elect-leaders.js';
export * from './fetch.js';
export * from './find-coordinator.js';
export * from './init-producer-id.js';
export * from './list-groups.js';
export * from './list-offsets.js';
export * from './metadata.js';
export * from './offset-commit.js';
export * from './offset-fetch.js';
export * from './offsets-for-leader-epoch.js';
export * from './produce.js';
export * from './request-error.js';
