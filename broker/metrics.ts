/**
 * Prometheus metrics of one broker, in a Registry of its own (several brokers may run in one
 * process, e.g. in tests), and the `/metrics` HTTP endpoint that serves them.
 *
 * Per-partition gauges (log start/end offset, size) are computed at scrape time from the live
 * logs (`collect()`), so the append path pays nothing for them. The group coordinator adds its
 * lag gauges to `metrics.registry`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { GcStats } from './gc-stats.js';

/** How often the process's GC records are added up between scrapes (gc-stats.ts keeps them until then). */
const GC_HARVEST_MS = 10_000;

export interface PartitionSnapshot {
  topic: string;
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  sizeBytes: number;
}

/** The cluster's figures at scrape time (broker/cluster-runtime.ts provides them). */
export interface ClusterMetricsSnapshot {
  /** Partitions this broker leads whose ISR is smaller than their replica set. */
  underReplicatedPartitions: number;
  /** Partitions without a leader (counted by the active controller only, as in Kafka; 0 elsewhere). */
  offlinePartitions: number;
  activeController: boolean;
  isrShrinks: number;
  isrExpands: number;
  /** Per partition this broker leads, per follower: leader log end - follower log end. */
  followerLag: Iterable<FollowerLag>;
}

export interface FollowerLag {
  topic: string;
  partition: number;
  replica: number;
  lagMessages: number;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly messagesIn: Counter<'topic'>;
  readonly bytesIn: Counter<'topic'>;
  readonly messagesOut: Counter<'topic'>;
  readonly bytesOut: Counter<'topic'>;
  readonly requestDuration: Histogram<'api'>;
  readonly requestErrors: Counter<'api' | 'error'>;
  readonly connections: Gauge;
  readonly connectionsAccepted: Counter;
  readonly connectionsRefused: Counter;
  /** Per listener ('rill' | 'kafka'): TLS handshakes that failed or timed out (broker/server.ts). */
  readonly tlsHandshakeFailures: Counter<'listener'>;
  readonly readPauses: Counter;
  readonly parkedFetches: Gauge;
  /** Set by the cluster runtime; null on a standalone broker (no cluster series then). */
  clusterSource: (() => ClusterMetricsSnapshot) | null = null;

