/**
 * The TCP listener: accepts connections up to `max.connections` (one more is closed at once,
 * with a log line and a metric) and hands each to a Connection.
 *
 * On an SSL listener (`listener.security.protocol=SSL`, broker/security/tls-config.ts) the
 * accepted socket goes through the TLS handshake first: it is handed to a tls.Server that never
 * listens itself (`emit('connection')`), so accepting, `pauseOnConnect` and `max.connections`
 * stay the net.Server's, and node does the handshake, the client-certificate check and the
 * handshake timeout. The Connection then gets the TLSSocket, a net.Socket like any other. A
 * failed handshake closes that connection only, with a log line and
 * `rill_tls_handshake_failures_total`. Every connection gets its principal
 * (broker/security/principal.ts) here, once, before its first request is read.
 *
 * Start order: `listen()` binds before the broker touches its data dir (a busy port must fail
 * the start with nothing created on disk), `serve(dispatcher)` starts handling once the broker
 * is open. Sockets accepted in between are held unread (`pauseOnConnect`) and counted against
 * `max.connections`; serve() takes them over, close() drops them.
 */
import type { X509Certificate } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Connection, type ConnectionLimits, type ConnectionStats, type RequestDispatcher as Dispatcher } from './connection.js';
import type { BrokerMetrics } from './metrics.js';
import { defaultPrincipalBuilder, type ListenerName, type PrincipalBuilder, type SecurityProtocol } from './security/principal.js';
import type { BrokerTls } from './security/tls-config.js';

/** How one listener authenticates its connections. */
export interface ListenerSecurity {
  readonly listener: ListenerName;
  readonly protocol: SecurityProtocol;
  /** The SSL options (loadBrokerTls); ignored on PLAINTEXT. */
  readonly tls: BrokerTls | null;
  readonly principalBuilder: PrincipalBuilder;
}

export const PLAINTEXT_RILL_LISTENER: ListenerSecurity = Object.freeze({ listener: 'rill', protocol: 'PLAINTEXT', tls: null, principalBuilder: defaultPrincipalBuilder });

export class BrokerServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  /** Accepted before serve(): not read from until then. */
  private readonly waiting = new Set<Socket>();
  /**
   * SSL: accepted sockets whose TLS handshake has not succeeded, by `address|port` (how the
   * TLSSocket node hands back finds its entry), with why it failed once known.
   */
  private readonly handshaking = new Map<string, Handshake>();
  private readonly tlsServer: tls.Server | null = null;
  private dispatcher: Dispatcher | null = null;
  private nextConnectionId = 1;
  private closing = false;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly maxConnections: number,
    private readonly logger: Logger,
    private readonly metrics: BrokerMetrics,
    private readonly security: ListenerSecurity = PLAINTEXT_RILL_LISTENER,
  ) {
    this.server = createServer({ allowHalfOpen: false, noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    if (security.protocol === 'SSL') {
      if (security.tls === null) throw new Error('BrokerServer: an SSL listener needs its TLS options');
      this.tlsServer = tls.createServer(security.tls.server);
      this.tlsServer.on('secureConnection', (socket: tls.TLSSocket) => this.onSecure(socket));
      this.tlsServer.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => this.refuse(socket, err.message));
    }
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
    for (const h of this.handshaking.values()) h.socket.destroy();
    this.handshaking.clear();
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections].map((c) => c.shutdown(timeoutMs)));
    await stopped;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size + this.waiting.size + this.handshaking.size >= this.maxConnections) {
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
    if (this.tlsServer === null) {
      this.open(socket, dispatcher, null);
      return;
    }
    const key = peerKey(socket);
    const clientHost = socket.remoteAddress ?? 'unknown';
    const clientPort = socket.remotePort ?? 0;
    const handshake: Handshake = { socket, reason: null };
    this.handshaking.set(key, handshake);
    // Errors surface on the TLSSocket (tlsClientError); this keeps a stray one on the raw socket from being unhandled.
    socket.on('error', () => undefined);
    // A socket that closes before its handshake succeeded is a failed handshake, logged here:
    // only the raw socket still knows the peer's address once node has destroyed the TLSSocket.
    socket.once('close', () => {
      if (this.handshaking.get(key) !== handshake) return;
      this.handshaking.delete(key);
      if (this.closing) return;
      this.metrics.tlsHandshakeFailures.inc({ listener: this.security.listener });
      const reason = handshake.reason ?? 'the client closed the connection during the handshake (did it refuse the broker\'s certificate?)';
      this.logger.info({ clientHost, clientPort, reason }, 'TLS handshake failed; connection closed');
    });
    // The tls.Server wraps it in a TLSSocket and answers with 'secureConnection' or 'tlsClientError'.
    this.tlsServer.emit('connection', socket);
  }

  private onSecure(socket: tls.TLSSocket): void {
    const dispatcher = this.dispatcher;
    if (this.closing || dispatcher === null) {
      socket.destroy();
      return;
    }
    // ssl.client.auth=required: node has closed an unverified client already. requested: a
    // client may send no certificate, but one it sends must verify (Kafka's wantClientAuth).
    const cert = socket.getPeerX509Certificate();
    if (cert !== undefined && !socket.authorized) {
      this.refuse(socket, 'client certificate not verified');
      return;
    }
    this.handshaking.delete(peerKey(socket));
    this.open(socket, dispatcher, cert ?? null);
  }

  /** Closes a connection whose handshake failed; the raw socket's 'close' logs and counts it. */
  private refuse(socket: tls.TLSSocket, reason: string): void {
    const authorization = socket.authorizationError;
    const why = authorization !== null && authorization !== undefined ? `${reason} (${String(authorization)})` : reason;
    const entry = socket.remoteAddress !== undefined ? this.handshaking.get(peerKey(socket)) : undefined;
    if (entry !== undefined) entry.reason ??= why.trim();
    socket.destroy();
  }

  /** `cert`: the client's certificate, verified by the handshake; null on PLAINTEXT or without one. */
  private open(socket: Socket, dispatcher: Dispatcher, cert: X509Certificate | null): void {
    const { listener, protocol, principalBuilder } = this.security;
    let principal;
    try {
      principal = principalBuilder.build({ listener, securityProtocol: protocol, clientHost: socket.remoteAddress ?? 'unknown', clientPort: socket.remotePort ?? 0, peerCertificate: cert });
    } catch (err) {
      this.logger.error({ err, clientHost: socket.remoteAddress }, 'the principal builder failed; connection closed');
      socket.destroy();
      return;
    }
    const id = this.nextConnectionId++;
    const conn = new Connection(socket, id, dispatcher, this.limits, this.logger, this.metrics, principal);
    this.connections.add(conn);
    this.metrics.connections.inc();
    this.metrics.connectionsAccepted.inc();
    this.logger.info({ conn: id, clientHost: conn.clientHost, clientPort: conn.clientPort }, 'connection opened');
    this.logger.debug({ conn: id, principal: principal.toString(), securityProtocol: protocol }, 'connection principal');
    void conn.whenClosed().then(() => this.connections.delete(conn));
    // Accepted with pauseOnConnect: reading starts now that a Connection listens.
    socket.resume();
  }
}

interface Handshake {
  /** The accepted (raw) socket, until its handshake succeeds or it closes. */
  readonly socket: Socket;
  reason: string | null;
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
