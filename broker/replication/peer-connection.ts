/**
 * A broker's own connection to another broker, for replication (the broker does not import the
 * client: DESIGN §2). Deliberately small: rill's framing (protocol/frame.ts) and message header
 * (protocol/messages.ts), requests pipelined by correlation id, each with its own timeout, at
 * most `maxInFlightRequests` outstanding (a replica fetcher sends one at a time), a response
 * larger than `maxFrameBytes` closes the connection, and any socket error fails every pending
 * request and closes the connection: the owner decides when to reconnect (with backoff).
 *
 * Responses are checked against the API's response schema, and a request-level error answer
 * (protocol/apis/request-error.ts) becomes a typed RillError.
 */
import net from 'node:net';
import tls from 'node:tls';
import { APIS, isRequestErrorResponse, validateResponse, type ApiDefinition, type ApiName, type RequestOf, type ResponseOf } from '../../protocol/apis/index.js';
import { ConnectionError, TimeoutError, errorFromCode, rillError } from '../../protocol/errors.js';
import { FrameDecoder } from '../../protocol/frame.js';
import { decodeResponse, encodeRequestFrame } from '../../protocol/messages.js';

export interface PeerConnectionOptions {
  host: string;
  port: number;
  connectionTimeoutMs: number;
  maxInFlightRequests: number;
  maxFrameBytes: number;
  /**
   * Dial over TLS with these options (the peer's listener is SSL: listener.security.protocol);
   * null or absent = plain TCP. The connection counts as open once the handshake is done.
   */
  tls?: tls.ConnectionOptions | null;
}

interface Pending {
  def: ApiDefinition;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFS = new Map<ApiName, ApiDefinition>();
for (const [name, def] of Object.entries(APIS)) DEFS.set(name as ApiName, { name: name as ApiName, ...def });

export class PeerConnection {
  readonly address: string;
  private readonly socket: net.Socket;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private closedWith: Error | null = null;

  private constructor(socket: net.Socket, private readonly opts: PeerConnectionOptions) {
    this.address = `${opts.host}:${opts.port}`;
    this.socket = socket;
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new ConnectionError(`connection to ${this.address} failed: ${err.message}`)));
    socket.on('close', () => this.fail(new ConnectionError(`connection to ${this.address} closed`)));
  }

  /** Connects (or fails with a ConnectionError within connectionTimeoutMs). */
  static connect(opts: PeerConnectionOptions): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      const secure = opts.tls !== undefined && opts.tls !== null;
      const socket = secure ? tls.connect({ ...opts.tls, host: opts.host, port: opts.port }).setNoDelay(true) : net.connect({ host: opts.host, port: opts.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(`connecting to ${opts.host}:${opts.port} timed out after ${opts.connectionTimeoutMs} ms`));
      }, opts.connectionTimeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ConnectionError(`cannot connect to ${opts.host}:${opts.port}${secure ? ' over TLS' : ''}: ${err.message}`));
      };
      socket.once('error', onError);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new PeerConnection(socket, opts));
      });
    });
  }

  get isClosed(): boolean {
    return this.closedWith !== null;
  }

  /** Sends one request; resolves with its (schema-checked) response. */
  request<N extends ApiName>(name: N, payload: RequestOf<N>, timeoutMs: number): Promise<ResponseOf<N>> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    if (this.pending.size >= this.opts.maxInFlightRequests) {
      return Promise.reject(rillError('REQUEST_TIMED_OUT', `${this.address}: ${this.pending.size} requests already in flight`));
    }
    const def = DEFS.get(name)!;
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = this.nextCorrelationId >= 0x7fffffff ? 1 : this.nextCorrelationId + 1;
    return new Promise<ResponseOf<N>>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The stream may still deliver the late answer: only a closed connection is safe to reuse.
        this.fail(new TimeoutError(`${name} to ${this.address} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { def, resolve: resolve as (p: unknown) => void, reject, timer });
      this.socket.write(encodeRequestFrame(def.key, 0, correlationId, payload));
    });
  }

  close(): void {
    this.fail(new ConnectionError(`connection to ${this.address} closed by this broker`));
  }

  private onData(chunk: Buffer): void {
    let bodies: Buffer[];
    try {
      bodies = this.decoder.push(chunk);
    } catch (err) {
      this.fail(new ConnectionError(`${this.address}: ${(err as Error).message}`));
      return;
    }
    for (const body of bodies) {
      let decoded: { correlationId: number; payload: unknown };
      try {
        decoded = decodeResponse(body);
      } catch (err) {
        this.fail(new ConnectionError(`${this.address}: undecodable response: ${(err as Error).message}`));
        return;
      }
      const p = this.pending.get(decoded.correlationId);
      if (p === undefined) {
        this.fail(new ConnectionError(`${this.address}: response to unknown correlation id ${decoded.correlationId}`));
        return;
      }
      this.pending.delete(decoded.correlationId);
      clearTimeout(p.timer);
      if (isRequestErrorResponse(decoded.payload)) {
        p.reject(errorFromCode(decoded.payload.errorCode, decoded.payload.errorMessage));
        continue;
      }
      const problem = validateResponse(p.def, decoded.payload);
      if (problem !== null) {
        p.reject(rillError('CORRUPT_MESSAGE', `${p.def.name} response from ${this.address} does not match its schema: ${problem}`));
        continue;
      }
      p.resolve(decoded.payload);
    }
  }

  private fail(err: Error): void {
    if (this.closedWith === null) this.closedWith = err;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.socket.destroy();
  }
}