  /**
   * `processMetrics`: also export CPU, memory, event-loop lag and GC of this process. Only the
   * standalone broker process turns it on: an embedding service owns its process metrics, and
   * each call installs observers that live as long as the process.
   */
  constructor(partitions: () => Iterable<PartitionSnapshot>, opts: { nodeId: number; processMetrics: boolean }) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node_id: String(opts.nodeId) });
    if (opts.processMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: 'rill_process_' });
      this.registerOldGenerationMetrics(registers);
    }
    this.messagesIn = new Counter({ name: 'rill_messages_in_total', help: 'Records appended, per topic', labelNames: ['topic'], registers });
    this.bytesIn = new Counter({ name: 'rill_bytes_in_total', help: 'Record batch bytes appended, per topic', labelNames: ['topic'], registers });
    this.messagesOut = new Counter({ name: 'rill_messages_out_total', help: 'Records returned by fetches, per topic', labelNames: ['topic'], registers });
    this.bytesOut = new Counter({ name: 'rill_bytes_out_total', help: 'Record batch bytes returned by fetches, per topic', labelNames: ['topic'], registers });
    this.requestDuration = new Histogram({
      name: 'rill_request_duration_seconds',
      help: 'Time from reading a request to its response being ready (long-poll wait included), per API',
      labelNames: ['api'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.requestErrors = new Counter({ name: 'rill_request_errors_total', help: 'Requests answered with a top-level error or refused, per API and reason', labelNames: ['api', 'error'], registers });
    this.connections = new Gauge({ name: 'rill_connections', help: 'Open client connections', registers });
    this.connectionsAccepted = new Counter({ name: 'rill_connections_accepted_total', help: 'Client connections accepted', registers });
    this.connectionsRefused = new Counter({ name: 'rill_connections_refused_total', help: 'Client connections closed at once because max.connections was reached', registers });
    this.tlsHandshakeFailures = new Counter({ name: 'rill_tls_handshake_failures_total', help: 'Connections closed because their TLS handshake failed, timed out or presented an unverified certificate', labelNames: ['listener'], registers });
    this.readPauses = new Counter({ name: 'rill_connection_read_pauses_total', help: 'Times a connection stopped being read (in-flight bound or write backpressure)', registers });
    this.parkedFetches = new Gauge({ name: 'rill_fetch_purgatory_size', help: 'Fetches parked waiting for data', registers });

    // One pass over the partitions fills all three gauges. prom-client collects metrics in
    // registration order, so the first gauge's collect() does the work for the other two.
    const logStart: Gauge<'topic' | 'partition'> = new Gauge({
      name: 'rill_log_start_offset',
      help: 'First readable offset, per partition',
      labelNames: ['topic', 'partition'],
      registers,
      collect: () => {
        logStart.reset();
        logEnd.reset();
        logSize.reset();
        for (const p of partitions()) {
          const labels = { topic: p.topic, partition: String(p.partition) };
          logStart.set(labels, p.logStartOffset);
          logEnd.set(labels, p.logEndOffset);
          logSize.set(labels, p.sizeBytes);
        }
      },
    });
    this.registerClusterMetrics(registers);
    const logEnd = new Gauge({ name: 'rill_log_end_offset', help: 'Offset the next record will get, per partition', labelNames: ['topic', 'partition'], registers });
    const logSize = new Gauge({ name: 'rill_log_size_bytes', help: 'Bytes of all segments, per partition', labelNames: ['topic', 'partition'], registers });
  }

  /**
   * Bytes that reached the old generation (gc-stats.ts): promoted by scavenges, and allocated
   * there directly. Their rate, with the count of major GCs, says how often garbage costs a
   * Mark-Compact. Totals since start, set at scrape time.
   */
  private registerOldGenerationMetrics(registers: Registry[]): void {
    const gc = new GcStats();
    // Bounds what the profiler holds when nobody scrapes; the process's own timer, never cleared.
    setInterval(() => gc.harvest(), GC_HARVEST_MS).unref();
    const promoted: Gauge = new Gauge({
      name: 'rill_process_old_generation_promoted_bytes_total',
      help: 'Bytes scavenges promoted from the young generation to the old one',
      registers,
      collect: () => {
        const totals = gc.harvest();
        promoted.set(totals.promotedBytes);
        allocated.set(totals.oldAllocatedBytes);
        majors.set(totals.majorGcs);
      },
    });
    const allocated = new Gauge({ name: 'rill_process_old_generation_allocated_bytes_total', help: 'Bytes allocated directly in the old generation (code, large objects, tables of old Maps and Sets)', registers });
    const majors = new Gauge({ name: 'rill_process_major_gcs_total', help: 'Major GCs (Mark-Compacts) of this process', registers });
  }

  /**
   * Kafka's replication metrics under rill names (UnderReplicatedPartitions,
   * OfflinePartitionsCount, ActiveControllerCount, IsrShrinksPerSec / IsrExpandsPerSec as
   * counters, and per-follower lag), all computed at scrape time from `clusterSource`; a
   * standalone broker reports none of them.
   */
  private registerClusterMetrics(registers: Registry[]): void {
    const under: Gauge = new Gauge({
      name: 'rill_under_replicated_partitions',
      help: 'Partitions this broker leads whose ISR is smaller than their replicas',
      registers,
      collect: () => {
        const snap = this.clusterSource?.();
        under.reset();
        offline.reset();
        controller.reset();
        shrinks.reset();
        expands.reset();
        lag.reset();
        if (snap === undefined) return;
        under.set(snap.underReplicatedPartitions);
        offline.set(snap.offlinePartitions);
        controller.set(snap.activeController ? 1 : 0);
        shrinks.set(snap.isrShrinks);
        expands.set(snap.isrExpands);
        for (const l of snap.followerLag) lag.set({ topic: l.topic, partition: String(l.partition), replica: String(l.replica) }, l.lagMessages);
      },
    });
    const offline = new Gauge({ name: 'rill_offline_partitions', help: 'Partitions without a leader (reported by the active controller)', registers });
    const controller = new Gauge({ name: 'rill_active_controller', help: '1 on the active controller, else 0', registers });
    // Monotonic totals kept by the runtime: exposed with counter names, set at scrape time.
    const shrinks = new Gauge({ name: 'rill_isr_shrinks_total', help: 'ISR shrinks this broker wrote as leader', registers });
    const expands = new Gauge({ name: 'rill_isr_expands_total', help: 'ISR expansions this broker wrote as leader', registers });
    const lag = new Gauge({ name: 'rill_follower_lag_messages', help: 'Leader log end minus the follower\'s, per partition this broker leads and follower', labelNames: ['topic', 'partition', 'replica'], registers });
  }

  /** Forget a deleted topic's series, so label sets do not grow without bound. */
  removeTopic(topic: string): void {
    for (const c of [this.messagesIn, this.bytesIn, this.messagesOut, this.bytesOut]) c.remove({ topic });
  }
}

/** Serves `GET /metrics` from `registry`; resolves once listening. */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${(err as Error).message}\n`),
    );
  });
  // Scrapers keep connections alive; don't let an idle one hold close() up.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export async function closeMetricsServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
