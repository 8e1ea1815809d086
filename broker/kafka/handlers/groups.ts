/**
 * The Kafka listener's group APIs, by API key: what the listener adds to its handler table
 * (broker/kafka/: `buildKafkaHandlerTable(kafkaGroupHandlers)`). One module per API.
 */
import { KafkaApiKey } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { deleteGroupsHandler } from './delete-groups.js';
import { describeGroupsHandler } from './describe-groups.js';
import { findCoordinatorHandler } from './find-coordinator.js';
import { heartbeatHandler } from './heartbeat.js';
import { joinGroupHandler } from './join-group.js';
import { leaveGroupHandler } from './leave-group.js';
import { listGroupsHandler } from './list-groups.js';
import { offsetCommitHandler } from './offset-commit.js';
import { offsetFetchHandler } from './offset-fetch.js';
import { syncGroupHandler } from './sync-group.js';

export const kafkaGroupHandlers: ReadonlyMap<number, KafkaHandler> = new Map<number, KafkaHandler>([
  [KafkaApiKey.FindCoordinator, findCoordinatorHandler],
  [KafkaApiKey.JoinGroup, joinGroupHandler],
  [KafkaApiKey.SyncGroup, syncGroupHandler],
  [KafkaApiKey.Heartbeat, heartbeatHandler],
  [KafkaApiKey.LeaveGroup, leaveGroupHandler],
  [KafkaApiKey.OffsetCommit, offsetCommitHandler],
  [KafkaApiKey.OffsetFetch, offsetFetchHandler],
  [KafkaApiKey.DescribeGroups, describeGroupsHandler],
  [KafkaApiKey.ListGroups, listGroupsHandler],
  [KafkaApiKey.DeleteGroups, deleteGroupsHandler],
]);
