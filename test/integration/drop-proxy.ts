/**
 * A TCP proxy on loopback that can "lose" one Produce response: it forwards the request to the
 * broker, waits for the broker's answer to it, and then drops both connections instead of
 * forwarding that answer. The broker has written the batch; the client only sees its
 * connection die — exactly the case an idempotent producer's retry must not duplicate.
 */
import net from 'node:net';
import { FrameDecoder, encodeFrameBuffer } from '../../protocol/frame.js';

const PRODUCE_API_KEY = 0;
const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export class DropProxy {
  targetPort = 0;
  /** Produce responses dropped so far. */
  dropped = 0;
  /** Produce requests seen so far. */
  produceRequests = 0;
  private armed = 0;
  private skip = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor() {
    this.server = net.createServer((client) => this.onClient(client));
  }

  static async listen(): Promise<DropProxy> {
    const proxy = new DropProxy();
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /**
   * The response to each of the next `count` Produce requests (after letting `skip` more
   * through untouched) is dropped, with the connection.
   */
  dropNextProduceResponses(count = 1, skip = 0): void {
    this.armed += count;
    this.skip = skip;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onClient(client: net.Socket): void {
    const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const victims = new Set<number>();
    const fromClient = new FrameDecoder(MAX_FRAME_BYTES);
    const fromBroker = new FrameDecoder(MAX_FRAME_BYTES);
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      for (const body of fromClient.push(chunk)) {
        if (body.readUInt16BE(0) === PRODUCE_API_KEY) {
          this.produceRequests++;
          if (this.skip > 0) this.skip--;
          else if (this.armed > 0) {
            this.armed--;
            victims.add(body.readUInt32BE(4));
          }
        }
        upstream.write(encodeFrameBuffer(body));
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const body of fromBroker.push(chunk)) {
        if (victims.has(body.readUInt32BE(0))) {
          this.dropped++;
          kill();
          return;
        }
        client.write(encodeFrameBuffer(body));
      }
    });
    client.on('close', kill);
    upstream.on('close', kill);
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', () => this.sockets.delete(client));
    upstream.on('close', () => this.sockets.delete(upstream));
  }
}
