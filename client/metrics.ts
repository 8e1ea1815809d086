/**
 * Client metrics, exposed through a prom-client Registry the application passes in:
 * `new Rill({ brokers, metrics: { registry } })`. Without one the SDK uses NO_METRICS, whose
 * methods do nothing (no clock reads, no label lookups): metrics cost nothing unless asked for.
 *
 * Every metric carries a `client_id` label (RillConfig.clientId). Names and labels:
 *
 *   rill_client_records_sent_total{client_id,topic}          counter    records written in Produce requests (first attempt)
 *   rill_client_records_acked_total{client_id,topic}         counter    records acknowledged (acks 0: once written)
 *   rill_client_records_failed_total{client_id,topic}        counter    records whose send() failed for good
 *   rill_client_batch_size_bytes{client_id}                  histogram  encoded record batch sizes
 *   rill_client_request_latency_seconds{client_id,api}       histogram  request written -> response read, per API
 *   rill_client_consumer_lag{client_id,group,topic,partition} gauge     high watermark - position, per partition
 *   rill_client_rebalances_total{client_id,group}            counter    group assignments received (rebalances)
 *
 * Code calls the ClientMetrics methods below (`recordsSent`, `recordsAcked`, `recordsFailed`,
 * `batchSize`, `requestLatency`, `consumerLag`, `rebalance`); it never touches prom-client.
 * Two clients on one registry share the metric objects (told apart by `client_id`).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface MetricsConfig {
  /** Where the client registers its metrics (the application serves it, e.g. on /metrics). */
  registry: Registry;
}

export interface ClientMetrics {
  /** False for NO_METRICS: callers may skip work (a clock read) that only feeds metrics. */
  readonly enabled: boolean;
  recordsSent(topic: string, count: number): void;
  recordsAcked(topic: string, count: number): void;
  recordsFailed(topic: string, count: number): void;
  batchSize(bytes: number): void;
  /** `seconds` from writing a request to reading its response. */
  requestLatency(api: string, seconds: number): void;
  /** For the consumer: the partition's high watermark minus the consumer's position. */
  consumerLag(group: string, topic: string, partition: number, lag: number): void;
  /** For the consumer: a new assignment was received from the group coordinator. */
  rebalance(group: string): void;
}

const noop = (): void => undefined;

/** The default: every method a no-op. */
export const NO_METRICS: ClientMetrics = {
  enabled: false,
  recordsSent: noop,
  recordsAcked: noop,
  recordsFailed: noop,
  batchSize: noop,
  requestLatency: noop,
  consumerLag: noop,
  rebalance: noop,
};

const BATCH_SIZE_BUCKETS_BYTES = [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];
const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The metric called `name` if already registered (by another client), else a new one. */
function existing<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class PromClientMetrics implements ClientMetrics {
  readonly enabled = true;
  private readonly sent: Counter<'client_id' | 'topic'>;
  private readonly acked: Counter<'client_id' | 'topic'>;
  private readonly failed: Counter<'client_id' | 'topic'>;
  private readonly batchBytes: Histogram<'client_id'>;
  private readonly latency: Histogram<'client_id' | 'api'>;
  private readonly lag: Gauge<'client_id' | 'group' | 'topic' | 'partition'>;
  private readonly rebalances: Counter<'client_id' | 'group'>;
  private readonly clientId: string;

  constructor(config: MetricsConfig, clientId: string) {
    const registers = [config.registry];
    const r = config.registry;
    this.clientId = clientId;
    this.sent = existing(r, 'rill_client_records_sent_total', () => new Counter({ name: 'rill_client_records_sent_total', help: 'Records written in Produce requests (first attempt), per topic', labelNames: ['client_id', 'topic'], registers }));
    this.acked = existing(r, 'rill_client_records_acked_total', () => new Counter({ name: 'rill_client_records_acked_total', help: 'Records acknowledged by the broker, per topic', labelNames: ['client_id', 'topic'], registers }));
    this.failed = existing(r, 'rill_client_records_failed_total', () => new Counter({ name: 'rill_client_records_failed_total', help: 'Records whose send failed for good, per topic', labelNames: ['client_id', 'topic'], registers }));
    this.batchBytes = existing(r, 'rill_client_batch_size_bytes', () => new Histogram({ name: 'rill_client_batch_size_bytes', help: 'Encoded record batch sizes', labelNames: ['client_id'], buckets: BATCH_SIZE_BUCKETS_BYTES, registers }));
    this.latency = existing(r, 'rill_client_request_latency_seconds', () => new Histogram({ name: 'rill_client_request_latency_seconds', help: 'Request written to response read, per API', labelNames: ['client_id', 'api'], buckets: LATENCY_BUCKETS_SECONDS, registers }));
    this.lag = existing(r, 'rill_client_consumer_lag', () => new Gauge({ name: 'rill_client_consumer_lag', help: 'High watermark minus the consumer position, per partition', labelNames: ['client_id', 'group', 'topic', 'partition'], registers }));
    this.rebalances = existing(r, 'rill_client_rebalances_total', () => new Counter({ name: 'rill_client_rebalances_total', help: 'Group assignments received', labelNames: ['client_id', 'group'], registers }));
  }

  recordsSent(topic: string, count: number): void {
    this.sent.inc({ client_id: this.clientId, topic }, count);
  }

  recordsAcked(topic: string, count: number): void {
    this.acked.inc({ client_id: this.clientId, topic }, count);
  }

  recordsFailed(topic: string, count: number): void {
    this.failed.inc({ client_id: this.clientId, topic }, count);
  }

  batchSize(bytes: number): void {
    this.batchBytes.observe({ client_id: this.clientId }, bytes);
  }

  requestLatency(api: string, seconds: number): void {
    this.latency.observe({ client_id: this.clientId, api }, seconds);
  }

  consumerLag(group: string, topic: string, partition: number, lag: number): void {
    this.lag.set({ client_id: this.clientId, group, topic, partition: String(partition) }, lag);
  }

  rebalance(group: string): void {
    this.rebalances.inc({ client_id: this.clientId, group });
  }
}

/** The metrics for a client: prom-client ones when a registry was given, else NO_METRICS. */
export function clientMetrics(config: MetricsConfig | undefined, clientId: string): ClientMetrics {
  if (config === undefined) return NO_METRICS;
  if (config === null || typeof config !== 'object' || typeof config.registry?.registerMetric !== 'function') {
    throw new TypeError('metrics.registry must be a prom-client Registry');
  }
  return new PromClientMetrics(config, clientId);
}
