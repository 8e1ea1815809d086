/**
 * `rill cluster start|describe|elect-leaders`: run a local development cluster (./local-cluster.ts),
 * show its brokers, and ask the controller for leader elections (Kafka's
 * kafka-leader-election.sh). Tables go to stdout; errors are one line on stderr, exit 1.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { LeaderElectionResult } from '../../client/admin/admin.js';
import { action, createClient, intOption, table, writeOut, type BrokersOption } from '../common.js';
import { LocalCluster } from './local-cluster.js';

interface StartOptions extends BrokersOption {
  basePort: number;
  dataDir: string;
  etcdPort?: number;
  logLevel: string;
  set?: string[];
}

interface ElectOptions extends BrokersOption {
  preferred?: boolean;
  unclean?: boolean;
  topic?: string;
  partition?: number;
}

const DEFAULT_LOCAL_BROKERS = 3;

/** Comma-separated node ids, `-` for none (Kafka prints an empty field; a dash reads better in a table). */
export function idList(ids: readonly number[]): string {
  return ids.length > 0 ? ids.join(',') : '-';
}

/**
 * `--brokers` is also the program's global option (host:port list), and commander gives it to
 * the program wherever it appears; `cluster start` reads it from there as a count (not from
 * its own opts, where action() puts the host:port default).
 */
function brokerCount(program: Command): number {
  const given = (program.opts() as { brokers?: string }).brokers;
  if (given === undefined) return DEFAULT_LOCAL_BROKERS;
  if (!/^\d+$/.test(given.trim())) throw new InvalidArgumentError(`cluster start: --brokers is the number of brokers to start, got '${given}'`);
  return Number(given);
}

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('run a local cluster, describe brokers, elect leaders').showHelpAfterError(false);

  cluster
    .command('start')
    .description('run a local development cluster in the foreground: etcd and N brokers (Ctrl-C stops them all)')
    .option('--brokers <n>', `number of brokers, node ids 1..n (default ${DEFAULT_LOCAL_BROKERS})`)
    .option('--base-port <port>', 'port of broker 1; broker n listens on base+n-1', intOption('--base-port', 1), 9292)
    .option('--data-dir <dir>', 'cluster.json, etcd/ and broker-<id>/ live here; the same dir brings the same cluster back', './data')
    .option('--etcd-port <port>', "etcd's client port, its peer port the next one (default: free ports chosen at first start, kept in the data dir)", intOption('--etcd-port', 1))
    .option('--log-level <level>', 'broker log level (fatal|error|warn|info|debug|trace|silent)', 'info')
    .option('--set <key=value...>', 'a broker config for every broker, e.g. --set broker.session.timeout.ms=3000')
    .addHelpText('after', '\nNeeds etcd on PATH (Debian/Ubuntu: apt-get install etcd-server). Child output is prefixed [etcd] / [broker N].')
    .action(
      action(async (opts: StartOptions) => {
        const local = new LocalCluster({
          brokers: brokerCount(program),
          basePort: opts.basePort,
          dataDir: opts.dataDir,
          etcdPort: opts.etcdPort,
          logLevel: opts.logLevel,
          set: opts.set ?? [],
          cliScript: process.argv[1]!,
        });
        await local.start();
        process.exitCode = await local.done;
      }),
    );

  cluster.command('describe').description('list the brokers: id, address, rack, controller, up/down').action(
    action(async (opts: BrokersOption) => {
      const rill = createClient(opts, 'rill-cli-cluster');
      try {
        const admin = rill.admin();
        const described = await admin.describeCluster();
        // Down brokers have no registration; the partitions' replica lists still name them.
        const topics = await admin.describeTopics({ includeOffsets: false });
        const live = new Map(described.brokers.map((b) => [b.nodeId, b]));
        const ids = new Set(live.keys());
        for (const t of topics) for (const p of t.partitions) for (const r of p.replicas) ids.add(r);
        const rows = [...ids]
          .sort((a, b) => a - b)
          .map((id) => {
            const b = live.get(id);
            return [id, b !== undefined ? `${b.host}:${b.port}` : '-', b?.rack ?? '-', id === described.controllerId ? 'yes' : '', b !== undefined ? 'up' : 'down'];
          });
        const controller = described.controllerId >= 0 ? String(described.controllerId) : 'none';
        await writeOut(`Cluster: ${described.clusterId}  Controller: ${controller}  Brokers: ${live.size} up, ${ids.size - live.size} down\n` + table(['ID', 'ADDRESS', 'RACK', 'CONTROLLER', 'STATUS'], rows));
      } finally {
        await rill.close();
      }
    }),
  );

  cluster
    .command('elect-leaders')
    .description('move leadership back to preferred replicas (default), or elect leaders for offline partitions (--unclean)')
    .option('--preferred', 'preferred leader election: the first replica leads again when it is live and in sync (default)')
    .option('--unclean', 'unclean election for partitions without a leader: may elect outside the ISR and LOSE acknowledged records')
    .option('--topic <topic>', 'only this topic (default: every partition of the cluster)')
    .option('--partition <p>', 'only this partition of --topic', intOption('--partition'))
    .action(
      action(async (opts: ElectOptions) => {
        if (opts.preferred === true && opts.unclean === true) throw new InvalidArgumentError('give --preferred or --unclean, not both');
        if (opts.partition !== undefined && opts.topic === undefined) throw new InvalidArgumentError('--partition needs --topic');
        const electionType = opts.unclean === true ? 'unclean' : 'preferred';
        const partitions = opts.topic === undefined ? undefined : [{ topic: opts.topic, ...(opts.partition !== undefined ? { partitions: [opts.partition] } : {}) }];
        const rill = createClient(opts, 'rill-cli-cluster');
        let results: LeaderElectionResult[];
        try {
          results = await rill.admin().electLeaders({ electionType, ...(partitions !== undefined ? { partitions } : {}) });
        } finally {
          await rill.close();
        }
        const failed = results.filter((r) => r.outcome === 'failed');
        const rows = results.map((r) => [r.topic, r.partition, r.outcome === 'failed' ? `failed: ${r.error!.errorName}: ${r.error!.message}` : r.outcome]);
        const elected = results.filter((r) => r.outcome === 'elected').length;
        await writeOut(`${electionType} election: ${elected} elected, ${results.length - elected - failed.length} not needed, ${failed.length} failed\n` + (rows.length > 0 ? table(['TOPIC', 'PARTITION', 'RESULT'], rows) : ''));
        if (failed.length > 0) throw new Error(`${failed.length} partition(s) got no new leader: ${failed.map((r) => `${r.topic}-${r.partition}`).join(', ')}`);
      }),
    );
}
