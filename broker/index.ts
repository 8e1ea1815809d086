/**
 * The embeddable broker: `startBroker({ dataDir, port: 0 })` opens the data dir, recovers the
 * logs, listens, and returns a handle whose `close()` shuts down gracefully. A service's own
 * tests run a real broker in-process this way, in milliseconds, on a temp dir:
 *
 *   import { startBroker } from 'rill/broker';
 *   const broker = await startBroker({ dataDir: tmp, port: 0 });
 *   // ... clients connect to 127.0.0.1:broker.port ...
 *   await broker.close();
 *
 * Start order: read the TLS keystore and truststore when a listener is SSL (broker/security/:
 * a bad file or password fails the start here) → bind the TCP listener, the Kafka listener
 * (kafka.port, when set) and /metrics (nothing on disk yet: a busy port fails the start with no
 * data dir created) → lock the data
 * dir (storage/data-dir-lock.ts: a second broker on it is refused with DATA_DIR_LOCKED naming
 * the holder) → meta.json (node id, cluster id, producer ids) → topics.json → the logs
 * (LogManager) → reconcile the two → purgatory → with `etcd.endpoints`, join the cluster
 * (broker/cluster-runtime.ts: register, load the view, open the local replicas' logs and take
 * up their roles) → group coordinator → serve connections (those that arrived since the bind
 * wait unread until here). Close order: stop accepting and park no more fetches → leave the
 * cluster (lease revoked: leadership moves at once) → answer in-flight requests and parked
 * fetches (the Kafka listener's, then the rill listener's) → group coordinator →
 * LogManager.close() (flush + clean-shutdown marker) → /metrics → release the lock.
 */
