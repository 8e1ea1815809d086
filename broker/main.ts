#!/usr/bin/env node
/**
 * Standalone broker process:
 *
 *   node dist/broker/main.js --data-dir D [--port 9292] [--host 127.0.0.1] [--metrics-port N]
 *                            [--config file.json] [--node-id N] [--log-level info]
 *
 * Prints one JSON line on stdout once listening (see process.ts), logs to stderr, exits 0 after
 * a graceful shutdown on SIGTERM/SIGINT (SIGQUIT, or a second signal after a grace, forces an
 * exit 1), and exits 1 with one line `rill broker: cannot start: ...` on stderr if it cannot
 * start (nothing else is printed before it).
 */
import { parseArgs } from 'node:util';
import { cannotStartLine, LOG_LEVELS, runBrokerProcess } from './process.js';

const USAGE = `usage: node dist/broker/main.js --data-dir DIR [--port N] [--host H] [--metrics-port N] [--config file.json] [--node-id N] [--log-level LEVEL]\n  LEVEL: ${LOG_LEVELS.join('|')} (default info)`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'metrics-port': { type: 'string' },
        config: { type: 'string' },
        'node-id': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help === true) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  await runBrokerProcess({
    dataDir: values['data-dir'],
    port: values.port,
    host: values.host,
    metricsPort: values['metrics-port'],
    configFile: values.config,
    nodeId: values['node-id'],
    logLevel: values['log-level'],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(cannotStartLine(err) + '\n');
  process.exit(1);
});
