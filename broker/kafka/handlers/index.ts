/**
 * The Kafka listener's handler table: API key → handler, one module per API. The dispatcher
 * serves exactly these keys and ApiVersions lists exactly them (limited to what
 * protocol/kafka/apis.ts declares).
 *
 * The classic group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups) come from
 * broker/kafka/handlers/groups.ts (`kafkaGroupHandlers`) and are merged in by startBroker
 * through `buildKafkaHandlerTable(extra)`. CreatePartitions is declared in the codec but not
 * served: the topic registry cannot add partitions to a topic yet.
 */
import { kafkaApi, KafkaApiKey } from '../../../protocol/kafka/index.js';
import type { KafkaHandler, KafkaHandlerTable } from '../handler.js';
import { apiVersionsHandler } from './api-versions.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { describeConfigsHandler } from './describe-configs.js';
import { fetchHandler } from './fetch.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { produceHandler } from './produce.js';

/** The listener's own APIs (everything but the group APIs, and ApiVersions, which is derived). */
export const coreKafkaHandlers: KafkaHandlerTable = new Map<number, KafkaHandler>([
  [KafkaApiKey.Produce, produceHandler],
  [KafkaApiKey.Fetch, fetchHandler],
  [KafkaApiKey.ListOffsets, listOffsetsHandler],
  [KafkaApiKey.Metadata, metadataHandler],
  [KafkaApiKey.CreateTopics, createTopicsHandler],
  [KafkaApiKey.DeleteTopics, deleteTopicsHandler],
  [KafkaApiKey.InitProducerId, initProducerIdHandler],
  [KafkaApiKey.DescribeConfigs, describeConfigsHandler],
]);

/** Core handlers + `extra` (the group handlers) + ApiVersions listing exactly that set. */
export function buildKafkaHandlerTable(extra: ReadonlyMap<number, KafkaHandler> = new Map()): KafkaHandlerTable {
  const table = new Map<number, KafkaHandler>(coreKafkaHandlers);
  for (const [key, handler] of extra) {
    if (kafkaApi(key) === undefined) throw new Error(`Kafka API key ${key} has no declaration in protocol/kafka/apis.ts`);
    if (table.has(key) || key === KafkaApiKey.ApiVersions) throw new Error(`Kafka handler for API key ${key} registered twice`);
    table.set(key, handler);
  }
  let served: ReadonlySet<number> | null = null;
  table.set(KafkaApiKey.ApiVersions, apiVersionsHandler(() => (served ??= new Set(table.keys()))));
  return table;
}
