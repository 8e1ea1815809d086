/**
 * The connections of one client component (a producer, a consumer or an admin each own a
 * pool, so a consumer's long-polling fetches never delay a producer's acks on a shared
 * socket). One Connection per broker address; node ids map to addresses from Metadata.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { MetadataBroker } from '../protocol/apis/index.js';
import { ConnectionError, rillError } from '../protocol/errors.js';
import { Connection, DEFAULT_MAX_IN_FLIGHT_REQUESTS, DEFAULT_MAX_RESPONSE_FRAME_BYTES } from './connection.js';
import type { ClientMetrics } from './metrics.js';
import type { RetryOptions } from './types.js';

/** Broker addresses kept as fallbacks for any() beyond the current metadata. */
const MAX_REMEMBERED = 64;

/**
 * Every broker address any component of one client learned from Metadata (most recent last,
 * bounded): the pools of a Rill (producer, consumer, group session, admin) share one, so a pool
 * whose own bootstrap broker is gone can still reach a broker another component heard of. A
 * broker shutting down may answer Metadata naming only itself, and a group session's pool
 * hears only of coordinators: without the shared set, either could be left with no live
 * broker to ask.
 */
export class KnownBrokers {
  private readonly addresses = new Map<string, BrokerAddress>();

  record(addr: BrokerAddress): void {
    const key = `${addr.host}:${addr.port}`;
    this.addresses.delete(key);
    this.addresses.set(key, addr);
    while (this.addresses.size > MAX_REMEMBERED) this.addresses.delete(this.addresses.keys().next().value!);
  }

  values(): IterableIterator<BrokerAddress> {
    return this.addresses.values();
  }
}

export interface BrokerPoolOptions {
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retry: RetryOptions;
  logger: Logger;
  maxInFlightRequests?: number;
  maxFrameBytes?: number;
  /** Request latency per API (default: none). */
  metrics?: ClientMetrics;
  /** Addresses shared with the client's other pools (default: this pool's own). */
  knownBrokers?: KnownBrokers;
  /** Every connection of the pool goes over TLS with these options (RillConfig.ssl); null = plain TCP. */
  tls?: TlsConnectionOptions | null;
}

export interface BrokerAddress {
  host: string;
  port: number;
}

/** Parses `host:port` (IPv6 as `[::1]:9292`). */
export function parseBrokerAddress(spec: string): BrokerAddress {
  const s = spec.trim();
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (m === null) throw new RangeError(`broker address must be host:port, got '${spec}'`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`broker port must be 1..65535, got '${spec}'`);
  return { host: m[1]!, port };
}

export class BrokerPool {
  readonly requestTimeoutMs: number;
  private readonly opts: BrokerPoolOptions;
  private readonly bootstrap: BrokerAddress[];
  private readonly connections = new Map<string, Connection>();
  private readonly nodes = new Map<number, BrokerAddress>();
  /** Fallbacks for any() beyond the current metadata (shared with the client's other pools). */
  private readonly remembered: KnownBrokers;
  private rotation = 0;
  private closed = false;

  constructor(bootstrap: string[], opts: BrokerPoolOptions) {
    if (bootstrap.length === 0) throw new RangeError('at least one bootstrap broker is required');
    this.bootstrap = bootstrap.map(parseBrokerAddress);
    this.opts = opts;
    this.requestTimeoutMs = opts.requestTimeoutMs;
    this.remembered = opts.knownBrokers ?? new KnownBrokers();
  }

  /** Records the cluster's brokers as Metadata reported them. */
  setBrokers(brokers: ReadonlyArray<MetadataBroker>): void {
    this.nodes.clear();
    for (const b of brokers) {
      const addr = { host: b.host, port: b.port };
      this.nodes.set(b.nodeId, addr);
      this.remembered.record(addr);
    }
  }

  hasNode(nodeId: number): boolean {
    return this.nodes.has(nodeId);
  }

  /** The connection to a broker by node id (not connected yet, perhaps: requests connect lazily). */
  forNode(nodeId: number): Connection {
    const addr = this.nodes.get(nodeId);
    if (addr === undefined) throw rillError('LEADER_NOT_AVAILABLE', `broker ${nodeId} is not in the cluster metadata`);
    return this.forAddress(addr);
  }

  /**
   * A connection to some broker for cluster-wide requests (Metadata, admin): one already open
   * if there is one, else the first known or bootstrap broker that accepts a connection.
   */
  async any(signal?: AbortSignal): Promise<Connection> {
    if (this.closed) throw new ConnectionError('the client is closed');
    for (const c of this.connections.values()) if (c.isReady) return c;
    const candidates = this.candidates();
    let lastError: unknown = null;
    for (let i = 0; i < candidates.length; i++) {
      const addr = candidates[(this.rotation + i) % candidates.length]!;
      const conn = this.forAddress(addr);
      try {
        await conn.connect(signal);
        return conn;
      } catch (err) {
        if (signal?.aborted) throw err;
        lastError = err;
      }
    }
    this.rotation++;
    if (lastError instanceof Error) throw lastError;
    throw new ConnectionError('no broker is reachable');
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private candidates(): BrokerAddress[] {
    const seen = new Set<string>();
    const out: BrokerAddress[] = [];
    for (const a of [...this.nodes.values(), ...this.bootstrap, ...this.remembered.values()]) {
      const k = `${a.host}:${a.port}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push(a);
      }
    }
    return out;
  }

  private forAddress(addr: BrokerAddress): Connection {
    if (this.closed) throw new ConnectionError('the client is closed');
    const key = `${addr.host}:${addr.port}`;
    let conn = this.connections.get(key);
    if (conn === undefined) {
      conn = new Connection({
        host: addr.host,
        port: addr.port,
        clientId: this.opts.clientId,
        connectionTimeoutMs: this.opts.connectionTimeoutMs,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        maxInFlightRequests: this.opts.maxInFlightRequests ?? DEFAULT_MAX_IN_FLIGHT_REQUESTS,
        maxFrameBytes: this.opts.maxFrameBytes ?? DEFAULT_MAX_RESPONSE_FRAME_BYTES,
        reconnectBackoff: this.opts.retry,
        logger: this.opts.logger,
        tls: this.opts.tls ?? null,
        ...(this.opts.metrics !== undefined ? { metrics: this.opts.metrics } : {}),
      });
      this.connections.set(key, conn);
    }
    return conn;
  }
}
