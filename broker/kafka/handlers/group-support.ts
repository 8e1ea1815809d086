/**
 * What the Kafka group handlers share: the coordinator from the context (with
 * `__consumer_offsets` ready), the Kafka listener address to name a coordinator by, and the
 * error code for whatever a call threw (unexpected errors are logged, answered -1).
 */
import type { GroupState } from '../../../protocol/apis/list-groups.js';
import { codeOf, RillError } from '../../../protocol/errors.js';
import type { BrokerContext } from '../../context.js';
import { coordinatorOf, type GroupCoordinator } from '../../groups/index.js';
import { kafkaBrokerAddress } from '../advertised.js';

/** The coordinator once `__consumer_offsets` exists and is loaded; throws the retriable error otherwise. */
export async function readyCoordinator(ctx: BrokerContext): Promise<GroupCoordinator> {
  const coordinator = coordinatorOf(ctx);
  await coordinator.ready();
  return coordinator;
}

/** The Kafka error code for `err`; anything but a RillError is a bug worth a log line. */
export function errorCodeOf(ctx: BrokerContext, err: unknown, api: string): number {
  if (!(err instanceof RillError)) ctx.logger.error({ err, api }, 'Kafka group handler failed');
  return codeOf(err);
}

/** Where Kafka clients reach broker `nodeId`'s Kafka listener (advertised.ts, as Metadata says), or null if it has none. */
export function kafkaAddressOf(ctx: BrokerContext, nodeId: number): { host: string; port: number } | null {
  const address = kafkaBrokerAddress(ctx, nodeId);
  return address === undefined ? null : { host: address.host, port: address.port };
}

/** rill's group state → the name Kafka's clients expect (Kafka's ClassicGroupState / ConsumerGroupState). */
export const KAFKA_STATE_OF: Readonly<Record<GroupState, string>> = {
  empty: 'Empty',
  assigning: 'Assigning',
  reconciling: 'Reconciling',
  stable: 'Stable',
  dead: 'Dead',
  preparing_rebalance: 'PreparingRebalance',
  completing_rebalance: 'CompletingRebalance',
};
