/**
 * One TCP connection from the client to one broker.
 *
 * - ApiVersions (with the clientId) is the first request on every new socket; nothing else is
 *   written before it is answered.
 * - Requests are pipelined: each gets a correlation id and a slot; at most
 *   `maxInFlightRequests` wait for a response at once, later callers queue FIFO for a slot
 *   (the broker answers in request order, so FIFO slots also keep a caller's writes in the
 *   order it issued them — the idempotent producer relies on that).
 * - Each request has its own timeout and may carry an AbortSignal; a late answer to a
 *   request that timed out or was aborted is dropped by correlation id.
 * - acks=0 produce requests (`expectResponse: false`) resolve once written: the broker sends
 *   nothing back, as Kafka.
 * - Socket backpressure: once `write()` has filled the socket's buffer (writableNeedDrain),
 *   later requests wait, FIFO, for 'drain' instead of piling up in memory; a request that waits
 *   longer than its timeout fails with a TimeoutError, and at most `maxQueuedRequests` callers
 *   may wait (for a slot or for the drain) before request() fails with RequestQueueFullError.
 * - Produce requests go out as a chunk list (protocol/apis/produce-codec.ts): the envelope
 *   encoded once, each record batch written as it is (cork + writes = one writev), no copy.
 * - When the socket drops, every waiting request fails with a (retriable) ConnectionError; the
 *   next request reconnects. Consecutive failed connects are spaced by exponential backoff with
 *   jitter, so a dead broker is not hammered.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { APIS, type ApiDefinition, type ApiName, type RequestOf, type ResponseOf } from '../protocol/apis/index.js';
import { ConnectionError, ErrorCode, TimeoutError, TlsHandshakeError, errorFromCode } from '../protocol/errors.js';
import { FrameDecoder, type SegmentedBytes } from '../protocol/frame.js';
import { REQUEST_PREFIX_BYTES, writeRequestPrefix } from '../protocol/message-header.js';
import { encodeProduceRequestChunks } from '../protocol/apis/produce-codec.js';
import { pack } from '../protocol/messages.js';
import { raceAbort, startWatching, stopWatching, type SignalWatcher } from './abort-watch.js';
import { RequestQueueFullError, abortError } from './errors.js';
import { NO_METRICS, type ClientMetrics } from './metrics.js';
import { PendingRequests, type PendingEntry } from './pending-requests.js';
import { RequestSlots } from './request-slots.js';
import { correlationIdOf, decodeResponseBody, type SegmentedFetchResponse } from './response-decoder.js';
import { SocketWriter, type OutgoingFrame } from './socket-writer.js';
import { backoffMs, sleep } from './retry.js';
import { isTlsRefusal } from './tls-errors.js';
import type { RetryOptions } from './types.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** Requests awaiting a response at once; later ones queue for a slot. */
  maxInFlightRequests: number;
  /** Largest response frame accepted; a bigger one closes the connection. */
  maxFrameBytes: number;
  /** Backoff between consecutive failed connection attempts. */
  reconnectBackoff: RetryOptions;
  logger: Logger;
  /** Callers that may wait for a slot or for the socket to drain at once (default 1024). */
  maxQueuedRequests?: number;
  /** Request latency per API goes here (default: none). */
  metrics?: ClientMetrics;
  /** Connect over TLS with these options (RillConfig.ssl); null or absent = plain TCP. */
  tls?: tls.ConnectionOptions | null;
}

export interface RequestOptions {
  /** Overrides requestTimeoutMs (a long-polling fetch passes requestTimeoutMs + maxWaitMs). */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** false for acks=0 produce: resolve once written, the broker will not answer. */
  expectResponse?: boolean;
  /** Fetch only (see `fetch`): records that span socket chunks stay a chunk list. */
  segmentedRecords?: boolean;
}

interface PendingRequest extends OutgoingFrame, PendingEntry, SignalWatcher {
  def: ApiDefinition;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
  /** Its timeout, for the message when it expires. */
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** The connection's abortPending, called with the entry as `this` (no closure per request). */
  onAbort: (this: PendingRequest) => void;
  /** acks=0 produce: settled when written, no response. */
  expectResponse: boolean;
  segmentedRecords: boolean;
  /** performance.now() when written (0 without metrics). */
  writtenAt: number;
}

