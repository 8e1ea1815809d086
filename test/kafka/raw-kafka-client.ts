/**
 * A raw Kafka-protocol socket client for the listener's tests: frames requests with
 * protocol/kafka's codec, reads responses in arrival order (Kafka answers in request order),
 * and lets a test send arbitrary bytes. No client logic, so a test sees exactly what the
 * broker answered, or that it closed the connection.
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame.js';
import { decodeResponse, encodeRequest, type KafkaMessage } from '../../protocol/kafka/index.js';

/**
 * A hand-built request frame: size prefix, the v1 header (apiKey, apiVersion, correlationId,
 * a null clientId), then `body` as given: for requests the codec cannot or must not write
 * (unknown keys and versions, lying lengths).
 */
export function rawFrame(apiKey: number, apiVersion: number, correlationId: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(4 + 10);
  head.writeInt32BE(10 + body.length, 0);
  head.writeInt16BE(apiKey, 4);
  head.writeInt16BE(apiVersion, 6);
  head.writeInt32BE(correlationId, 8);
  head.writeInt16BE(-1, 12);
  return Buffer.concat([head, body]);
}

export class RawKafkaClient {
  private readonly decoder = new FrameDecoder(512 * 1024 * 1024);
  /** Response frame bodies not yet taken, in arrival order. */
  private readonly frames: Buffer[] = [];
  private wake: (() => void) | null = null;
  private nextCorrelationId = 1;
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const body of this.decoder.push(chunk)) this.frames.push(Buffer.from(body));
      this.wake?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve();
      });
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawKafkaClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.once('connect', () => resolve(new RawKafkaClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a request without waiting; returns its correlation id. */
  send(apiKey: number, apiVersion: number, body: KafkaMessage, clientId: string | null = 'raw-test'): number {
    const correlationId = this.nextCorrelationId++;
    for (const chunk of encodeRequest(apiKey, apiVersion, correlationId, clientId, body)) this.socket.write(chunk);
    return correlationId;
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next response frame body (correlation id first); rejects when the connection closes first or after `timeoutMs`. */
  async nextFrame(timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.isClosed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.frames.shift()!;
  }

  /** Sends a request and decodes the next response as that API's. */
  async request(apiKey: number, apiVersion: number, body: KafkaMessage): Promise<{ correlationId: number; body: KafkaMessage }> {
    const sent = this.send(apiKey, apiVersion, body);
    const r = decodeResponse(apiKey, apiVersion, await this.nextFrame());
    if (r.correlationId !== sent) throw new Error(`response to ${r.correlationId} while waiting for ${sent}`);
    return r;
  }

  /** Resolves true when the broker closes the connection within `timeoutMs`. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([this.closed.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(timer);
    return closed;
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}
