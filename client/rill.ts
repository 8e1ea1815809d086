/**
 * `new Rill({ brokers, clientId })`: the entry point. It holds client-wide settings and hands
 * out producers, consumers and admins, each with its own connections (a consumer's long polls
 * never sit in front of a producer's acks on one socket). No global state: two Rill instances
 * share nothing. `close()` closes everything it handed out.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import pino, { type Logger } from 'pino';
import { Admin } from './admin/admin.js';
import { KnownBrokers, parseBrokerAddress } from './broker-pool.js';
import type { ClientContext } from './context.js';
import { Consumer } from './consumer/consumer.js';
import { clientMetrics } from './metrics.js';
import { Producer } from './producer/producer.js';
import { retryOptions } from './retry.js';
import type { ConsumerConfig, ProducerConfig, RetryOptions, RillConfig } from './types.js';

const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface Closable {
  close(): Promise<void>;
}

export class Rill {
  private readonly ctx: ClientContext;
  private readonly children = new Set<Closable>();

  constructor(config: RillConfig) {
    if (config === null || typeof config !== 'object') throw new TypeError('new Rill() needs a config object');
    if (!Array.isArray(config.brokers) || config.brokers.length === 0) throw new RangeError('brokers must list at least one host:port');
    for (const b of config.brokers) parseBrokerAddress(b);
    const logger: Logger = config.logger ?? pino({ name: 'rill-client', level: 'warn' }, pino.destination(2));
    const clientId = config.clientId ?? 'rill-client';
    this.ctx = {
      brokers: [...config.brokers],
      clientId,
      connectionTimeoutMs: positive('connectionTimeoutMs', config.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS),
      requestTimeoutMs: positive('requestTimeoutMs', config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      retry: retryOptions(config.retry),
      logger,
      metrics: clientMetrics(config.metrics, clientId),
      knownBrokers: new KnownBrokers(),
      tls: tlsOptions(config.ssl),
    };
  }

  producer(config: ProducerConfig = {}): Producer {
    return this.track(new Producer(this.ctx, config));
  }

  consumer(config: ConsumerConfig = {}): Consumer {
    return this.track(new Consumer(this.ctx, config));
  }

  admin(config: { retry?: Partial<RetryOptions> } = {}): Admin {
    return this.track(new Admin(this.ctx, config));
  }

  /** Closes every producer (after flushing), consumer and admin this client created. */
  async close(): Promise<void> {
    const all = [...this.children];
    this.children.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  private track<T extends Closable>(c: T): T {
    this.children.add(c);
    return c;
  }
}

/** RillConfig.ssl as tls.connect options: true = node's defaults, false/absent = plain TCP. */
function tlsOptions(ssl: RillConfig['ssl']): TlsConnectionOptions | null {
  if (ssl === undefined || ssl === false) return null;
  if (ssl === true) return {};
  if (ssl === null || typeof ssl !== 'object') throw new TypeError(`ssl must be true, false or tls.ConnectionOptions, got ${String(ssl)}`);
  return { ...ssl };
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}
