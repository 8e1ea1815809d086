/**
 * What every `rill` command shares: the `--brokers` option, building a client, turning an
 * error into ONE line on stderr with a non-zero exit, option parsers, and output helpers that
 * respect stdout backpressure (a consumer piped into `head` must not buffer without bound).
 */
import { InvalidArgumentError, type Command } from 'commander';
import pino from 'pino';
import { Rill } from '../client/index.js';
import { RillError } from '../protocol/errors.js';

export const DEFAULT_BROKERS = '127.0.0.1:9292';

export interface BrokersOption {
  brokers: string;
}

/** Adds `--brokers host:port,...` (default $RILL_BROKERS or 127.0.0.1:9292). */
export function withBrokers(cmd: Command): Command {
  return cmd.option('--brokers <host:port,...>', 'bootstrap brokers, comma-separated (env RILL_BROKERS)', process.env.RILL_BROKERS ?? DEFAULT_BROKERS);
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
  });
}

/** `error: UNKNOWN_TOPIC_OR_PARTITION: topic 'x' does not exist` — never a stack trace. */
export function errorLine(err: unknown): string {
  if (err instanceof RillError) return `error: ${err.errorName}: ${err.message}`;
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}

/**
 * Wraps a command action: on failure prints one line and exits 1; on success exits with
 * process.exitCode (0) once stdout is flushed, so no stray timer or socket keeps the CLI alive.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(errorLine(err) + '\n');
      process.exitCode = 1;
    }
    await flushStdout();
    process.exit(process.exitCode ?? 0);
  };
}

export function flushStdout(): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.writableLength === 0) resolve();
    else process.stdout.write('', () => resolve());
  });
}

/** Writes to stdout, waiting for 'drain' when the pipe is full. */
export function writeOut(text: string): Promise<void> | undefined {
  if (process.stdout.write(text)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
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
