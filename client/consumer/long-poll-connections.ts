/**
 * The consumer's sockets for long polls, one per long-poll slot per broker. A broker answers
 * the requests of one connection strictly in order (broker/connection.ts), so a Fetch parked
 * for up to maxWaitMs on partitions at their end would hold back every answer behind it on
 * the same socket — data fetches and other long polls included. So data fetches go over the
 * consumer's BrokerPool, and each long poll in flight has a socket of its own here (the
 * fetcher sends at most one per slot, MAX_LONG_POLLS_PER_BROKER slots per broker).
 *
 * Connections are made lazily, per broker address and slot (the node's address comes from the
 * pool, which Metadata keeps current), and closed with the consumer.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { ConnectionError } from '../../protocol/errors.js';
import type { BrokerPool } from '../broker-pool.js';
import { Connection, DEFAULT_MAX_RESPONSE_FRAME_BYTES } from '../connection.js';
import type { RetryOptions } from '../types.js';

/** The fetcher sends one long poll per slot at a time; a small margin for a retry racing a late answer. */
const MAX_IN_FLIGHT_LONG_POLLS = 2;

export interface LongPollConnectionOptions {
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retry: RetryOptions;
  logger: Logger;
  /** TLS as the consumer's pool connects (RillConfig.ssl); null/absent = plain TCP. */
  tls?: TlsConnectionOptions | null;
}

export class LongPollConnections {
  private readonly connections = new Map<string, Connection>();
  private closed = false;

  constructor(
    private readonly pool: BrokerPool,
    private readonly opts: LongPollConnectionOptions,
  ) {}

  /** The long-poll connection of `slot` to broker `node` (throws as `pool.forNode` does for an unknown node). */
  forNode(node: number, slot: number): Connection {
    if (this.closed) throw new ConnectionError('the consumer is closed');
    const main = this.pool.forNode(node);
    const key = `${main.address}#${slot}`;
    let conn = this.connections.get(key);
    if (conn === undefined || conn.isClosed) {
      conn = new Connection({
        host: main.host,
        port: main.port,
        clientId: this.opts.clientId,
        connectionTimeoutMs: this.opts.connectionTimeoutMs,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        maxInFlightRequests: MAX_IN_FLIGHT_LONG_POLLS,
        maxFrameBytes: DEFAULT_MAX_RESPONSE_FRAME_BYTES,
        reconnectBackoff: this.opts.retry,
        logger: this.opts.logger,
        tls: this.opts.tls ?? null,
      });
      this.connections.set(key, conn);
    }
    return conn;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