import type { Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { crc32cImplementation } from '../protocol/crc32c.js';
import { rillError } from '../protocol/errors.js';
import { DataDirLock } from '../storage/data-dir-lock.js';
import { LogManager } from '../storage/log-manager.js';
import { BrokerMetadataStore } from './broker-metadata.js';
import { logDefaultsOf, resolveBrokerConfig, type BrokerConfig } from './config.js';
import type { ConnectionStats } from './connection.js';
import type { BrokerContext } from './context.js';
import { Dispatcher } from './dispatcher.js';
import { FetchPurgatory } from './fetch-purgatory.js';
import { buildHandlerTable } from './handlers/index.js';
// Consumer groups (broker/groups/): the coordinator and the handlers of the eight group APIs.
import { createGroupCoordinator, groupHandlers } from './groups/index.js';
import { BrokerMetrics, closeMetricsServer, startMetricsServer } from './metrics.js';
import { ProducerIdAllocator } from './producer-ids.js';
import { BrokerServer, type ListenerSecurity } from './server.js';
// Security (broker/security/): TLS per listener and the per-connection principal.
import { defaultPrincipalBuilder, type PrincipalBuilder } from './security/principal.js';
import { listenerProtocol, loadBrokerTls } from './security/tls-config.js';
// The Kafka-protocol listener (broker/kafka/): off unless kafka.port is set.
import { kafkaGroupHandlers } from './kafka/handlers/groups.js';
import { buildKafkaHandlerTable } from './kafka/handlers/index.js';
import { KafkaListener } from './kafka/listener.js';
import { TopicRegistry } from './topic-registry.js';
// Cluster (issue 9): with etcd.endpoints set, the broker joins a cluster (broker/cluster-runtime.ts).
import { ClusterRuntime } from './cluster-runtime.js';
import { parseEtcdEndpoints, resolveClusterId } from './cluster-runtime-identity.js';

export type { BrokerConfig } from './config.js';
export type { BrokerContext, ConnectionInfo, Handler, HandlerTable } from './context.js';
export type { ConnectionStats } from './connection.js';
export { ANONYMOUS_PRINCIPAL, KafkaPrincipal, defaultPrincipalBuilder, type AuthenticationContext, type PrincipalBuilder } from './security/principal.js';

export interface StartBrokerOptions extends Partial<BrokerConfig> {
  /** Where the logs and the broker's metadata live (same as `data.dir`). */
  dataDir: string;
  /** Turn the Kafka-protocol listener on at this port (0 = ephemeral); same as `kafka.port`. */
  kafkaPort?: number | null;
  /** Default: pino at 'warn' on stderr. */
  logger?: Logger;
  /** Also export this process's CPU/memory/GC metrics (the standalone process turns it on). */
  processMetrics?: boolean;
  /** Who each connection is (Kafka's principal.builder.class); default: the TLS client certificate's subject, else User:ANONYMOUS. */
  principalBuilder?: PrincipalBuilder;
}

export interface BrokerHandle {
  /** The bound port (the ephemeral one when started with port 0). */
  port: number;
  host: string;
  /** The bound Kafka-protocol port (`kafka.port`, `kafkaPort: 0` = ephemeral), or null when it is off. */
  kafkaPort: number | null;
  /** The bound /metrics port, or null when metrics are off. */
  metricsPort: number | null;
  /** Graceful shutdown; safe to call more than once. */
  close(): Promise<void>;
  context: BrokerContext;
  /** Per-connection counters (in-flight requests and bytes, read pauses), for tests and ops. */
  connections(): ConnectionStats[];
  /** The same for the Kafka listener's connections (empty when it is off). */
  kafkaConnections(): ConnectionStats[];
}

export async function startBroker(options: StartBrokerOptions): Promise<BrokerHandle> {
  const { dataDir, logger: givenLogger, processMetrics, kafkaPort, principalBuilder, ...overrides } = options;
  const config = resolveBrokerConfig({ ...overrides, ...(kafkaPort !== undefined ? { 'kafka.port': kafkaPort } : {}), 'data.dir': dataDir });
  const logger = givenLogger ?? pino({ level: 'warn', base: { node: config['node.id'] } }, pino.destination(2));
  const logDefaults = logDefaultsOf(config);

  // The keystore and truststore before the ports: a bad file or password fails the start with
  // nothing bound and nothing on disk.
  const brokerTls = await loadBrokerTls(config);
  const security = (listener: 'rill' | 'kafka'): ListenerSecurity => ({ listener, protocol: listenerProtocol(config, listener), tls: brokerTls, principalBuilder: principalBuilder ?? defaultPrincipalBuilder });

  // The ports first: a busy port fails the start before anything exists on disk.
  let logs: LogManager | null = null;
  const metrics = new BrokerMetrics(
    function* () {
      if (logs === null) return;
      for (const log of logs.all()) {
        yield { topic: log.topic, partition: log.partition, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, sizeBytes: log.sizeBytes };
      }
    },
    { nodeId: config['node.id'], processMetrics: processMetrics === true },
  );
  const server = new BrokerServer(
    {
      maxFrameBytes: config['socket.request.max.bytes'],
      maxInflightRequests: config['max.inflight.requests.per.connection'],
      maxInflightBytes: config['max.inflight.bytes.per.connection'],
      idleMs: config['connections.max.idle.ms'],
    },
    config['max.connections'],
    logger,
    metrics,
    security('rill'),
  );
  const address = await server.listen(config.host, config.port).catch((err: unknown) => {
    throw listenError('port', config.host, config.port, err);
  });
  // The Kafka port binds together with the rill port, before the data dir.
  let kafka: KafkaListener | null = null;
  let kafkaBoundPort: number | null = null;
  const kafkaPortWanted = config['kafka.port'];
  if (kafkaPortWanted !== null) {
    const listener = new KafkaListener(config, logger, metrics, security('kafka'));
    const bound = await listener.listen(kafkaPortWanted).catch(async (err: unknown) => {
      await server.close(0).catch(() => undefined);
      throw listenError('kafka.port', listener.host, kafkaPortWanted, err);
    });
    kafka = listener;
    kafkaBoundPort = bound.port;
  }
  let metricsServer: Server | null = null;
  let lock: DataDirLock | null = null;
  let coordinator: ReturnType<typeof createGroupCoordinator> | null = null;
  let cluster: ClusterRuntime | null = null;
  try {
    let metricsPort: number | null = null;
    if (config['metrics.port'] !== null) {
      const metricsPortWanted = config['metrics.port'];
      const started = await startMetricsServer(metrics.registry, config.host, metricsPortWanted).catch((err: unknown) => {
        throw listenError('metrics.port', config.host, metricsPortWanted, err);
      });
      metricsServer = started.server;
      metricsPort = started.port;
    }

    // Then the data dir: locked before anything in it is read or written.
    lock = await DataDirLock.acquire(dataDir, { port: address.port, nodeId: config['node.id'] });
    if (lock.previousHolder !== null) logPreviousHolder(logger, lock);
    // ---- cluster: which cluster this data dir joins (a dir of another cluster is refused)
    const etcdEndpoints = config['etcd.endpoints'] === null ? null : parseEtcdEndpoints(config['etcd.endpoints']);
    let joinClusterId: string | undefined;
    if (etcdEndpoints !== null) {
      const recorded = await BrokerMetadataStore.peek(dataDir);
      joinClusterId = await resolveClusterId(etcdEndpoints, config['cluster.id'], recorded?.clusterId ?? null, config['broker.session.timeout.ms']);
    }
    // ---- end cluster
    const meta = await BrokerMetadataStore.open(dataDir, config['node.id'], joinClusterId);
    const topics = await TopicRegistry.load(dataDir, logDefaults, logger, {
      enabled: config['auto.create.topics.enable'],
      partitions: config['num.partitions'],
    });
    if (etcdEndpoints !== null) {
      // The registry mirrors the cluster's topics; creation and deletion go to the runtime.
      const runtime = (): ClusterRuntime => {
        if (cluster === null) throw rillError('NOT_CONTROLLER', 'the broker has not joined its cluster yet');
        return cluster;
      };
      topics.useCluster({
        createTopic: (r) => runtime().createTopic(r),
        deleteTopic: (name) => runtime().deleteTopic(name),
        alterTopicConfigs: (name, apply) => runtime().alterTopicConfigs(name, apply),
      });
    }
    const openedLogs = await LogManager.open({
      dataDir,
      defaultConfig: logDefaults,
      logger,
      configFor: (topic: string) => topics.configFor(topic),
      retentionCheckIntervalMs: config['log.retention.check.interval.ms'],
      cleanerIntervalMs: config['log.cleaner.backoff.ms'],
      flushCheckIntervalMs: config['log.flush.scheduler.interval.ms'],
      checkpointIntervalMs: config['log.flush.offset.checkpoint.interval.ms'],
      producerIdExpirationMs: config['producer.id.expiration.ms'],
    });
    logs = openedLogs;
    await topics.attach(openedLogs);
    const purgatory = new FetchPurgatory(config['fetch.purgatory.max.requests'], metrics);
    topics.onDelete((info, partitionLogs) => {
      for (const log of partitionLogs) purgatory.wakeAll(log);
      metrics.removeTopic(info.name);
    });
    const ctx: BrokerContext = {
      config,
      nodeId: config['node.id'],
      clusterId: meta.metadata.clusterId,
      logDefaults,
      logs: openedLogs,
      topics,
      metrics,
      logger,
      purgatory,
      producerIds: new ProducerIdAllocator(meta, config['producer.id.block.size']),
      groups: undefined,
      cluster: null,
      advertisedHost: config['advertised.host'] ?? config.host,
      advertisedPort: config['advertised.port'] ?? address.port,
      closing: false,
    };

    // ---- cluster: joined after the logs are open, before anything is served
    if (etcdEndpoints !== null) {
      cluster = await ClusterRuntime.start({
        config,
        clusterId: meta.metadata.clusterId,
        endpoints: etcdEndpoints,
        logs: openedLogs,
        topics,
        fetchPurgatory: purgatory,
        metrics,
        logger,
        advertisedHost: ctx.advertisedHost,
        advertisedPort: ctx.advertisedPort,
        advertisedKafkaPort: kafkaBoundPort === null ? null : (config['kafka.advertised.port'] ?? kafkaBoundPort),
        // As the listener advertises itself (broker/kafka/listener.ts), so other brokers' Metadata agrees.
        advertisedKafkaHost: kafka === null ? null : (config['kafka.advertised.host'] ?? kafka.host),
        // Brokers dial each other on the rill listener: over TLS when it is SSL.
        peerTls: listenerProtocol(config, 'rill') === 'SSL' ? brokerTls!.peer : null,
      });
      ctx.cluster = cluster;
      ctx.producerIds.useCluster(cluster);
    }
    const liveCluster = cluster;
    // ---- end cluster

    // Consumer groups: standalone, the coordinator loads __consumer_offsets before connections
    // are served; in a cluster it loads the partitions this broker leads, following their
    // 'partition-role' events (broker/groups/placement.ts), and start() waits for nothing.
    coordinator = createGroupCoordinator(ctx);
    ctx.groups = coordinator;
    await coordinator.start();
    server.serve(new Dispatcher(ctx, buildHandlerTable(groupHandlers)));
    kafka?.serve(ctx, buildKafkaHandlerTable(kafkaGroupHandlers));
    logger.info({ host: config.host, port: address.port, kafkaPort: kafkaBoundPort, metricsPort, dataDir, clusterId: ctx.clusterId, topics: topics.list().length, crc32c: crc32cImplementation }, 'broker listening');

    const liveCoordinator = coordinator;
    const liveLock = lock;
    const liveMetricsServer = metricsServer;
    const liveKafka = kafka;
    let closing: Promise<void> | null = null;
    // Every step runs even if an earlier one failed (the logs must still be flushed and
    // closed); the first failure is rethrown at the end. The lock goes last, after the
    // clean-shutdown marker: until then this process still owns the data dir.
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        logger.info('broker shutting down');
        // Controlled shutdown first, while every request is still served as usual (long polls
        // included): leaderships move, clients get NOT_LEADER_OR_FOLLOWER and go elsewhere.
        if (liveCluster !== null) await liveCluster.controlledShutdown();
        ctx.closing = true;
        purgatory.close();
        let firstError: unknown = null;
        const step = async (what: string, run: () => Promise<void>): Promise<void> => {
          try {
            await run();
          } catch (err) {
            logger.error({ err }, `shutdown: ${what} failed`);
            firstError ??= err;
          }
        };
        // The cluster first: the lease goes at once, so other replicas take over leadership now.
        if (liveCluster !== null) await step('leaving the cluster', () => liveCluster.close());
        // The Kafka listener closes next, then the rill one; each answers what it has read.
        if (liveKafka !== null) await step('closing Kafka connections', () => liveKafka.close(config['shutdown.timeout.ms']));
        await step('closing connections', () => server.close(config['shutdown.timeout.ms']));
        await step('closing the group coordinator', () => liveCoordinator.close());
        await step('writing topics.json', () => topics.flush());
        await step('closing the logs', () => openedLogs.close());
        if (liveMetricsServer !== null) await step('closing /metrics', () => closeMetricsServer(liveMetricsServer));
        await step('releasing the data dir lock', () => liveLock.release());
        if (firstError !== null) throw firstError;
        logger.info('broker stopped');
      })());

    return { port: address.port, host: config.host, kafkaPort: kafkaBoundPort, metricsPort, close, context: ctx, connections: () => server.stats(), kafkaConnections: () => liveKafka?.stats() ?? [] };
  } catch (err) {
    // Leave nothing open behind a failed start (the ports, the logs, the lock).
    await server.close(0).catch(() => undefined);
    if (kafka !== null) await kafka.close(0).catch(() => undefined);
    if (metricsServer !== null) await closeMetricsServer(metricsServer).catch(() => undefined);
    if (coordinator !== null) await coordinator.close().catch(() => undefined);
    if (cluster !== null) await (cluster as ClusterRuntime).close().catch(() => undefined);
    if (logs !== null) await (logs as LogManager).close().catch(() => undefined);
    if (lock !== null) await lock.release().catch(() => undefined);
    throw err;
  }
}

