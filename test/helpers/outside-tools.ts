/**
 * The outside programs the test suites drive, how to tell whether each is usable, and the
 * Debian packages that provide it. test/setup/outside-tools.ts installs what is missing;
 * suites call `requireTool(name)` to learn whether to run (see that file for the CI rule).
 */
import { spawnSync } from 'node:child_process';

export interface OutsideTool {
  name: string;
  debianPackages: string[];
  /** A command that exits 0 when the tool is usable. */
  probe: [string, ...string[]];
}

/** Debian's python, not a pyenv or venv one: Debian's python3-* packages install for it. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

export const outsideTools: OutsideTool[] = [
  { name: 'etcd', debianPackages: ['etcd-server'], probe: ['etcd', '--version'] },
  {
    name: 'python3-msgpack-crc32c',
    debianPackages: ['python3', 'python3-msgpack', 'python3-crc32c'],
    probe: [DEBIAN_PYTHON, '-c', 'import msgpack, crc32c'],
  },
  // kcat (librdkafka's command-line client): a Kafka client nobody here wrote, for test/kafka.
  { name: 'kcat', debianPackages: ['kcat'], probe: ['kcat', '-V'] },
  // openssl: the test certificates of test/security (a CA, broker and client certificates).
  { name: 'openssl', debianPackages: ['openssl'], probe: ['openssl', 'version'] },
  // The peers benchmark's other systems (bench/peers, test/bench): NATS JetStream and Redis Streams.
  { name: 'nats-server', debianPackages: ['nats-server'], probe: ['nats-server', '--version'] },
  { name: 'redis-server', debianPackages: ['redis-server'], probe: ['redis-server', '--version'] },
];

export function toolAvailable(tool: OutsideTool): boolean {
  const [cmd, ...args] = tool.probe;
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/**
 * True when the named tool is usable. Otherwise prints one loud line and returns false (the
 * suite skips); under CI=true it throws instead, since CI must run every suite.
 */
export function requireTool(name: string): boolean {
  const tool = outsideTools.find((t) => t.name === name);
  if (tool === undefined) throw new Error(`unknown outside tool '${name}'`);
  if (toolAvailable(tool)) return true;
  const line = `${name} is not usable here (apt-get install ${tool.debianPackages.join(' ')}); skipping the suites that need it`;
  if (process.env.CI) throw new Error(line);
  process.stderr.write(`\n*** ${line} ***\n\n`);
  return false;
}
