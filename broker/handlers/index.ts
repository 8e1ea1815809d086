/**
 * The handler table: API name → handler, one module per API. The dispatcher serves exactly
 * the APIs in the table (others answer UNSUPPORTED_VERSION) and ApiVersions lists them.
 *
 * The consumer-group APIs (FindCoordinator, ConsumerGroupHeartbeat, OffsetCommit, OffsetFetch,
 * ListGroups, DescribeGroups, DeleteGroups, AlterGroupOffsets) come from broker/groups/ and are
 * merged in by startBroker through `buildHandlerTable(groupHandlers)`.
 */
import type { ApiName } from '../../protocol/apis/index.js';
import type { Handler, HandlerTable } from '../context.js';
import { alterConfigsHandler } from './alter-configs.js';
import { apiVersionsHandler } from './api-versions.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { describeClusterHandler } from './describe-cluster.js';
import { describeConfigsHandler } from './describe-configs.js';
import { electLeadersHandler } from './elect-leaders.js';
import { fetchHandler } from './fetch.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { offsetsForLeaderEpochHandler } from './offsets-for-leader-epoch.js';
import { produceHandler } from './produce.js';

/** The broker's own APIs (everything but the group APIs and ApiVersions, which is derived). */
export const coreHandlers: HandlerTable = {
  Produce: produceHandler,
  Fetch: fetchHandler,
  ListOffsets: listOffsetsHandler,
  Metadata: metadataHandler,
  CreateTopics: createTopicsHandler,
  DeleteTopics: deleteTopicsHandler,
  DescribeConfigs: describeConfigsHandler,
  AlterConfigs: alterConfigsHandler,
  InitProducerId: initProducerIdHandler,
  OffsetsForLeaderEpoch: offsetsForLeaderEpochHandler,
  DescribeCluster: describeClusterHandler,
  ElectLeaders: electLeadersHandler,
};

/** Core handlers + `extra` (the group handlers) + ApiVersions listing exactly that set. */
export function buildHandlerTable(extra: HandlerTable = {}): HandlerTable {
  const table: HandlerTable = { ...coreHandlers };
  for (const [name, handler] of Object.entries(extra) as Array<[ApiName, Handler<ApiName>]>) {
    if (table[name] !== undefined) throw new Error(`handler for ${name} registered twice`);
    (table as Record<ApiName, Handler<ApiName>>)[name] = handler;
  }
  let served: ReadonlySet<ApiName> | null = null;
  table.ApiVersions = apiVersionsHandler(() => (served ??= new Set(Object.keys(table) as ApiName[])));
  return table;
}
