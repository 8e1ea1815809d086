/**
 * One client connection: frames in, requests dispatched (pipelined), responses out in request
 * order, with every buffer bounded.
 *
 * Flow control. A request is "in flight" from the moment its frame is complete until its
 * response has been handed to the socket. At most `max.inflight.requests.per.connection` are
 * dispatched at once; frames that arrive beyond that wait in a backlog, which can only hold
 * what one socket read delivered, because at the bound the connection stops reading
 * (`socket.pause()`). Reading also stops while in-flight request bytes reach
 * `max.inflight.bytes.per.connection` and while the socket's write buffer is full
 * (`write()` returned false, until 'drain'; backlog frames are not dispatched meanwhile), so a
 * client that pipelines without reading its responses fills its own TCP window instead of the
 * broker's memory: what the broker holds for it is one socket read of requests plus the
 * responses of at most max.inflight.requests.per.connection requests. Reading resumes when
 * every bound is clear again.
 *
 * Ordering. Handlers may finish out of order (a long-polling fetch behind a produce); each
 * request gets a slot in a FIFO and responses leave strictly in slot order.
 *
 * Buffers. A large frame that arrived in several socket reads is assembled in a buffer of this
 * connection's FrameBufferPool; a Produce request's buffer goes back to the pool when its
 * dispatch settles, every other request's is never reused (frame-buffer-pool.ts says why).
 *
 * Failure. An oversized frame or an undecodable header closes this connection only; the
 * dispatcher decides about everything else (see dispatcher.ts).
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder } from '../protocol/frame.js';
import { decodeRequestHeader, REQUEST_HEADER_BYTES } from '../protocol/message-header.js';
import type { ConnectionInfo } from './context.js';
import type { DispatchResult, Dispatcher } from './dispatcher.js';
import { FrameBufferPool } from './frame-buffer-pool.js';
import type { BrokerMetrics } from './metrics.js';
import { ANONYMOUS_PRINCIPAL, type KafkaPrincipal } from './security/principal.js';

/** Produce's apiKey, the same in rill's protocol and Kafka's. */
const PRODUCE_API_KEY = 0;

/**
 * What a connection hands its requests to: the rill Dispatcher, or the Kafka listener's
 * (broker/kafka/dispatcher.ts). Both protocols start a request body with apiKey:int16,
 * apiVersion:int16, correlationId:int32, so the framing and flow control here serve both.
 */
export type RequestDispatcher = Pick<Dispatcher, 'dispatch'>;

export interface ConnectionLimits {
  maxFrameBytes: number;
  maxInflightRequests: number;
  maxInflightBytes: number;
  idleMs: number;
}

/** A snapshot for tests and operators. */
export interface ConnectionStats {
  id: number;
  clientId: string;
  clientHost: string;
  clientPort: number;
  /** The connection's principal, as `User:CN=app,O=acme` (broker/security/principal.ts). */
  principal: string;
  /** Requests read and not yet answered (dispatched + waiting in the backlog). */
  inflightRequests: number;
  inflightBytes: number;
  maxInflightRequestsSeen: number;
  maxInflightBytesSeen: number;
  /** Most requests ever handed to handlers at once: never above max.inflight.requests.per.connection. */
  maxDispatchedSeen: number;
  /** Times reading was stopped because a bound was reached. */
  readPauses: number;
  readPaused: boolean;
  /** Large frames assembled in a reused buffer (frame-buffer-pool.ts). */
  frameBufferReuses: number;
}

interface Slot {
  readonly bytes: number;
  /** The request's frame when it lies in a pooled buffer to give back on completion. */
  readonly pooledFrame: Buffer | null;
  result: DispatchResult | null;
}

export class Connection implements ConnectionInfo {
  readonly id: number;
  clientId = '';
  readonly clientHost: string;
  readonly clientPort: number;
  readonly principal: KafkaPrincipal;
  private readonly abort = new AbortController();
  private readonly decoder: FrameDecoder;
  private readonly framePool = new FrameBufferPool();

  /** Dispatched requests, in arrival order; `slots[slotHead]` is the next to answer. */
  private slots: Array<Slot | undefined> = [];
  private slotHead = 0;
  private dispatched = 0;
  private dispatchedBytes = 0;
  /** Complete frames read while `dispatched` was at its bound. */
  private backlog: Array<Buffer | undefined> = [];
  private backlogHead = 0;
  private backlogBytes = 0;

