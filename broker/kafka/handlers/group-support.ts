/**
 * What the Kafka group handlers share: the coordinator from the context (with
 * `__consumer_offsets` ready), the Kafka listener address to name a coordinator by, and the
 * error code for whatever a call threw (unexpected errors are logged, answered -1).
 */
import type { GroupState } from '../../../protocol/apis/list-groups.js';
import { codeOf, RillError } from '../../../protocol/errors.js';
import type { BrokerContext } from '../../context.js';
import { coordinatorOf, type GroupCoordinator } from '../../groups/index.js';

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

/**
 * Where Kafka clients reach broker `nodeId`'s Kafka listener, or null if it has none.
 * This broker: `kafka.advertised.host` ?? `kafka.host` ?? `advertised.host` ?? `host`, and
 * `kafka.advertised.port` ?? the bound Kafka port (the listener publishes it in the context as
 * `kafkaAdvertisedPort`). Other brokers of a cluster: their registration's host and kafkaPort.
 */
export function kafkaAddressOf(ctx: BrokerContext, nodeId: number): { host: string; port: number } | null {
  if (nodeId !== ctx.nodeId) {
    const broker = ctx.cluster?.liveBrokers().find((b) => b.nodeId === nodeId);
    return broker === undefined || broker.kafkaPort === null ? null : { host: broker.host, port: broker.kafkaPort };
  }
  const config = ctx.config as unknown as Readonly<Record<string, unknown>>;
  const published = ctx as unknown as { kafkaAdvertisedHost?: unknown; kafkaAdvertisedPort?: unknown };
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const port = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);
  const host = str(published.kafkaAdvertisedHost) ?? str(config['kafka.advertised.host']) ?? str(config['kafka.host']) ?? ctx.advertisedHost;
  const kafkaPort = port(published.kafkaAdvertisedPort) ?? port(config['kafka.advertised.port']) ?? port(config['kafka.port']);
  return kafkaPort === null ? null : { host, port: kafkaPort };
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
