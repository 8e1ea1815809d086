/**
 * vitest globalSetup: makes sure the outside programs some suites drive are on this machine,
 * installing Debian's packages with apt-get when one is missing and we run as root (as CI
 * does). Every machine starts fresh, so nothing installed by hand may be relied on.
 *
 * What each tool is for:
 *   etcd-server                      `etcd`, the cluster's control plane (test/cluster)
 *   python3-msgpack, python3-crc32c  the conformance client written from docs/PROTOCOL.md
 *                                    (test/conformance), run with Debian's /usr/bin/python3
 *   kcat                             librdkafka's command-line client, against the Kafka
 *                                    listener (test/kafka)
 *   openssl                          the test CA and certificates of test/security
 *   nats-server, redis-server        the peers benchmark's other systems (test/bench)
 *
 * When a tool cannot be had (not root, no apt-get, the install failed), the suites that need it
 * say so in one loud line and skip — except under CI=true, where this setup fails the run: in
 * CI those suites always run.
 */
import { execFileSync } from 'node:child_process';
import { outsideTools, toolAvailable, type OutsideTool } from '../helpers/outside-tools.js';

function aptInstall(packages: string[]): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    execFileSync('apt-get', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'apt-get is not available';
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'pipe'], env, timeout: 300_000 });
    // --no-install-recommends keeps the install small; policy-rc.d-less containers may print
    // service start warnings, which are harmless: the tests start their own processes.
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: ['ignore', 'ignore', 'pipe'], env, timeout: 600_000 });
    return null;
  } catch (err) {
    return `apt-get install ${packages.join(' ')} failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

export default function setup(): void {
  const missing: OutsideTool[] = outsideTools.filter((t) => !toolAvailable(t));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.flatMap((t) => t.debianPackages))];
  const why = aptInstall(packages);
  const still = missing.filter((t) => !toolAvailable(t));
  if (still.length === 0) return;
  const line = `OUTSIDE TOOLS MISSING: ${still.map((t) => t.name).join(', ')} (${why ?? 'installed, but still not usable'}); install with: apt-get install ${packages.join(' ')}`;
  if (process.env.CI) throw new Error(line);
  process.stderr.write(`\n*** ${line} — the suites that need them will skip ***\n\n`);
}