  private readPaused = false;
  private readPauses = 0;
  private maxInflightRequestsSeen = 0;
  private maxInflightBytesSeen = 0;
  private maxDispatchedSeen = 0;
  private shuttingDown = false;
  private closed = false;
  private closeReason = 'client closed the connection';
  private ending = false;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: Socket,
    id: number,
    private readonly dispatcher: RequestDispatcher,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly metrics: BrokerMetrics,
    principal: KafkaPrincipal = ANONYMOUS_PRINCIPAL,
  ) {
    this.id = id;
    this.principal = principal;
    this.clientHost = socket.remoteAddress ?? 'unknown';
    this.clientPort = socket.remotePort ?? 0;
    this.decoder = new FrameDecoder(limits.maxFrameBytes, this.framePool);
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.pump());
    socket.on('timeout', () => this.onIdle());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.closeReason = `socket error: ${err.code ?? err.message}`;
    });
    // The peer's FIN ends the connection (sockets are not half-open): its in-flight requests
    // are abandoned and their parked fetches released (the signal aborts on 'close'), as a
    // Kafka broker does with a closed channel.
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.onClosed();
        resolve();
      });
    });
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): ConnectionStats {
    return {
      id: this.id,
      clientId: this.clientId,
      clientHost: this.clientHost,
      clientPort: this.clientPort,
      principal: this.principal.toString(),
      inflightRequests: this.inflightRequests(),
      inflightBytes: this.inflightBytes(),
      maxInflightRequestsSeen: this.maxInflightRequestsSeen,
      maxInflightBytesSeen: this.maxInflightBytesSeen,
      maxDispatchedSeen: this.maxDispatchedSeen,
      readPauses: this.readPauses,
      readPaused: this.readPaused,
      frameBufferReuses: this.framePool.reuses,
    };
  }

  /**
   * Graceful close: stop reading, answer every request already read, flush, then end the
   * socket. Resolves when the socket is closed (forcibly after `timeoutMs`).
   */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.shuttingDown = true;
    this.updateReading();
    const timer = setTimeout(() => this.destroy('shutdown timeout with requests still in flight'), timeoutMs);
    this.endWhenIdle();
    await this.closedPromise;
    clearTimeout(timer);
  }

  /** Closes at once, logging why (a protocol violation or a broker decision). */
  destroy(reason: string): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.socket.destroy();
  }

  private inflightRequests(): number {
    return this.dispatched + (this.backlog.length - this.backlogHead);
  }

  private inflightBytes(): number {
    return this.dispatchedBytes + this.backlogBytes;
  }

  private onData(chunk: Buffer): void {
    // After the broker ended the connection, bytes still arriving are requests it will never
    // answer; reading them only lets the peer's FIN through.
    if (this.closed || this.ending) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(`bad frame: ${(err as Error).message}`);
      return;
    }
    for (const frame of frames) {
      this.backlog.push(frame);
      this.backlogBytes += frame.length;
    }
    this.pump();
  }

  /** Dispatches backlog frames while under the in-flight bound, then re-evaluates reading. */
  private pump(): void {
    const max = this.limits.maxInflightRequests;
    // While the socket's write buffer is full, frames already read wait too: their responses
    // would only pile up in that buffer.
    while (this.backlogHead < this.backlog.length && this.dispatched < max && !this.closed && !this.socket.writableNeedDrain) {
      const body = this.backlog[this.backlogHead]!;
      this.backlog[this.backlogHead++] = undefined;
      this.backlogBytes -= body.length;
      this.start(body);
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog.length = 0;
      this.backlogHead = 0;
    } else if (this.backlogHead > 1024) {
      this.backlog = this.backlog.slice(this.backlogHead);
      this.backlogHead = 0;
    }
    const requests = this.inflightRequests();
    const bytes = this.inflightBytes();
    if (requests > this.maxInflightRequestsSeen) this.maxInflightRequestsSeen = requests;
    if (bytes > this.maxInflightBytesSeen) this.maxInflightBytesSeen = bytes;
    this.updateReading();
  }

  private start(body: Buffer): void {
    if (body.length < REQUEST_HEADER_BYTES) {
      this.framePool.forget(body);
      this.fail(`undecodable request header: a ${body.length}-byte body is shorter than the ${REQUEST_HEADER_BYTES}-byte header`);
      return;
    }
    const header = decodeRequestHeader(body);
    let pooledFrame: Buffer | null = null;
    if (this.framePool.isLent(body)) {
      if (header.apiKey === PRODUCE_API_KEY) pooledFrame = body;
      else this.framePool.forget(body);
    }
    const slot: Slot = { bytes: body.length, pooledFrame, result: null };
    this.slots.push(slot);
    this.dispatched++;
    if (this.dispatched > this.maxDispatchedSeen) this.maxDispatchedSeen = this.dispatched;
    this.dispatchedBytes += body.length;
    this.dispatcher.dispatch(header, body, this).then(
      (result) => this.complete(slot, result),
      // The dispatcher catches everything; this is the belt to its braces.
      (err: unknown) => this.complete(slot, { kind: 'close', reason: `dispatcher failed: ${(err as Error).message}` }),
    );
  }

  private complete(slot: Slot, result: DispatchResult): void {
    slot.result = result;
    // The request is settled: storage has written its bytes (or refused them) and holds no
    // reference to them (frame-buffer-pool.ts).
    if (slot.pooledFrame !== null) this.framePool.release(slot.pooledFrame);
    if (this.closed) return;
    this.writeReady();
  }

  /** Writes every finished response at the head of the FIFO, in order, in one corked batch. */
  private writeReady(): void {
    let corked = false;
    while (this.slotHead < this.slots.length) {
      const slot = this.slots[this.slotHead]!;
      const result = slot.result;
      if (result === null) break;
      this.slots[this.slotHead++] = undefined;
      this.dispatched--;
      this.dispatchedBytes -= slot.bytes;
      if (result.kind === 'close') {
        if (corked) this.socket.uncork();
        this.fail(result.reason);
        return;
      }
      if (result.kind === 'response') {
        if (!corked) {
          this.socket.cork();
          corked = true;
        }
        const frame = result.frame;
        if (Array.isArray(frame)) {
          // A chunk list (a Fetch response): written inside the cork, sent as one writev.
          for (let i = 0; i < frame.length; i++) this.socket.write(frame[i]!);
        } else {
          this.socket.write(frame);
        }
      }
    }
    if (corked) this.socket.uncork();
    if (this.slotHead === this.slots.length) {
      this.slots.length = 0;
      this.slotHead = 0;
    } else if (this.slotHead > 1024) {
      this.slots = this.slots.slice(this.slotHead);
      this.slotHead = 0;
    }
    this.pump();
    if (this.shuttingDown) this.endWhenIdle();
  }

  private updateReading(): void {
    if (this.closed || this.ending) return;
    const mustPause =
      this.shuttingDown ||
      this.inflightRequests() >= this.limits.maxInflightRequests ||
      this.inflightBytes() >= this.limits.maxInflightBytes ||
      this.socket.writableNeedDrain;
    if (mustPause && !this.readPaused) {
      this.socket.pause();
      this.readPaused = true;
      if (!this.shuttingDown) {
        this.readPauses++;
        this.metrics.readPauses.inc();
      }
    } else if (!mustPause && this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  private endWhenIdle(): void {
    if (this.closed || this.ending || this.inflightRequests() > 0) return;
    this.ending = true;
    // end() flushes what is queued, then sends FIN; 'close' follows once the peer closes too.
    this.socket.end();
    // Keep reading (and discarding) so the peer's FIN is seen and 'close' follows at once;
    // a paused socket would never notice that the client closed its side.
    this.readPaused = false;
    this.socket.resume();
    // A peer that never closes its side must not hold the socket open forever.
    setTimeout(() => this.destroy('peer did not close after the broker ended the connection'), 5000).unref();
  }

  private onIdle(): void {
    if (this.inflightRequests() > 0) return; // a parked fetch is not idleness
    this.destroy(`idle for ${this.limits.idleMs} ms (connections.max.idle.ms)`);
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.logger.warn({ conn: this.id, clientId: this.clientId, clientHost: this.clientHost }, `closing connection: ${reason}`);
    this.destroy(reason);
  }

  private onClosed(): void {
    this.closed = true;
    this.framePool.dispose();
    this.abort.abort();
    this.slots = [];
    this.slotHead = 0;
    this.backlog = [];
    this.backlogHead = 0;
    this.backlogBytes = 0;
    this.dispatched = 0;
    this.dispatchedBytes = 0;
    this.metrics.connections.dec();
    this.logger.info({ conn: this.id, clientId: this.clientId, clientHost: this.clientHost, clientPort: this.clientPort, reason: this.closeReason }, 'connection closed');
  }

  /** Resolves when the socket has closed. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }
}
