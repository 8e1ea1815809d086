/**
 * `rill topics create|list|describe|delete|alter`: topic administration through the SDK's
 * Admin. Output is plain text for people (describe has kafka-topics.sh's columns: Topic,
 * Partition, Leader, Replicas, Isr, Offline, plus offsets); errors are one line on stderr.
 */
import type { Command } from 'commander';
import { action, createClient, intOption, keyValues, table, writeOut, type BrokersOption } from '../common.js';
import { idList } from './cluster.js';

interface CreateOptions extends BrokersOption {
  /** Omitted: the broker's num.partitions (CreateTopics numPartitions -1, as kafka-topics.sh). */
  partitions?: number;
  replicationFactor?: number;
  config?: string[];
}

interface AlterOptions extends BrokersOption {
  config?: string[];
  deleteConfig?: string[];
}

export function registerTopicsCommands(program: Command): void {
  const topics = program.command('topics').description('create, list, describe, alter and delete topics');

  topics
    .command('create <name>')
    .description('create a topic')
    .option('--partitions <n>', 'number of partitions (default: the broker\'s num.partitions)', intOption('--partitions', 1))
    .option('--replication-factor <n>', 'replicas per partition (default: the broker\'s)', intOption('--replication-factor', 1))
    .option('--config <key=value...>', 'topic configs, e.g. --config retention.ms=86400000 cleanup.policy=compact')
    .action(
      action(async (name: string, opts: CreateOptions) => {
        const configs = keyValues(opts.config);
        const rill = createClient(opts, 'rill-cli-topics');
        try {
          const admin = rill.admin();
          await admin.createTopics({ topics: [{ topic: name, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor, configs }] });
          // With the broker's default, say what it chose.
          const partitions = opts.partitions ?? (await admin.describeTopics({ topics: [name], includeOffsets: false }))[0]!.partitions.length;
          await writeOut(`created topic '${name}' with ${partitions} partition(s)\n`);
        } finally {
          await rill.close();
        }
      }),
    );

  topics.command('list').description('list topic names, one per line').action(
    action(async (opts: BrokersOption) => {
      const rill = createClient(opts, 'rill-cli-topics');
      try {
        const names = await rill.admin().listTopics();
        if (names.length > 0) await writeOut(names.join('\n') + '\n');
      } finally {
        await rill.close();
      }
    }),
  );

  topics
    .command('describe <name>')
    .description("show partitions as Kafka does (leader, replicas, ISR; offline and under-replicated marked), log start/end offsets and non-default configs")
    .action(
      action(async (name: string, opts: BrokersOption) => {
        const rill = createClient(opts, 'rill-cli-topics');
        try {
          const admin = rill.admin();
          const [description] = await admin.describeTopics({ topics: [name] });
          const { configs } = await admin.describeConfigs({ topic: name });
          const overrides = configs.filter((c) => !c.isDefault && c.source === 'topic').map((c) => `${c.name}=${c.value ?? ''}`);
          const parts = description!.partitions;
          const rf = Math.max(0, ...parts.map((p) => p.replicas.length));
          let out = `Topic: ${name}  Partitions: ${parts.length}  ReplicationFactor: ${rf}  Configs: ${overrides.length > 0 ? overrides.join(',') : '(defaults)'}\n`;
          out += table(
            ['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'OFFLINE', 'LOG-START-OFFSET', 'LOG-END-OFFSET', 'MESSAGES', 'STATUS'],
            parts.map((p) => [
              name,
              p.partition,
              p.leader >= 0 ? p.leader : 'none',
              idList(p.replicas),
              idList(p.isr),
              idList(p.offlineReplicas),
              p.logStartOffset,
              p.logEndOffset,
              p.leader >= 0 ? Math.max(0, p.logEndOffset - p.logStartOffset) : '-',
              // Kafka's --unavailable-partitions / --under-replicated-partitions, as a column.
              p.leader < 0 ? 'offline' : p.isr.length < p.replicas.length ? 'under-replicated' : '',
            ]),
          );
          await writeOut(out);
        } finally {
          await rill.close();
        }
      }),
    );

  topics.command('delete <name>').description('delete a topic and all its data').action(
    action(async (name: string, opts: BrokersOption) => {
      const rill = createClient(opts, 'rill-cli-topics');
      try {
        await rill.admin().deleteTopics({ topics: [name] });
        await writeOut(`deleted topic '${name}'\n`);
      } finally {
        await rill.close();
      }
    }),
  );

  topics
    .command('alter <name>')
    .description('set or revert topic configs (other configs are untouched)')
    .option('--config <key=value...>', 'configs to set, e.g. --config retention.ms=3600000')
    .option('--delete-config <key...>', 'configs to revert to their defaults')
    .action(
      action(async (name: string, opts: AlterOptions) => {
        const configs: Record<string, string | null> = keyValues(opts.config);
        for (const key of opts.deleteConfig ?? []) configs[key] = null;
        if (Object.keys(configs).length === 0) throw new Error('nothing to alter: give --config key=value and/or --delete-config key');
        const rill = createClient(opts, 'rill-cli-topics');
        try {
          await rill.admin().alterConfigs({ topic: name, configs });
          const summary = Object.entries(configs).map(([k, v]) => (v === null ? `${k} (default)` : `${k}=${v}`));
          await writeOut(`altered topic '${name}': ${summary.join(', ')}\n`);
        } finally {
          await rill.close();
        }
      }),
    );
}
