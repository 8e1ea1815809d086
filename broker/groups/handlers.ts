/**
 * The consumer-group API handlers: thin adapters from the dispatcher's `Handler` signature to
 * the coordinator (coordinator.ts). Anything they throw (a RillError such as
 * COORDINATOR_LOAD_IN_PROGRESS, UNKNOWN_MEMBER_ID, NON_EMPTY_GROUP) is answered by the
 * dispatcher on every group/partition of the request, with the error's message logged.
 */
import { rillError } from '../../protocol/errors.js';
import type { BrokerContext, Handler } from '../context.js';
import { GroupCoordinator } from './coordinator.js';

/** The coordinator startBroker put in the context; COORDINATOR_NOT_AVAILABLE without one. */
export function coordinatorOf(ctx: BrokerContext): GroupCoordinator {
  const groups = ctx.groups;
  if (!(groups instanceof GroupCoordinator)) throw rillError('COORDINATOR_NOT_AVAILABLE', 'this broker runs no group coordinator');
  return groups;
}

// The APIs that write await ready(): it resolves at once once start() created and loaded
// `__consumer_offsets`, and retries the creation if that failed.

export const findCoordinatorHandler: Handler<'FindCoordinator'> = async (ctx, req) => {
  const coordinator = coordinatorOf(ctx);
  await coordinator.ready();
  return coordinator.findCoordinator(req);
};

export const consumerGroupHeartbeatHandler: Handler<'ConsumerGroupHeartbeat'> = async (ctx, req, conn) => {
  const coordinator = coordinatorOf(ctx);
  await coordinator.ready();
  return coordinator.heartbeat(req, { clientId: conn.clientId, clientHost: conn.clientHost });
};

export const offsetCommitHandler: Handler<'OffsetCommit'> = async (ctx, req) => {
  const coordinator = coordinatorOf(ctx);
  await coordinator.ready();
  return coordinator.commitOffsets(req);
};

export const offsetFetchHandler: Handler<'OffsetFetch'> = async (ctx, req) => coordinatorOf(ctx).fetchOffsets(req);

export const listGroupsHandler: Handler<'ListGroups'> = async (ctx, req) => coordinatorOf(ctx).listGroups(req);

export const describeGroupsHandler: Handler<'DescribeGroups'> = async (ctx, req) => coordinatorOf(ctx).describeGroups(req);

export const deleteGroupsHandler: Handler<'DeleteGroups'> = (ctx, req) => coordinatorOf(ctx).deleteGroups(req);

export const alterGroupOffsetsHandler: Handler<'AlterGroupOffsets'> = async (ctx, req) => {
  const coordinator = coordinatorOf(ctx);
  await coordinator.ready();
  return coordinator.alterGroupOffsets(req);
};
