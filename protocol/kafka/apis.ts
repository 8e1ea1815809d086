/**
 * The registry of the Kafka APIs rill serves: each API's declaration (messages/<api>.ts: key,
 * name, served min/max versions, flexible versions, request and response fields), with the
 * codec plan of every served version compiled once at load. The listener dispatches by it and
 * the ApiVersions response is computed from it.
 */
import { compileMessage, type MessagePlan } from './codec.js';
import { API_VERSIONS } from './messages/api-versions.js';
import { CREATE_PARTITIONS } from './messages/create-partitions.js';
import { CREATE_TOPICS } from './messages/create-topics.js';
import { DELETE_GROUPS } from './messages/delete-groups.js';
import { DELETE_TOPICS } from './messages/delete-topics.js';
import { DESCRIBE_CONFIGS } from './messages/describe-configs.js';
import { DESCRIBE_GROUPS } from './messages/describe-groups.js';
import { FETCH } from './messages/fetch.js';
import { FIND_COORDINATOR } from './messages/find-coordinator.js';
import { HEARTBEAT } from './messages/heartbeat.js';
import { INIT_PRODUCER_ID } from './messages/init-producer-id.js';
import { JOIN_GROUP } from './messages/join-group.js';
import { LEAVE_GROUP } from './messages/leave-group.js';
import { LIST_GROUPS } from './messages/list-groups.js';
import { LIST_OFFSETS } from './messages/list-offsets.js';
import { METADATA } from './messages/metadata.js';
import { OFFSET_COMMIT } from './messages/offset-commit.js';
import { OFFSET_FETCH } from './messages/offset-fetch.js';
import { PRODUCE } from './messages/produce.js';
import { SYNC_GROUP } from './messages/sync-group.js';
import { inVersions, type ApiDecl } from './schema.js';

export {
  API_VERSIONS, CREATE_PARTITIONS, CREATE_TOPICS, DELETE_GROUPS, DELETE_TOPICS, DESCRIBE_CONFIGS, DESCRIBE_GROUPS, FETCH,
  FIND_COORDINATOR, HEARTBEAT, INIT_PRODUCER_ID, JOIN_GROUP, LEAVE_GROUP, LIST_GROUPS, LIST_OFFSETS, METADATA,
  OFFSET_COMMIT, OFFSET_FETCH, PRODUCE, SYNC_GROUP,
};

/** Every served API, ascending key. */
export const KAFKA_APIS: readonly ApiDecl[] = [
  PRODUCE, FETCH, LIST_OFFSETS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, JOIN_GROUP,
  HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS, API_VERSIONS, CREATE_TOPICS,
  DELETE_TOPICS, INIT_PRODUCER_ID, DESCRIBE_CONFIGS, CREATE_PARTITIONS, DELETE_GROUPS,
].sort((a, b) => a.key - b.key);

/** Kafka's API keys for the served APIs: `KafkaApiKey.Produce === 0`. */
export const KafkaApiKey = {
  Produce: PRODUCE.key,
  Fetch: FETCH.key,
  ListOffsets: LIST_OFFSETS.key,
  Metadata: METADATA.key,
  OffsetCommit: OFFSET_COMMIT.key,
  OffsetFetch: OFFSET_FETCH.key,
  FindCoordinator: FIND_COORDINATOR.key,
  JoinGroup: JOIN_GROUP.key,
  Heartbeat: HEARTBEAT.key,
  LeaveGroup: LEAVE_GROUP.key,
  SyncGroup: SYNC_GROUP.key,
  DescribeGroups: DESCRIBE_GROUPS.key,
  ListGroups: LIST_GROUPS.key,
  ApiVersions: API_VERSIONS.key,
  CreateTopics: CREATE_TOPICS.key,
  DeleteTopics: DELETE_TOPICS.key,
  InitProducerId: INIT_PRODUCER_ID.key,
  DescribeConfigs: DESCRIBE_CONFIGS.key,
  CreatePartitions: CREATE_PARTITIONS.key,
  DeleteGroups: DELETE_GROUPS.key,
} as const;

interface CompiledApi {
  readonly api: ApiDecl;
  /** Indexed by version; undefined below minVersion. */
  readonly request: MessagePlan[];
  readonly response: MessagePlan[];
}

const BY_KEY = new Map<number, CompiledApi>();
for (const api of KAFKA_APIS) {
  if (BY_KEY.has(api.key)) throw new Error(`Kafka API key ${api.key} declared twice`);
  const request: MessagePlan[] = [];
  const response: MessagePlan[] = [];
  for (let v = api.minVersion; v <= api.maxVersion; v++) {
    const flexible = inVersions(api.flexibleVersions, v);
    request[v] = compileMessage(api.request, v, flexible);
    response[v] = compileMessage(api.response, v, flexible);
  }
  BY_KEY.set(api.key, { api, request, response });
}

export function kafkaApi(apiKey: number): ApiDecl | undefined {
  return BY_KEY.get(apiKey)?.api;
}

export function isSupportedVersion(apiKey: number, apiVersion: number): boolean {
  const api = BY_KEY.get(apiKey)?.api;
  return api !== undefined && apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
}

/** Whether `apiVersion` of `apiKey` uses flexible encodings (any version number; false for unknown keys). */
export function isFlexibleVersion(apiKey: number, apiVersion: number): boolean {
  const api = BY_KEY.get(apiKey)?.api;
  return api !== undefined && inVersions(api.flexibleVersions, apiVersion);
}

/** The compiled plan of a served (apiKey, version), or undefined. */
export function messagePlan(apiKey: number, apiVersion: number, kind: 'request' | 'response'): MessagePlan | undefined {
  return BY_KEY.get(apiKey)?.[kind][apiVersion];
}

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** The `apiKeys` list of an ApiVersions response, computed from the declarations. */
export function apiVersionsTable(): ApiVersionRange[] {
  return KAFKA_APIS.map((a) => ({ apiKey: a.key, minVersion: a.minVersion, maxVersion: a.maxVersion }));
}
