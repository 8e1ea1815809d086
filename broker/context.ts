/**
 * What every handler sees: the broker's shared state (`BrokerContext`), the connection the
 * request came on (`ConnectionInfo`), and the handler signature itself.
 *
 * A handler is `(ctx, req, conn) => response | Promise<response>`. `req` has already been
 * validated against the API's request schema and its omitted fields defaulted. A handler answers per-partition problems in the
 * response's `errorCode` fields; anything it throws is logged and answered for it
 * (broker/error-responses.ts) with the thrown RillError's code, or UNKNOWN_SERVER_ERROR /
 * KAFKA_STORAGE_ERROR for other errors, on every partition of the request.
 */
import type { Logger } from 'pino';
import type { ApiName, DefaultedRequestOf, ResponseOf } from '../protocol/apis/index.js';
import type { LogManager } from '../storage/log-manager.js';
import type { LogConfig } from '../storage/log-config.js';
import type { BrokerConfig } from './config.js';
import type { ClusterHandle } from './cluster/handle.js';
import type { FetchPurgatory } from './fetch-purgatory.js';
import type { BrokerMetrics } from './metrics.js';
import type { ProducerIdAllocator } from './producer-ids.js';
import type { KafkaPrincipal } from './security/principal.js';
import type { TopicRegistry } from './topic-registry.js';

export interface ConnectionInfo {
  /** Unique per broker run, for logs. */
  readonly id: number;
  /** From the connection's ApiVersions request; '' until then. */
  clientId: string;
  /** The peer's address as the socket reports it. */
  readonly clientHost: string;
  readonly clientPort: number;
  /**
   * Who the peer is, fixed when the connection was accepted (broker/security/principal.ts):
   * `User:ANONYMOUS` on PLAINTEXT and on SSL without a client certificate, `User:<subject DN>`
   * with a verified one. Nothing authorizes on it yet.
   */
  readonly principal: KafkaPrincipal;
  /** Aborted when the connection closes: a handler waiting on something can stop. */
  readonly signal: AbortSignal;
}

export interface BrokerContext {
  readonly config: Readonly<BrokerConfig>;
  readonly nodeId: number;
  /** From meta.json, generated on first start. */
  readonly clusterId: string;
  /** The LogConfig a topic without overrides gets (the broker's `log.*` keys). */
  readonly logDefaults: Readonly<LogConfig>;
  readonly logs: LogManager;
  readonly topics: TopicRegistry;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
  readonly purgatory: FetchPurgatory;
  readonly producerIds: ProducerIdAllocator;
  /**
   * The group coordinator (broker/groups/), set by startBroker before the listener opens;
   * its engineer gives it a type. Handlers of the group APIs read it from here.
   */
  groups: unknown;
  /**
   * The cluster (broker/cluster/handle.ts) when started with `--etcd`; null on a standalone
   * broker, which owns and leads every partition itself.
   */
  cluster: ClusterHandle | null;
  /** What Metadata/FindCoordinator tell clients. The port is known only once the listener is
   *  bound, so read these at request time, never copy them at start. */
  advertisedHost: string;
  advertisedPort: number;
  /** Set when close() begins: new long polls are answered at once. */
  closing: boolean;
}

export type Handler<N extends ApiName> = (ctx: BrokerContext, req: DefaultedRequestOf<N>, conn: ConnectionInfo) => Promise<ResponseOf<N>> | ResponseOf<N>;

/** apiKey name → handler; an API without an entry is answered UNSUPPORTED_VERSION. */
export type HandlerTable = { [N in ApiName]?: Handler<N> };
