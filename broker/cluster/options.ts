/**
 * The control plane's settings, camelCase, with Kafka's config name and default beside each
 * (the broker wiring maps its config keys onto these; docs/OPERATIONS.md lists them).
 */

export interface ClusterControlOptions {
  /** broker.session.timeout.ms: a broker silent this long loses its lease (etcd TTL, whole seconds, at least 1 s). */
  sessionTimeoutMs: number;
  /** unclean.leader.election.enable: elect a replica outside the ISR rather than leave a partition offline (data loss). */
  uncleanLeaderElectionEnable: boolean;
  /** auto.leader.rebalance.enable: periodically move leadership back to preferred replicas. */
  autoLeaderRebalanceEnable: boolean;
  /** leader.imbalance.check.interval.seconds, in ms here. */
  leaderImbalanceCheckIntervalMs: number;
  /** leader.imbalance.per.broker.percentage: a broker's share of non-preferred leaders that triggers a rebalance. */
  leaderImbalancePerBrokerPercentage: number;
  /** producer.id.block.size: producer ids taken from etcd per transaction. */
  producerIdBlockSize: number;
}

export const DEFAULT_CLUSTER_CONTROL_OPTIONS: Readonly<ClusterControlOptions> = Object.freeze({
  sessionTimeoutMs: 9000,
  uncleanLeaderElectionEnable: false,
  autoLeaderRebalanceEnable: true,
  leaderImbalanceCheckIntervalMs: 300_000,
  leaderImbalancePerBrokerPercentage: 10,
  producerIdBlockSize: 1000,
});

/** etcd leases are granted in whole seconds: round the session timeout up, never below 1 s. */
export function leaseTtlSeconds(sessionTimeoutMs: number): number {
  return Math.max(1, Math.ceil(sessionTimeoutMs / 1000));
}

/** The logging the control plane needs (pino's Logger satisfies it). */
export interface ClusterLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const SILENT_LOGGER: ClusterLogger = { info: () => undefined, warn: () => undefined };