/**
 * A listen failure as one clear sentence naming the config key, keeping the errno `code`
 * (EADDRINUSE, EACCES, ...) for callers that branch on it.
 */
function listenError(key: 'port' | 'kafka.port' | 'metrics.port', host: string, port: number, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  const where = `${host}:${port}`;
  const why =
    e.code === 'EADDRINUSE' ? 'the address is already in use'
    : e.code === 'EACCES' ? 'permission denied'
    : e.code === 'EADDRNOTAVAIL' ? 'no such local address'
    : e.message;
  return Object.assign(new Error(`${key}: cannot listen on ${where}: ${why} (${e.code ?? 'error'})`, { cause: err }), { code: e.code });
}

/** `.lock` was left by a holder that did not release it: say so, loudly if it was another host. */
function logPreviousHolder(logger: Logger, lock: DataDirLock): void {
  const previous = lock.previousHolder!;
  if (previous.hostname !== lock.holder.hostname && lock.mechanism === 'abstract-socket') {
    logger.warn(
      { dataDir: lock.dataDir, previousHolder: previous },
      'the data dir lock file names a broker on another host: if it still runs (another container or network namespace sharing this volume), stop one of them now; the lock cannot exclude it',
    );
  } else {
    logger.info({ dataDir: lock.dataDir, previousHolder: previous }, 'took over the data dir lock from a broker that did not release it (crash, SIGKILL or forced exit)');
  }
}
