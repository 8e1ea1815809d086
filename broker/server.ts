/**
 * The TCP listener: accepts connections up to `max.connections` (one more is closed at once,
 * with a log line and a metric) and hands each to a Connection.
 *
 * Start order: `listen()` binds before the broker touches its data dir (a busy port must fail
 * the start with nothing created on disk), `serve(dispatcher)` starts handling once the broker
 * is open. Sockets accepted in between are held unread (`pauseOnConnect`) and counted against
 * `max.connections`; serve() takes them over, close() drops them.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type ConnectionLimits, type ConnectionStats, type RequestDispatcher as Dispatcher } from './connection.js';
import type { BrokerMetrics } from './metrics.js';

export class BrokerServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  /** Accepted before serve(): not read from until then. */
  private readonly waiting = new Set<Socket>();
  private dispatcher: Dispatcher | null = null;
  private nextConnectionId = 1;
  private closing = false;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly maxConnections: number,
    private readonly logger: Logger,
    private readonly metrics: BrokerMetrics,
  ) {
    this.server = createServer({ allowHalfOpen: false, noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  /** Binds; rejects with the listen error (EADDRINUSE, EACCES, ...) without logging it. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.server.on('error', (err) => this.logger.error({ err }, 'listener error'));
    return this.server.address() as AddressInfo;
  }

  /** Starts handling connections: the ones held since listen() first. */
  serve(dispatcher: Dispatcher): void {
    this.dispatcher = dispatcher;
    const held = [...this.waiting];
    this.waiting.clear();
    for (const socket of held) {
      if (socket.destroyed) continue;
      this.handOver(socket, dispatcher);
    }
  }

  stats(): ConnectionStats[] {
    return [...this.connections].map((c) => c.stats());
  }

  /** Stop accepting, then close every connection gracefully (see Connection.shutdown). */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const socket of this.waiting) socket.destroy();
    this.waiting.clear();
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections].map((c) => c.shutdown(timeoutMs)));
    await stopped;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size + this.waiting.size >= this.maxConnections) {
      this.metrics.connectionsRefused.inc();
      this.logger.warn({ clientHost: socket.remoteAddress, clientPort: socket.remotePort, maxConnections: this.maxConnections }, 'refusing connection: max.connections reached');
      socket.destroy();
      return;
    }
    if (this.dispatcher === null) {
      this.waiting.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => this.waiting.delete(socket));
      return;
    }
    this.handOver(socket, this.dispatcher);
  }

  private handOver(socket: Socket, dispatcher: Dispatcher): void {
    const id = this.nextConnectionId++;
    const conn = new Connection(socket, id, dispatcher, this.limits, this.logger, this.metrics);
    this.connections.add(conn);
    this.metrics.connections.inc();
    this.metrics.connectionsAccepted.inc();
    this.logger.info({ conn: id, clientHost: conn.clientHost, clientPort: conn.clientPort }, 'connection opened');
    void conn.whenClosed().then(() => this.connections.delete(conn));
    // Accepted with pauseOnConnect: reading starts now that a Connection listens.
    socket.resume();
  }
}
