/**
 * Running the broker as a process (`node dist/broker/main.js`, `rill broker start`): merge the
 * config file with the command-line values, start, announce the listening address as ONE JSON
 * line on stdout, log to stderr, and shut down gracefully on SIGTERM/SIGINT.
 *
 *   stdout: {"event":"listening","host":"127.0.0.1","port":9292,"kafkaPort":null,"metricsPort":null,"nodeId":0,"dataDir":"./data"}
 *
 * Nothing else is ever written to stdout, so a parent process (tests, the CLI, a supervisor)
 * can read that line to learn an ephemeral port. A start that fails prints exactly one line,
 * `rill broker: cannot start: <why>`, on stderr and exits 1 (`runBrokerProcessOrExit`).
 *
 * Signals. The first SIGTERM/SIGINT starts the graceful shutdown (exit 0 once the logs are
 * flushed and the clean-shutdown marker written). More SIGTERM/SIGINT within
 * FORCE_EXIT_GRACE_MS of it are logged and ignored: `timeout`, a supervisor or an impatient
 * Ctrl-C often sends two at once, and an exit there would skip the marker. One after the grace,
 * or SIGQUIT at any time, forces an exit with status 1. A forced exit cannot damage the data
 * dir: the marker is written only after every log is flushed and closed, atomically (temp
 * file + rename), so it is either absent (the next start recovers, as after a crash) or true;
 * the kernel releases the data dir lock with the process.
 */
import pino, { type Logger } from 'pino';
import { rillError } from '../protocol/errors.js';
import { loadBrokerConfigFile } from './config-file.js';
import { coerceBrokerConfig, type BrokerConfig } from './config.js';
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
  /** pino level for stderr (one of LOG_LEVELS); default 'info'. */
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

/** Log levels `--log-level` accepts (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Further SIGTERM/SIGINT this soon after the first are ignored rather than forcing an exit. */
export const FORCE_EXIT_GRACE_MS = 3000;

export function checkLogLevel(level: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw rillError('INVALID_CONFIG', `--log-level: unknown level ${JSON.stringify(level)}; the levels are ${LOG_LEVELS.join(', ')}`);
  }
  return level;
}

/** The one line a failed start prints on stderr. */
export function cannotStartLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `rill broker: cannot start: ${message.replace(/\s*\n\s*/g, ' ')}`;
}

/**
 * Starts the broker for a long-running process and installs the signal handlers; resolves with
 * the handle once listening (the JSON line has been written). The process exits 0 after a
 * graceful shutdown on SIGTERM/SIGINT. Rejects, having logged nothing, when it cannot start.
 */
export async function runBrokerProcess(opts: BrokerProcessOptions): Promise<BrokerHandle> {
  const level = checkLogLevel(opts.logLevel ?? 'info');
  const config = await brokerProcessConfig(opts);
  const logger: Logger = pino({ level }, pino.destination({ fd: 2, sync: true }));
  // Installed before the start, so a signal during a long recovery waits for it to finish
  // (and then shuts down) instead of killing the process halfway.
  const shutdown = new ShutdownSignals(logger);
  shutdown.install();
  let broker: BrokerHandle;
  try {
    broker = await startBroker({ ...config, logger, processMetrics: true });
  } catch (err) {
    shutdown.uninstall();
    throw err;
  }
  process.stdout.write(
    JSON.stringify({ event: 'listening', host: broker.host, port: broker.port, kafkaPort: broker.kafkaPort, metricsPort: broker.metricsPort, nodeId: broker.context.nodeId, dataDir: config.dataDir }) + '\n',
  );
  shutdown.started(broker);
  return broker;
}

/** runBrokerProcess, or the one `cannot start` line and exit 1: main.ts and `rill broker start`. */
export async function runBrokerProcessOrExit(opts: BrokerProcessOptions): Promise<BrokerHandle> {
  try {
    return await runBrokerProcess(opts);
  } catch (err) {
    process.stderr.write(cannotStartLine(err) + '\n');
    process.exit(1);
  }
}

/** The signal policy described at the top of this file. */
class ShutdownSignals {
  private broker: BrokerHandle | null = null;
  /** When the graceful shutdown was asked for; null while running. */
  private stopSince: number | null = null;
  private readonly onStop = (signal: NodeJS.Signals): void => this.stop(signal);
  private readonly onQuit = (signal: NodeJS.Signals): void => this.force(signal);

  constructor(private readonly logger: Logger) {}

  install(): void {
    process.on('SIGTERM', this.onStop);
    process.on('SIGINT', this.onStop);
    process.on('SIGQUIT', this.onQuit);
  }

  uninstall(): void {
    process.off('SIGTERM', this.onStop);
    process.off('SIGINT', this.onStop);
    process.off('SIGQUIT', this.onQuit);
  }

  started(broker: BrokerHandle): void {
    this.broker = broker;
    if (this.stopSince !== null) this.close(broker);
  }

  private stop(signal: NodeJS.Signals): void {
    if (this.stopSince === null) {
      this.stopSince = Date.now();
      if (this.broker === null) {
        this.logger.info({ signal }, 'shutting down once the broker has started');
        return;
      }
      this.logger.info({ signal }, 'shutting down');
      this.close(this.broker);
      return;
    }
    const sinceMs = Date.now() - this.stopSince;
    if (sinceMs < FORCE_EXIT_GRACE_MS) {
      this.logger.warn(
        { signal, sinceMs, graceMs: FORCE_EXIT_GRACE_MS },
        `${signal} ignored: graceful shutdown in progress; to force an exit without the clean-shutdown marker, send it again after ${FORCE_EXIT_GRACE_MS} ms or send SIGQUIT`,
      );
      return;
    }
    this.force(signal);
  }

  private close(broker: BrokerHandle): void {
    broker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        this.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  }

  private force(signal: NodeJS.Signals): never {
    this.logger.warn({ signal }, 'forced exit: no clean-shutdown marker is written, the next start recovers the logs');
    process.exit(1);
  }
}
