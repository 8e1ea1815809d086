/** What the fetcher (fetcher.ts) is made with: the consumer's sockets, metadata and fetch settings. */
import type { Logger } from 'pino';
import type { BrokerPool } from '../broker-pool.js';
import type { Metadata } from '../metadata.js';
import type { RetryOptions } from '../types.js';
import type { FetchSettings } from './config.js';
import type { LongPollConnections } from './long-poll-connections.js';
import type { PartitionState } from './partition-state.js';

/** The consumer's checked fetch settings (config.ts) plus what the fetcher works with. */
export interface FetcherOptions extends FetchSettings {
  pool: BrokerPool;
  /** Sockets of their own for long polls, so that a parked Fetch never delays a data Fetch's answer. */
  longPolls: LongPollConnections;
  metadata: Metadata;
  logger: Logger;
  retry: RetryOptions;
  requestTimeoutMs: number;
  /** A partition got a chunk or an error for the app. */
  onReady: (state: PartitionState) => void;
  /** Called with each partition's lag (high watermark - fetch position) after a fetch answer; absent when metrics are off. */
  onLag?: (topic: string, partition: number, lag: number) => void;
}
