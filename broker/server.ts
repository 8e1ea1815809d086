/**
 * The TCP listener: accepts connections up to `max.connections` (one more is closed at once,
 * with a log line and a metric) and hands each to a Connection.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type ConnectionLimits, type ConnectionStats } from './connection.js';
import type { Dispatcher } from './dispatcher.js';
import type { BrokerMetrics } from './metrics.js';

export class BrokerServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private closing = false;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly limits: ConnectionLimits,
    private readonly maxConnections: number,
    private readonly logger: Logger,
    private readonly metrics: BrokerMetrics,
  ) {
    this.server = createServer({ allowHalfOpen: false, noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.logger.error({ err }, 'listener error'));
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  stats(): ConnectionStats[] {
    return [...this.connections].map((c) => c.stats());
  }

  /** Stop accepting, then close every connection gracefully (see Connection.shutdown). */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections].map((c) => c.shutdown(timeoutMs)));
    await stopped;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.maxConnections) {
      this.metrics.connectionsRefused.inc();
      this.logger.warn({ clientHost: socket.remoteAddress, clientPort: socket.remotePort, maxConnections: this.maxConnections }, 'refusing connection: max.connections reached');
      socket.destroy();
      return;
    }
    const id = this.nextConnectionId++;
    const conn = new Connection(socket, id, this.dispatcher, this.limits, this.logger, this.metrics);
    this.connections.add(conn);
    this.metrics.connections.inc();
    this.metrics.connectionsAccepted.inc();
    this.logger.info({ conn: id, clientHost: conn.clientHost, clientPort: conn.clientPort }, 'connection opened');
    void conn.whenClosed().then(() => this.connections.delete(conn));
  }
}