type State = 'idle' | 'connecting' | 'ready' | 'closed';

export const DEFAULT_MAX_IN_FLIGHT_REQUESTS = 256;
export const DEFAULT_MAX_RESPONSE_FRAME_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_QUEUED_REQUESTS = 1024;

const DEFS = new Map<ApiName, ApiDefinition>();
for (const [name, def] of Object.entries(APIS)) DEFS.set(name as ApiName, { name: name as ApiName, ...def });

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly address: string;
  private readonly opts: ConnectionOptions;
  private readonly log: Logger;
  private state: State = 'idle';
  private socket: net.Socket | null = null;
  private decoder: FrameDecoder;
  private connecting: Promise<void> | null = null;
  private nextCorrelationId = 1;
  /** Requests sent or queued and not settled, in correlation-id order, with their one deadline timer. */
  private readonly pending = new PendingRequests<PendingRequest>((entry) => this.expire(entry));
  private readonly slots: RequestSlots;
  /** Writes frames in order; those holding a slot wait here while the socket drains. */
  private readonly writer: SocketWriter<PendingRequest>;
  private readonly maxQueuedRequests: number;
  private readonly metrics: ClientMetrics;
  /** Callers between request() and their write: a fast-path caller must not overtake them. */
  private slowCallers = 0;
  private consecutiveFailures = 0;
  private nextConnectAtMs = 0;
  /** The last error of the current socket, for the message when it closes (a TLS alert says why). */
  private socketError: string | null = null;
  /** The last socket error was a TLS refusal (client/tls-errors.ts): what waits fails for good. */
  private tlsRefused = false;
  /** apiKey -> highest version both sides speak, from ApiVersions. */
  private readonly versions = new Map<number, number>();
  /** Every request's onAbort: one function per connection, `this` is the aborted entry. */
  private readonly abortPending: (this: PendingRequest) => void;

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.host = opts.host;
    this.port = opts.port;
    this.address = `${opts.host}:${opts.port}`;
    this.log = opts.logger.child({ broker: this.address });
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
    this.maxQueuedRequests = opts.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS;
    this.slots = new RequestSlots(opts.maxInFlightRequests);
    this.metrics = opts.metrics ?? NO_METRICS;
    this.writer = new SocketWriter<PendingRequest>((entry) => {
      if (this.metrics.enabled) entry.writtenAt = performance.now();
    });
    const connection = this;
    this.abortPending = function abortPending(this: PendingRequest): void {
      connection.abortRequest(this);
    };
  }

  /** Bytes written to the socket and not yet handed to the kernel (bounded by the backpressure). */
  get bufferedWriteBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** Requests waiting for the socket to drain. */
  get waitingForDrain(): number {
    return this.writer.waiting;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Requests currently awaiting a response on this connection. */
  get inFlightRequests(): number {
    return this.slots.inUse;
  }

  /** Opens the socket and completes the ApiVersions handshake (no-op when already ready). */
  async connect(signal?: AbortSignal): Promise<void> {
    if (this.state === 'ready') return;
    if (this.state === 'closed') throw new ConnectionError(`connection to ${this.address} is closed`);
    if (this.connecting === null) {
      this.connecting = this.open().finally(() => {
        this.connecting = null;
      });
    }
    if (signal === undefined) return this.connecting;
    return raceAbort(this.connecting, signal, abortError);
  }

  /**
   * Sends one request and resolves with its validated response payload. Rejects with a
   * RillError: ConnectionError/TimeoutError (retriable) for transport trouble, INVALID_REQUEST
   * for a malformed response, and the broker's code and message when it answered with the
   * request-error shape (protocol/apis/request-error.ts) because it could not read the request. Per-partition errorCodes are left to the caller, which knows
   * which of them it can retry.
   */
  request<N extends ApiName>(api: N, payload: RequestOf<N>, opts: RequestOptions = {}): Promise<ResponseOf<N>> {
    if (this.state === 'ready' && this.slowCallers === 0 && !opts.signal?.aborted && this.slots.tryTake()) {
      return this.write(api, payload, opts) as Promise<ResponseOf<N>>;
    }
    return this.requestSlowly(api, payload, opts);
  }

  /**
   * A Fetch whose partitions' `records` are read straight from the socket's chunks: a Buffer
   * view when they arrived in one chunk, else `SegmentedBytes` views of each (never copied).
   */
  fetch(payload: RequestOf<'Fetch'>, opts: RequestOptions = {}): Promise<SegmentedFetchResponse> {
    // Options that already say so are used as they are: the consumer passes one object made
    // once. A spread copy per Fetch was the consumer's largest inflow into old space at lingerMs
    // 0 once the listener chain was gone (most likely a site V8 pretenured; docs/BENCHMARKS.md).
    const segmented = opts.segmentedRecords === true ? opts : { ...opts, segmentedRecords: true };
    return this.request('Fetch', payload, segmented) as Promise<SegmentedFetchResponse>;
  }

  private async requestSlowly<N extends ApiName>(api: N, payload: RequestOf<N>, opts: RequestOptions): Promise<ResponseOf<N>> {
    // Callers between request() and their write (connecting or waiting for a slot) are the queue.
    if (this.slowCallers >= this.maxQueuedRequests) {
      throw new RequestQueueFullError(`${api} request to ${this.address} refused: ${this.slowCallers} requests already wait to be sent (maxQueuedRequests)`, this.slowCallers);
    }
    this.slowCallers++;
    let counted = true;
    // One budget for the whole request: waiting for a slot counts against its timeout too.
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    try {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      await this.connect(opts.signal);
      await this.slots.take(`${api} request to ${this.address}`, opts.signal, deadline - Date.now());
      this.slowCallers--;
      counted = false;
      if (this.state !== 'ready') {
        this.slots.release();
        throw new ConnectionError(`connection to ${this.address} was lost before the request was sent`);
      }
      return (await this.write(api, payload, { ...opts, timeoutMs: Math.max(1, deadline - Date.now()) })) as ResponseOf<N>;
    } finally {
      if (counted) this.slowCallers--;
    }
  }

  /** Fails every waiting request and closes the socket; the connection cannot be reused. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const socket = this.socket;
    this.failAll(new ConnectionError(`connection to ${this.address} closed by the client`));
    if (socket !== null && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.destroy();
      });
    }
  }

  /** Drops the socket (as a network failure would); the next request reconnects. */
  dropSocket(reason = 'dropped by the client'): void {
    this.socket?.destroy(new ConnectionError(`connection to ${this.address} ${reason}`));
  }

  private async open(): Promise<void> {
    const waitMs = this.nextConnectAtMs - Date.now();
    if (waitMs > 0) await sleep(waitMs);
    if (this.state === 'closed') throw new ConnectionError(`connection to ${this.address} is closed`);
    this.state = 'connecting';
    try {
      await this.openSocket();
      await this.handshake();
      this.state = 'ready';
      this.consecutiveFailures = 0;
      this.log.debug('connected');
    } catch (err) {
      this.consecutiveFailures++;
      this.nextConnectAtMs = Date.now() + backoffMs(this.opts.reconnectBackoff, this.consecutiveFailures);
      this.socket?.destroy();
      this.socket = null;
      // close() may have run while we awaited.
      if ((this.state as State) !== 'closed') this.state = 'idle';
      throw err instanceof ConnectionError || err instanceof TimeoutError
        ? err
        : new ConnectionError(`cannot connect to ${this.address}: ${(err as Error).message}`, { cause: err });
    }
  }

  private openSocket(): Promise<void> {
    return new Promise((resolve, reject) => {
      // TLS: the socket is usable once the handshake is done ('secureConnect'); the server's
      // certificate is checked against opts.tls.ca (else node's CA list) and the host name.
      const secure = this.opts.tls !== undefined && this.opts.tls !== null;
      const socket = secure ? tls.connect({ ...this.opts.tls, host: this.host, port: this.port }) : net.connect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      this.socketError = null;
      this.tlsRefused = false;
      // A TLS failure after the TCP connect is the handshake's (an untrusted certificate, a name mismatch).
      let tcpConnected = false;
      if (secure) socket.once('connect', () => (tcpConnected = true));
      this.socket = socket;
      this.writer.attach(socket);
      this.decoder = new FrameDecoder(this.opts.maxFrameBytes);
      const timer = setTimeout(() => {
        socket.destroy(new ConnectionError(`connecting to ${this.address} timed out after ${this.opts.connectionTimeoutMs} ms`));
      }, this.opts.connectionTimeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        if (err instanceof ConnectionError) return reject(err);
        if (secure && isTlsRefusal(err)) return reject(new TlsHandshakeError(`TLS connection to ${this.address} failed: ${err.message}`, { cause: err }));
        const what = tcpConnected ? `TLS connection to ${this.address} failed` : `cannot connect to ${this.address}`;
        reject(new ConnectionError(`${what}: ${err.message}`, { cause: err }));
      };
      socket.once('error', onError);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.on('error', (err) => {
          this.socketError = err.message;
          // TLS 1.3: a broker refusing our certificate says so after our handshake finished.
          if (secure && isTlsRefusal(err)) this.tlsRefused = true;
          this.log.debug({ err: err.message }, 'socket error');
        });
        socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
        // The broker ended the connection (shutdown, idle timeout): it will answer nothing more,
        // so fail what waits now and reconnect for the next request rather than write into a
        // half-closed socket.
        socket.on('end', () => socket.destroy());
        socket.on('close', () => this.onClose(socket));
        resolve();
      });
    });
  }

  private async handshake(): Promise<void> {
    this.slots.force();
    const response = (await this.write(
      'ApiVersions',
      { clientId: this.opts.clientId, clientSoftwareName: 'rill-js', clientSoftwareVersion: '0.1.0' },
      { timeoutMs: this.opts.connectionTimeoutMs },
    )) as ResponseOf<'ApiVersions'>;
    if (response.errorCode !== ErrorCode.NONE) throw errorFromCode(response.errorCode, `ApiVersions refused by ${this.address}`);
    this.versions.clear();
    for (const k of response.apiKeys) this.versions.set(k.apiKey, k.maxVersion);
  }

  /** The version to speak for an API: the highest both sides support. */
  private versionFor(def: ApiDefinition): number {
    const theirs = this.versions.get(def.key);
    return theirs === undefined ? def.maxVersion : Math.min(theirs, def.maxVersion);
  }

  /**
   * Writes one request (or queues it, FIFO, while the socket waits for 'drain'); the caller
   * holds a slot, which this releases when the request ends.
   */
  private write(api: ApiName, payload: unknown, opts: RequestOptions): Promise<unknown> {
    const def = DEFS.get(api)!;
    const socket = this.socket;
    if (socket === null || socket.destroyed) {
      this.slots.release();
      return Promise.reject(new ConnectionError(`not connected to ${this.address}`));
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = this.nextCorrelationId >= 0x7fffffff ? 1 : this.nextCorrelationId + 1;
    let frame: Buffer[];
    try {
      frame = this.encodeFrame(def, correlationId, payload);
    } catch (err) {
      this.slots.release();
      return Promise.reject(err);
    }
    const expectResponse = opts.expectResponse !== false;
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
      const entry: PendingRequest = {
        def,
        resolve,
        reject,
        timeoutMs,
        deadlineMs: performance.now() + timeoutMs,
        settled: false,
        signal: opts.signal,
        onAbort: this.abortPending,
        abortList: null,
        abortSlot: -1,
        frame,
        onWritten: null,
        expectResponse,
        segmentedRecords: opts.segmentedRecords === true,
        writtenAt: 0,
        correlationId,
      };
      if (!expectResponse) {
        // acks=0: nothing comes back; the request ends once written.
        entry.onWritten = (err) => {
          if (!this.pending.settle(entry)) return;
          stopWatching(entry);
          this.slots.release();
          if (err) reject(new ConnectionError(`write to ${this.address} failed: ${err.message}`, { cause: err }));
          else resolve(undefined);
        };
      }
      if (opts.signal !== undefined) {
        // One listener per signal, however many requests carry it (abort-watch.ts).
        startWatching(entry, opts.signal);
      }
      this.pending.add(entry);
      this.writer.send(entry);
    });
  }

  /** A request's signal aborted (its watch is already gone): unless settled, free its slot and fail it. */
  private abortRequest(entry: PendingRequest): void {
    entry.abortList = null;
    if (!this.pending.settle(entry)) return;
    this.writer.remove(entry);
    this.slots.release();
    entry.reject(abortError(entry.signal!));
  }

  /** A request's deadline passed (PendingRequests has settled it): free its slot and fail it. */
  private expire(entry: PendingRequest): void {
    const queued = this.writer.remove(entry);
    this.slots.release();
    stopWatching(entry);
    const what = `${entry.def.name} request to ${this.address} timed out after ${entry.timeoutMs} ms`;
    entry.reject(new TimeoutError(queued ? `${what} waiting for the socket to drain (the broker is not reading)` : what));
  }

  /** The frame's chunks: size + header, then the payload (Produce: envelope + batches, uncopied). */
  private encodeFrame(def: ApiDefinition, correlationId: number, payload: unknown): Buffer[] {
    const prefix = Buffer.allocUnsafe(REQUEST_PREFIX_BYTES);
    const header = { apiKey: def.key, apiVersion: this.versionFor(def), correlationId };
    if (def.name === 'Produce') {
      const { chunks, totalBytes } = encodeProduceRequestChunks(payload as RequestOf<'Produce'>);
      writeRequestPrefix(prefix, header, totalBytes);
      chunks.unshift(prefix);
      return chunks;
    }
    const body = pack(payload);
    writeRequestPrefix(prefix, header, body.length);
    return [prefix, body];
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    let frames: Array<Buffer | SegmentedBytes>;
    try {
      frames = this.decoder.pushSegmented(chunk);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'undecodable response stream; closing connection');
      socket.destroy(err as Error);
      return;
    }
    for (let i = 0; i < frames.length; i++) this.onFrame(frames[i]!);
  }

  private onFrame(body: Buffer | SegmentedBytes): void {
    const correlationId = correlationIdOf(body);
    if (correlationId < 0) {
      this.socket?.destroy(new ConnectionError(`response from ${this.address} shorter than its header`));
      return;
    }
    const entry = this.pending.take(correlationId);
    if (entry === undefined) {
      this.log.debug({ correlationId }, 'response to a request that timed out or was aborted; dropped');
      return;
    }
    stopWatching(entry);
    this.slots.release();
    if (entry.writtenAt > 0) this.metrics.requestLatency(entry.def.name, (performance.now() - entry.writtenAt) / 1000);
    let payload: unknown;
    try {
      payload = decodeResponseBody(entry.def, body, entry.segmentedRecords, this.address);
    } catch (err) {
      entry.reject(err as Error);
      return;
    }
    entry.resolve(payload);
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    const hadRequests = this.pending.size > 0;
    if (this.state !== 'closed') {
      this.state = 'idle';
      if (hadRequests) this.log.warn({ inFlight: this.pending.size }, 'connection lost with requests in flight');
      else this.log.debug('connection closed');
    }
    const lost = `connection to ${this.address} was lost${this.socketError !== null ? ` (${this.socketError})` : ''}`;
    this.failAll(this.tlsRefused ? new TlsHandshakeError(lost) : new ConnectionError(lost));
  }

  private failAll(err: ConnectionError): void {
    const entries = this.pending.drain();
    this.writer.clear();
    if (this.state === 'closed') this.pending.stop();
    for (const e of entries) {
      e.frame = null;
      stopWatching(e);
      this.slots.release();
      e.reject(err);
    }
    if (this.state === 'closed') this.slots.failWaiters(err);
  }
}
