/**
 * Children of `rill cluster start` (local-cluster.ts) that do not outlive their supervisor.
 * The supervisor gives every child a Node IPC channel; when the supervisor is gone (even by
 * SIGKILL, when nothing of it can run) the kernel closes the channel and the child sees
 * 'disconnect'. Two ways in, one file:
 *
 * - Brokers (Node processes) load this module first: `node --import <this> rill.js broker
 *   start ...`. On 'disconnect' the broker sends itself SIGTERM, so it shuts down as on Ctrl-C
 *   (controlled shutdown, logs flushed), and SIGKILL after ORPHAN_BROKER_KILL_MS if that
 *   hangs. The channel is unref'd: it never keeps the broker alive.
 * - etcd (not a Node process) runs under this module as a wrapper: `node <this> etcd args...`.
 *   The wrapper passes SIGTERM/SIGINT on to etcd and exits as etcd exits. On 'disconnect' it
 *   waits ORPHAN_ETCD_GRACE_MS (the orphaned brokers leave the cluster through etcd meanwhile),
 *   then stops etcd: SIGTERM, SIGKILL after ORPHAN_ETCD_KILL_MS.
 *
 * The supervisor starts each child in its own process group (the wrapper and its etcd share
 * one), so its SIGKILL of a group reaches etcd too.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';

export const ORPHAN_BROKER_KILL_MS = 20_000;
export const ORPHAN_ETCD_GRACE_MS = 5_000;
export const ORPHAN_ETCD_KILL_MS = 10_000;

/** The file the supervisor passes to `--import` or runs as the etcd wrapper. */
export const WATCH_MODULE_PATH = fileURLToPath(import.meta.url);

function say(line: string): void {
  process.stderr.write(`[watch] ${line}\n`);
}

/**
 * Once the supervisor is gone, so are the readers of our stdout and stderr: writes fail with
 * EPIPE. Those errors must not end the process before it has stopped (a broker mid-shutdown, or
 * this wrapper before it stopped etcd).
 */
function ignoreBrokenOutput(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

/** Broker side: SIGTERM ourselves once the supervisor's channel closes. */
function watchAsBroker(): void {
  process.channel?.unref();
  process.once('disconnect', () => {
    ignoreBrokenOutput();
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), ORPHAN_BROKER_KILL_MS).unref();
  });
}

/** etcd side: run `command args` and stop it when the supervisor is gone. */
function wrap(command: string, args: string[]): void {
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  child.once('error', (err) => {
    say(`cannot start ${command}: ${err.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    process.channel?.unref();
    process.exitCode = code ?? (signal !== null ? 1 : 0);
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => child.kill(sig));
  process.once('disconnect', () => {
    ignoreBrokenOutput();
    setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), ORPHAN_ETCD_KILL_MS).unref();
    }, ORPHAN_ETCD_GRACE_MS).unref();
  });
}

function isMain(): boolean {
  const main = process.argv[1];
  if (main === undefined) return false;
  try {
    return pathToFileURL(realpathSync(main)).href === pathToFileURL(realpathSync(WATCH_MODULE_PATH)).href;
  } catch {
    return false;
  }
}

// Only as a child of the supervisor (it sets the variable and the IPC channel): importing this
// module anywhere else (local-cluster.ts imports its constants) does nothing.
if (process.env.RILL_WATCH_PARENT === '1' && process.send !== undefined) {
  if (isMain()) {
    const [command, ...args] = process.argv.slice(2);
    if (command === undefined) {
      say('usage: node local-cluster-watch.js <command> [args...]');
      process.exit(2);
    }
    wrap(command, args);
  } else {
    watchAsBroker();
  }
}
