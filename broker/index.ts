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
 * Start order: meta.json (node id, cluster id, producer ids) → topics.json → the logs
 * (LogManager) → reconcile the two → metrics, purgatory, group coordinator → TCP listener →
 * /metrics. Close order: stop accepting and park no more fetches → answer in-flight requests
 * and parked fetches → group coordinator → LogManager.close() (flush + clean-shutdown marker)
 * → /metrics.
 */
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { crc32cImplementation } from '../protocol/crc32c.js';
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
import { BrokerServer } from './server.js';
import { TopicRegistry } from './topic-registry.js';

export type { BrokerConfig } from './config.js';
export type { BrokerContext, ConnectionInfo, Handler, HandlerTable } from './context.js';
export type { ConnectionStats } from './connection.js';

export interface StartBrokerOptions extends Partial<BrokerConfig> {
  /** Where the logs and the broker's metadata live (same as `data.dir`). */
  dataDir: string;
  /** Default: pino at 'warn' on stderr. */
  logger?: Logger;
  /** Also export this process's CPU/memory/GC metrics (the standalone process turns it on). */
  processMetrics?: boolean;
}

export interface BrokerHandle {
  /** The bound port (the ephemeral one when started with port 0). */
  port: number;
  host: string;
  /** The bound /metrics port, or null when metrics are off. */
  metricsPort: number | null;
  /** Graceful shutdown; safe to call more than once. */
  close(): Promise<void>;
  context: BrokerContext;
  /** Per-connection counters (in-flight requests and bytes, read pauses), for tests and ops. */
  connections(): ConnectionStats[];
}

export async function startBroker(options: StartBrokerOptions): Promise<BrokerHandle> {
  const { dataDir, logger: givenLogger, processMetrics, ...overrides } = options;
  const config = resolveBrokerConfig({ ...overrides, 'data.dir': dataDir });
  const logger = givenLogger ?? pino({ level: 'warn', base: { node: config['node.id'] } }, pino.destination(2));
  const logDefaults = logDefaultsOf(config);

  await mkdir(dataDir, { recursive: true });
  const meta = await BrokerMetadataStore.open(dataDir, config['node.id']);
  const topics = await TopicRegistry.load(dataDir, logDefaults, logger, {
    enabled: config['auto.create.topics.enable'],
    partitions: config['num.partitions'],
  });
  const logs = await LogManager.open({
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
  let server: BrokerServer | null = null;
  let coordinator: ReturnType<typeof createGroupCoordinator> | null = null;
  try {
    await topics.attach(logs);
    const metrics = new BrokerMetrics(
      function* () {
        for (const log of logs.all()) {
          yield { topic: log.topic, partition: log.partition, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, sizeBytes: log.sizeBytes };
        }
      },
      { nodeId: config['node.id'], processMetrics: processMetrics === true },
    );
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
      logs,
      topics,
      metrics,
      logger,
      purgatory,
      producerIds: new ProducerIdAllocator(meta, config['producer.id.block.size']),
      groups: undefined,
      advertisedHost: config['advertised.host'] ?? config.host,
      advertisedPort: config['advertised.port'] ?? config.port,
      closing: false,
    };

    // Consumer groups: the coordinator loads __consumer_offsets before the listener opens.
    coordinator = createGroupCoordinator(ctx);
    ctx.groups = coordinator;
    await coordinator.start();
    const handlers = buildHandlerTable(groupHandlers);

    server = new BrokerServer(
      new Dispatcher(ctx, handlers),
      {
        maxFrameBytes: config['socket.request.max.bytes'],
        maxInflightRequests: config['max.inflight.requests.per.connection'],
        maxInflightBytes: config['max.inflight.bytes.per.connection'],
        idleMs: config['connections.max.idle.ms'],
      },
      config['max.connections'],
      logger,
      metrics,
    );
    const address = await server.listen(config.host, config.port);
    ctx.advertisedPort = config['advertised.port'] ?? address.port;

    let metricsServer: Server | null = null;
    let metricsPort: number | null = null;
    if (config['metrics.port'] !== null) {
      const started = await startMetricsServer(metrics.registry, config.host, config['metrics.port']);
      metricsServer = started.server;
      metricsPort = started.port;
    }
    logger.info({ host: config.host, port: address.port, metricsPort, dataDir, clusterId: ctx.clusterId, topics: topics.list().length, crc32c: crc32cImplementation }, 'broker listening');

    const liveServer = server;
    const liveCoordinator = coordinator;
    let closing: Promise<void> | null = null;
    // Every step runs even if an earlier one failed (the logs must still be flushed and
    // closed); the first failure is rethrown at the end.
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        logger.info('broker shutting down');
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
        await step('closing connections', () => liveServer.close(config['shutdown.timeout.ms']));
        await step('closing the group coordinator', () => liveCoordinator.close());
        await step('writing topics.json', () => topics.flush());
        await step('closing the logs', () => logs.close());
        if (metricsServer !== null) await step('closing /metrics', () => closeMetricsServer(metricsServer));
        if (firstError !== null) throw firstError;
        logger.info('broker stopped');
      })());

    return { port: address.port, host: config.host, metricsPort, close, context: ctx, connections: () => liveServer.stats() };
  } catch (err) {
    // Leave nothing open behind a failed start (the port, the logs).
    if (server !== null) await server.close(0).catch(() => undefined);
    if (coordinator !== null) await coordinator.close().catch(() => undefined);
    await logs.close().catch(() => undefined);
    throw err;
  }
}
