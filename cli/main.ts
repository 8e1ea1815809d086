#!/usr/bin/env node
/**
 * The `rill` command. Each command group lives in cli/commands/<group>.ts and registers
 * itself here; `rill --help` and `rill <command> --help` describe every command and option.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerBenchCommand } from './commands/bench.js';
import { registerBrokerCommands } from './commands/broker.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerConsumeCommand } from './commands/consume.js';
import { registerGroupsCommands } from './commands/groups.js';
import { registerProduceCommand } from './commands/produce.js';
import { registerTopicsCommands } from './commands/topics.js';
import { addGlobalOptions, guardStdout } from './common.js';

// dist/cli/main.js -> ../../package.json (the package root), the same from cli/ in the source tree.
const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('rill')
  .description('rill: a Kafka-style partitioned, append-only log broker and its client tools')
  .version(pkg.version, '-V, --version', 'print the version')
  // A usage error is one line on stderr (exit 1); `--help` explains the command.
  .showHelpAfterError(false)
  .addHelpText(
    'after',
    `
Every client command takes --brokers host:port,... before or after the command (default: $RILL_BROKERS
or 127.0.0.1:9292).
Examples:
  rill broker start --data-dir ./data
  rill cluster start --brokers 3 --data-dir ./cluster      (etcd + 3 brokers on 9292-9294)
  rill topics create orders --partitions 6 --replication-factor 3
  rill cluster describe
  rill topics create orders --partitions 8 --config retention.ms=604800000
  rill --brokers 10.0.0.5:9292 topics list
  printf 'k1:hello\\nk2:world\\n' | rill produce orders --key-separator :
  rill consume orders --from-beginning --max-messages 2 --format json
  rill groups describe billing
  rill groups reset-offsets --group billing --topic orders --to-earliest --execute`,
  );

guardStdout();
addGlobalOptions(program);
registerBrokerCommands(program);
registerClusterCommands(program);
registerTopicsCommands(program);
registerProduceCommand(program);
registerConsumeCommand(program);
registerGroupsCommands(program);
registerBenchCommand(program);

await program.parseAsync(process.argv);
