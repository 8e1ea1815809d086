/**
 * A deliberately small raw-socket client for broker tests: frames requests with the protocol
 * codec, matches responses by correlation id, and lets a test send arbitrary bytes. No SDK
 * logic (no retries, no metadata), so a test sees exactly what the broker answered.
 */
import { connect, type Socket } from 'node:net';
import { APIS, type ApiName, type RequestOf, type ResponseOf } from '../../protocol/apis/index.js';
import { FrameDecoder } from '../../protocol/frame.js';
import { decodeResponse, encodeRequestFrame } from '../../protocol/messages.js';

export interface RawResponse {
  correlationId: number;
  payload: unknown;
  /** The response body as received (correlation id + msgpack), for tests of the encoding. */
  body: Buffer;
}

export class RawClient {
  private readonly decoder = new FrameDecoder(512 * 1024 * 1024);
  private readonly waiting = new Map<number, { resolve: (r: RawResponse) => void; reject: (e: Error) => void }>();
  private nextCorrelationId = 1;
  /** Responses nobody waited for (e.g. after `sendRaw`), in arrival order. */
  readonly unsolicited: RawResponse[] = [];
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const body of this.decoder.push(chunk)) {
        const response = { ...decodeResponse(body), body: Buffer.from(body) };
        const w = this.waiting.get(response.correlationId);
        if (w === undefined) {
          this.unsolicited.push(response);
        } else {
          this.waiting.delete(response.correlationId);
          w.resolve(response);
        }
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        for (const w of this.waiting.values()) w.reject(new Error('connection closed'));
        this.waiting.clear();
        resolve();
      });
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a request of API `name` and resolves with its response payload. */
  async request<N extends ApiName>(name: N, payload: RequestOf<N>, opts: { version?: number } = {}): Promise<ResponseOf<N>> {
    const r = await this.requestRaw(APIS[name].key, opts.version ?? 0, payload);
    return r.payload as ResponseOf<N>;
  }

  /** Any apiKey/version/payload, valid or not. */
  requestRaw(apiKey: number, apiVersion: number, payload: unknown): Promise<RawResponse> {
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequestFrame(apiKey, apiVersion, correlationId, payload);
    return this.requestFrame(correlationId, frame);
  }

  /** Sends a prepared frame whose header carries `correlationId`; resolves with its response. */
  requestFrame(correlationId: number, frame: Buffer): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) {
        reject(new Error('connection closed'));
        return;
      }
      this.waiting.set(correlationId, { resolve, reject });
      this.socket.write(frame);
    });
  }

  /** Sends a request for which the broker sends no response (Produce acks 0). */
  sendNoResponse<N extends ApiName>(name: N, payload: RequestOf<N>): void {
    this.socket.write(encodeRequestFrame(APIS[name].key, 0, this.nextCorrelationId++, payload));
  }

  /** Writes bytes as they are. */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  takeCorrelationId(): number {
    return this.nextCorrelationId++;
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}
