/**
 * What every `rill` command shares: the global `--brokers` and `--ssl*` options, building a client, turning
 * an error into ONE line on stderr with a non-zero exit, option parsers, and output helpers
 * that respect stdout backpressure (a consumer piped into `head` must not buffer without bound)
 * and treat a closed stdout (EPIPE: the reader went away) as a normal end, not a crash.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { InvalidArgumentError, type Command } from 'commander';
import pino from 'pino';
import { Rill } from '../client/index.js';
import { RillError } from '../protocol/errors.js';

export const DEFAULT_BROKERS = '127.0.0.1:9292';

export interface BrokersOption {
  /** Filled in by action() from --brokers, $RILL_BROKERS or the default. */
  brokers: string;
  /** Filled in by action() from --ssl, --ssl-ca, --ssl-cert, --ssl-key; null = plain TCP. */
  tls?: TlsConnectionOptions | null;
}

interface SslFlags {
  ssl?: boolean;
  sslCa?: string;
  sslCert?: string;
  sslKey?: string;
}

/**
 * `--brokers host:port,...` belongs to the program, so it is accepted before the subcommand
 * (`rill --brokers X topics list`) and, as commander does for program options, after it;
 * every subcommand's help lists it under "Global Options".
 */
export function addGlobalOptions(program: Command): Command {
  return program
    .option('--brokers <host:port,...>', `bootstrap brokers, comma-separated (default: $RILL_BROKERS or ${DEFAULT_BROKERS})`)
    .option('--ssl', 'connect over TLS (brokers with listener.security.protocol=SSL), checking their certificates against node\'s CA list')
    .option('--ssl-ca <file>', 'PEM file of the CA that signed the brokers\' certificates (implies --ssl)')
    .option('--ssl-cert <file>', 'PEM client certificate, for brokers with ssl.client.auth (implies --ssl; with --ssl-key)')
    .option('--ssl-key <file>', 'PEM private key of --ssl-cert (unencrypted)')
    .configureHelp({ showGlobalOptions: true });
}

function brokersOf(cmd: Command): string {
  const given = (cmd.optsWithGlobals() as { brokers?: string }).brokers;
  if (given !== undefined) return given;
  const env = process.env.RILL_BROKERS;
  return env !== undefined && env.trim().length > 0 ? env : DEFAULT_BROKERS;
}

