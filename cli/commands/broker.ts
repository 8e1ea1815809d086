/**
 * `rill broker start`: runs a broker in this process (broker/process.ts): prints one JSON
 * "listening" line on stdout, logs to stderr, shuts down gracefully on SIGTERM/SIGINT (exit 0);
 * signals and start failures behave exactly as node dist/broker/main.js (see broker/process.ts).
 * Flags override `--config file.json`, which overrides the defaults. `--etcd`, `--cluster-id` and
 * `--rack` are `etcd.endpoints`, `cluster.id` and `broker.rack`: with `--etcd` the broker joins
 * a cluster.
 */
import type { Command } from 'commander';
import { intOption, keyValues } from '../common.js';

interface BrokerStartOptions {
  dataDir?: string;
  port?: number;
  host?: string;
  metricsPort?: number;
  kafkaPort?: number;
  config?: string;
  nodeId?: number;
  etcd?: string;
  clusterId?: string;
  rack?: string;
  logLevel: string;
  set?: string[];
}

export function registerBrokerCommands(program: Command): void {
  const broker = program.command('broker').description('run a rill broker');
  broker
    .command('start')
    .description('start a broker in the foreground (stops gracefully on SIGTERM/SIGINT)')
    .option('--data-dir <dir>', 'directory for logs and broker metadata (default ./data)')
    .option('--port <port>', 'TCP port to listen on, 0 for any free port (default 9292)', intOption('--port'))
    .option('--host <host>', 'interface to bind (default 127.0.0.1)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on http://HOST:PORT/metrics', intOption('--metrics-port'))
    .option('--kafka-port <port>', 'also speak the Kafka protocol (kcat, KafkaJS, librdkafka) on this port, 0 for any free port (kafka.port; default off)', intOption('--kafka-port'))
    .option('--config <file.json>', 'JSON file of broker config keys (see docs/OPERATIONS.md); flags override it')
    .option('--node-id <id>', 'this broker\'s node id (default 0)', intOption('--node-id'))
    .option('--etcd <urls>', 'join a cluster: etcd client URLs, comma-separated (etcd.endpoints)')
    .option('--cluster-id <id>', 'the cluster to join (cluster.id; default: the one in the data dir, else the etcd\'s default cluster)')
    .option('--rack <rack>', 'this broker\'s rack, for rack-aware replica placement (broker.rack)')
    .option('--set <key=value...>', 'any other broker config key, e.g. --set num.partitions=8')
    .option('--log-level <level>', 'log level on stderr: fatal|error|warn|info|debug|trace|silent', 'info')
    .addHelpText('after', '\nPrints {"event":"listening","host":...,"port":...,"kafkaPort":...} on stdout once it accepts connections.')
    .action(async (opts: BrokerStartOptions) => {
      // Loaded on demand: the broker (storage, metrics) is heavy and only this command needs it.
      // A failed start prints one line `rill broker: cannot start: ...` and exits 1, as main.js.
      const { cannotStartLine, runBrokerProcessOrExit } = await import('../../broker/process.js');
      let overrides: Record<string, string> | undefined;
      try {
        overrides = keyValues(opts.set, '--set');
        if (opts.kafkaPort !== undefined) overrides = { ...overrides, 'kafka.port': String(opts.kafkaPort) };
        // The cluster flags are named config keys (docs/OPERATIONS.md, "## Cluster: running one").
        const cluster: Record<string, string | undefined> = { 'etcd.endpoints': opts.etcd, 'cluster.id': opts.clusterId, 'broker.rack': opts.rack };
        for (const [key, value] of Object.entries(cluster)) if (value !== undefined) (overrides ??= {})[key] = value;
      } catch (err) {
        process.stderr.write(cannotStartLine(err) + '\n');
        process.exit(1);
      }
      await runBrokerProcessOrExit({
        dataDir: opts.dataDir,
        port: opts.port,
        host: opts.host,
        metricsPort: opts.metricsPort,
        configFile: opts.config,
        nodeId: opts.nodeId,
        overrides,
        logLevel: opts.logLevel,
      });
    });
}
