/**
 * The Kafka-protocol listener: a second TCP listener beside the rill one, serving the same
 * topics, logs and state through Apache Kafka's wire protocol.
 *
 * It reuses the rill listener's machinery whole (broker/server.ts, broker/connection.ts): the
 * same `max.connections` (counted per listener), `socket.request.max.bytes`,
 * `max.inflight.requests.per.connection`, `max.inflight.bytes.per.connection`,
 * `connections.max.idle.ms`, socket backpressure both ways and responses strictly in request
 * order per connection (Kafka clients pipeline), TLS when `kafka.listener.security.protocol`
 * is SSL, and the per-connection principal. Only the dispatcher differs (./dispatcher.ts). Kafka's frames are the same int32 size prefix as rill's.
 *
 * Start order, as the rill listener's: `listen()` binds before the data dir is touched, so a
 * busy Kafka port fails the start with nothing on disk; `serve(ctx, handlers)` starts handling
 * once the broker is open (connections that arrive in between wait unread).
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config.js';
import type { ConnectionStats } from '../connection.js';
import type { BrokerContext } from '../context.js';
import type { BrokerMetrics } from '../metrics.js';
import { BrokerServer, type ListenerSecurity } from '../server.js';
import { defaultPrincipalBuilder } from '../security/principal.js';
import { setKafkaAdvertised } from './advertised.js';
import { KafkaDispatcher } from './dispatcher.js';
import type { KafkaHandlerTable } from './handler.js';

export class KafkaListener {
  private readonly server: BrokerServer;
  private address: AddressInfo | null = null;

  constructor(
    private readonly config: Readonly<BrokerConfig>,
    logger: Logger,
    metrics: BrokerMetrics,
    /** PLAINTEXT or SSL (kafka.listener.security.protocol) and the principal builder. */
    security: ListenerSecurity = { listener: 'kafka', protocol: 'PLAINTEXT', tls: null, principalBuilder: defaultPrincipalBuilder },
  ) {
    this.server = new BrokerServer(
      {
        maxFrameBytes: config['socket.request.max.bytes'],
        maxInflightRequests: config['max.inflight.requests.per.connection'],
        maxInflightBytes: config['max.inflight.bytes.per.connection'],
        idleMs: config['connections.max.idle.ms'],
      },
      config['max.connections'],
      logger.child({ listener: 'kafka' }),
      metrics,
      security,
    );
  }

  get host(): string {
    return this.config['kafka.host'] ?? this.config.host;
  }

  /** Binds `kafka.host`:`kafka.port`; rejects with the listen error. */
  async listen(port: number): Promise<AddressInfo> {
    this.address = await this.server.listen(this.host, port);
    return this.address;
  }

  /** Starts serving, and records the advertised Kafka address on the context. */
  serve(ctx: BrokerContext, handlers: KafkaHandlerTable): void {
    if (this.address === null) throw new Error('KafkaListener.serve() before listen()');
    setKafkaAdvertised(ctx, this.config['kafka.advertised.host'] ?? this.host, this.config['kafka.advertised.port'] ?? this.address.port);
    this.server.serve(new KafkaDispatcher(ctx, handlers));
  }

  stats(): ConnectionStats[] {
    return this.server.stats();
  }

  close(timeoutMs: number): Promise<void> {
    return this.server.close(timeoutMs);
  }
}
