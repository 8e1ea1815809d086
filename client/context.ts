/**
 * What every client component (producer, consumer, admin) gets from its `Rill`: the resolved
 * client-wide settings. Each component builds its own BrokerPool and Metadata from it.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { KnownBrokers } from './broker-pool.js';
import type { ClientMetrics } from './metrics.js';
import type { RetryOptions } from './types.js';

export interface ClientContext {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retry: RetryOptions;
  logger: Logger;
  /** The client metrics (client/metrics.ts); absent means NO_METRICS. */
  metrics?: ClientMetrics;
  /** Broker addresses learned by any component, shared by all their pools (broker-pool.ts). */
  knownBrokers?: KnownBrokers;
  /** From RillConfig.ssl: every connection goes over TLS with these options; null/absent = plain TCP. */
  tls?: TlsConnectionOptions | null;
}
