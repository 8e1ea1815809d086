/**
 * Running the broker as a process (`node dist/broker/main.js`, `rill broker start`): merge the
 * config file with the command-line values, start, announce the listening address as ONE JSON
 * line on stdout, log to stderr, and shut down gracefully on SIGTERM/SIGINT.
 *
 *   stdout: {"event":"listening","host":"127.0.0.1","port":9292,"metricsPort":null,"nodeId":0,"dataDir":"./data"}
 *
 * Nothing else is ever written to stdout, so a parent process (tests, the CLI, a supervisor)
 * can read that line to learn an ephemeral port. A second signal during shutdown exits at once
 * with status 1.
 */
import pino, { type Logger } from 'pino';
import { coerceBrokerConfig, loadBrokerConfigFile, type BrokerConfig } from './config.js';
import { startBroker, type BrokerHandle } from './index.js';

export interface BrokerProcessOptions {
  dataDir?: string;
  host?: string;
  port?: number | string;
  metricsPort?: number | string | null;
  nodeId?: number | string;
  /** A JSON file of broker config keys; the other options override it. */
  configFile?: string;
  /** Any other broker config keys (e.g. from `--set key=value` flags); override the file. */
  overrides?: Record<string, unknown>;
  /** pino level for stderr; default 'info'. */
  logLevel?: string;
}

/** The merged config: defaults < file < overrides < explicit options. */
export async function brokerProcessConfig(opts: BrokerProcessOptions): Promise<Partial<BrokerConfig> & { dataDir: string }> {
  const fromFile = opts.configFile === undefined ? {} : await loadBrokerConfigFile(opts.configFile);
  const explicit = coerceBrokerConfig({
    ...(opts.overrides ?? {}),
    'data.dir': opts.dataDir,
    host: opts.host,
    port: opts.port,
    'metrics.port': opts.metricsPort,
    'node.id': opts.nodeId,
  });
  const merged = { ...fromFile, ...explicit };
  const dataDir = merged['data.dir'] ?? './data';
  return { ...merged, dataDir };
}

/**
 * Starts the broker for a long-running process and installs the signal handlers; resolves with
 * the handle once listening (the JSON line has been written). The process exits 0 after a
 * graceful shutdown on SIGTERM/SIGINT.
 */
export async function runBrokerProcess(opts: BrokerProcessOptions): Promise<BrokerHandle> {
  const logger: Logger = pino({ level: opts.logLevel ?? 'info' }, pino.destination({ fd: 2, sync: true }));
  const config = await brokerProcessConfig(opts);
  const broker = await startBroker({ ...config, logger, processMetrics: true });
  process.stdout.write(
    JSON.stringify({ event: 'listening', host: broker.host, port: broker.port, metricsPort: broker.metricsPort, nodeId: broker.context.nodeId, dataDir: config.dataDir }) + '\n',
  );

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    broker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return broker;
}
