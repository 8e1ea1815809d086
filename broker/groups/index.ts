/**
 * Consumer groups (DESIGN.md §7, KIP-848 style): what startBroker plugs in.
 *
 *   createGroupCoordinator(ctx)  the coordinator; `start()` creates/loads __consumer_offsets
 *   groupHandlers                the handlers of the eight group APIs
 *
 * Broker config keys read here: group.consumer.session.timeout.ms,
 * group.consumer.heartbeat.interval.ms, offsets.topic.num.partitions,
 * offsets.topic.replication.factor (a cluster only), offsets.retention.minutes,
 * offsets.retention.check.interval.ms, and, when the broker's
 * config table declares them, group.consumer.min.session.timeout.ms,
 * group.consumer.max.session.timeout.ms, group.consumer.rebalance.timeout.ms and
 * group.consumer.max.size (otherwise DEFAULT_GROUP_CONFIG's values); for classic groups
 * (broker/groups/classic/) group.initial.rebalance.delay.ms, group.min.session.timeout.ms,
 * group.max.session.timeout.ms and group.max.size (otherwise Kafka's defaults).
 */
import type { BrokerContext, HandlerTable } from '../context.js';
import { GroupCoordinator } from './coordinator.js';
import { DEFAULT_CLASSIC_GROUP_CONFIG, type ClassicGroupConfig } from './classic/groups.js';
import { DEFAULT_GROUP_CONFIG, type GroupConfig } from './group.js';
import {
  alterGroupOffsetsHandler,
  consumerGroupHeartbeatHandler,
  deleteGroupsHandler,
  describeGroupsHandler,
  findCoordinatorHandler,
  listGroupsHandler,
  offsetCommitHandler,
  offsetFetchHandler,
} from './handlers.js';
import { registerGroupMetrics } from './metrics.js';

export { GroupCoordinator } from './coordinator.js';
export { coordinatorOf } from './handlers.js';
export { OFFSETS_TOPIC, partitionForGroup } from './offsets-topic.js';
export { DEFAULT_GROUP_CONFIG, type GroupConfig } from './group.js';
export { DEFAULT_CLASSIC_GROUP_CONFIG, type ClassicGroupConfig } from './classic/groups.js';

/** Reads an integer config key >= `min`; keys the config table lacks keep `fallback`. */
function intReader(config: BrokerContext['config']): (key: string, fallback: number, min?: number) => number {
  const raw = config as unknown as Readonly<Record<string, unknown>>;
  return (key, fallback, min = 1) => {
    const v = raw[key];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : fallback;
  };
}

/** The classic groups' settings from the broker config. */
export function classicGroupConfigOf(config: BrokerContext['config']): ClassicGroupConfig {
  const int = intReader(config);
  return {
    initialRebalanceDelayMs: int('group.initial.rebalance.delay.ms', DEFAULT_CLASSIC_GROUP_CONFIG.initialRebalanceDelayMs, 0),
    minSessionTimeoutMs: int('group.min.session.timeout.ms', DEFAULT_CLASSIC_GROUP_CONFIG.minSessionTimeoutMs),
    maxSessionTimeoutMs: int('group.max.session.timeout.ms', DEFAULT_CLASSIC_GROUP_CONFIG.maxSessionTimeoutMs),
    maxSize: int('group.max.size', DEFAULT_CLASSIC_GROUP_CONFIG.maxSize),
  };
}

/** The group settings from the broker config; keys the config table lacks keep their defaults. */
export function groupConfigOf(config: BrokerContext['config']): GroupConfig {
  const int = intReader(config);
  return {
    heartbeatIntervalMs: int('group.consumer.heartbeat.interval.ms', DEFAULT_GROUP_CONFIG.heartbeatIntervalMs),
    sessionTimeoutMs: int('group.consumer.session.timeout.ms', DEFAULT_GROUP_CONFIG.sessionTimeoutMs),
    minSessionTimeoutMs: int('group.consumer.min.session.timeout.ms', DEFAULT_GROUP_CONFIG.minSessionTimeoutMs),
    maxSessionTimeoutMs: int('group.consumer.max.session.timeout.ms', DEFAULT_GROUP_CONFIG.maxSessionTimeoutMs),
    rebalanceTimeoutMs: int('group.consumer.rebalance.timeout.ms', DEFAULT_GROUP_CONFIG.rebalanceTimeoutMs),
    maxSize: int('group.consumer.max.size', DEFAULT_GROUP_CONFIG.maxSize),
  };
}

export function createGroupCoordinator(ctx: BrokerContext): GroupCoordinator {
  const coordinator = new GroupCoordinator({
    nodeId: ctx.nodeId,
    advertised: () => ({ host: ctx.advertisedHost, port: ctx.advertisedPort }),
    topics: ctx.topics,
    cluster: ctx.cluster,
    offsetsTopicPartitions: ctx.config['offsets.topic.num.partitions'],
    offsetsTopicReplicationFactor: ctx.config['offsets.topic.replication.factor'],
    group: groupConfigOf(ctx.config),
    classic: classicGroupConfigOf(ctx.config),
    offsetsRetention: {
      retentionMs: ctx.config['offsets.retention.minutes'] * 60_000,
      checkIntervalMs: ctx.config['offsets.retention.check.interval.ms'],
    },
    logger: ctx.logger.child({ component: 'groups' }),
    // The no-double-ownership invariant is asserted after every change under test runners
    // (NODE_ENV=test, which vitest sets and child brokers inherit) or on demand.
    debugChecks: process.env.RILL_DEBUG_GROUPS === '1' || process.env.NODE_ENV === 'test',
  });
  registerGroupMetrics(ctx.metrics.registry, coordinator);
  return coordinator;
}

export const groupHandlers = {
  FindCoordinator: findCoordinatorHandler,
  ConsumerGroupHeartbeat: consumerGroupHeartbeatHandler,
  OffsetCommit: offsetCommitHandler,
  OffsetFetch: offsetFetchHandler,
  ListGroups: listGroupsHandler,
  DescribeGroups: describeGroupsHandler,
  DeleteGroups: deleteGroupsHandler,
  AlterGroupOffsets: alterGroupOffsetsHandler,
} satisfies HandlerTable;