/** The TLS options of the --ssl* flags; null when none is given. Unreadable files are one clear error. */
export function tlsOf(cmd: Command): TlsConnectionOptions | null {
  const flags = cmd.optsWithGlobals() as SslFlags;
  if (flags.ssl !== true && flags.sslCa === undefined && flags.sslCert === undefined && flags.sslKey === undefined) return null;
  if ((flags.sslCert === undefined) !== (flags.sslKey === undefined)) throw new InvalidArgumentError('--ssl-cert and --ssl-key go together');
  const read = (flag: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new InvalidArgumentError(`${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const ca = read('--ssl-ca', flags.sslCa);
  const cert = read('--ssl-cert', flags.sslCert);
  const key = read('--ssl-key', flags.sslKey);
  return { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}

export function brokerList(spec: string): string[] {
  const list = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new InvalidArgumentError('--brokers needs at least one host:port');
  return list;
}

/**
 * A client for one command. Logs go to stderr and are silent unless RILL_LOG_LEVEL says
 * otherwise: a command's output is its stdout, its failure is one line on stderr.
 */
export function createClient(opts: BrokersOption, clientId: string): Rill {
  const logger = pino({ name: 'rill-cli', level: process.env.RILL_LOG_LEVEL ?? 'silent' }, pino.destination(2));
  return new Rill({
    brokers: brokerList(opts.brokers),
    clientId,
    logger,
    connectionTimeoutMs: 5_000,
    requestTimeoutMs: 30_000,
    retry: { retries: 3, initialBackoffMs: 100, maxBackoffMs: 1_000 },
    ...(opts.tls !== undefined && opts.tls !== null ? { ssl: opts.tls } : {}),
  });
}

/** `error: UNKNOWN_TOPIC_OR_PARTITION: topic 'x' does not exist` — never a stack trace. */
export function errorLine(err: unknown): string {
  if (err instanceof RillError) return `error: ${err.errorName}: ${err.message}`;
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}

/**
 * Raised by the output helpers once stdout is closed (EPIPE: `rill consume ... | head -3`).
 * A command that meets it stops as if its work were done: action() exits 0 and prints nothing.
 */
export class StdoutClosedError extends Error {
  constructor() {
    super('stdout was closed');
    this.name = 'StdoutClosedError';
  }
}

let stdoutClosed = false;

function isClosedPipe(err: NodeJS.ErrnoException): boolean {
  return err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED' || err.code === 'ERR_STREAM_WRITE_AFTER_END';
}

/**
 * Without a listener, an EPIPE on stdout is an uncaught 'error' event: a stack trace and exit 1.
 * With it, the failed write's callback reports it (writeOut, writeOutConfirmed) and the command
 * ends cleanly. Any other stdout failure (disk full on a redirect) is one error line and exit 1.
 */
export function guardStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (isClosedPipe(err)) {
      stdoutClosed = true;
      return;
    }
    process.stderr.write(`error: cannot write to stdout: ${err.code ?? err.message}\n`);
    process.exit(1);
  });
}

/**
 * Wraps a command action: fills in `opts.brokers`; on failure prints one line and exits 1; on
 * success (or a closed stdout) exits with process.exitCode (0) once stdout is flushed, so no
 * stray timer or socket keeps the CLI alive.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    // commander calls an action with (...arguments, options, command).
    const cmd = args[args.length - 1] as Command;
    const opts = args[args.length - 2] as Partial<BrokersOption>;
    try {
      opts.brokers = brokersOf(cmd);
      (opts as Partial<BrokersOption>).tls = tlsOf(cmd);
      await fn(...args);
    } catch (err) {
      if (!(err instanceof StdoutClosedError)) {
        process.stderr.write(errorLine(err) + '\n');
        process.exitCode = 1;
      }
    }
    await flushStdout();
    process.exit(process.exitCode ?? 0);
  };
}

export function flushStdout(): Promise<void> {
  return new Promise((resolve) => {
    if (stdoutClosed || process.stdout.destroyed || process.stdout.writableLength === 0) resolve();
    else process.stdout.write('', () => resolve());
  });
}

/** Writes to stdout, waiting for 'drain' when the pipe is full; rejects once stdout is closed. */
export function writeOut(text: string): Promise<void> | undefined {
  if (stdoutClosed || process.stdout.destroyed) return Promise.reject(new StdoutClosedError());
  if (process.stdout.write(text)) return undefined;
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      process.stdout.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      process.stdout.off('drain', onDrain);
      reject(new StdoutClosedError());
    };
    process.stdout.once('drain', onDrain);
    process.stdout.once('close', onClose);
  });
}

/**
 * Writes to stdout and resolves once the write has succeeded, rejecting with StdoutClosedError
 * if it failed because the reader went away: what a consumer may count as printed (and commit).
 * Stdout writes to pipes, files and terminals are synchronous on Linux and macOS, so the wait
 * is one tick, and the next write starts only after this one is out (backpressure included).
 */
export function writeOutConfirmed(text: string): Promise<void> {
  if (stdoutClosed || process.stdout.destroyed) return Promise.reject(new StdoutClosedError());
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => {
      if (err === null || err === undefined) resolve();
      else if (isClosedPipe(err)) {
        stdoutClosed = true;
        reject(new StdoutClosedError());
      } else reject(err);
    });
  });
}

export function intOption(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${value}'`);
    }
    return n;
  };
}

/** `['retention.ms=1000', 'cleanup.policy=compact']` -> a record; rejects entries without '='. */
export function keyValues(list: string[] | undefined, what = '--config'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`${what} expects key=value, got '${item}'`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** Left-aligned columns separated by two spaces, header first. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}
