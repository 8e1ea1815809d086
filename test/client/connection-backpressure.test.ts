import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, type ConnectionOptions } from '../../client/connection.js';
import { RequestQueueFullError } from '../../client/errors.js';
import { APIS } from '../../protocol/apis/index.js';
import { TimeoutError } from '../../protocol/errors.js';
import { encodeResponseFrame } from '../../protocol/messages.js';
import { testLogger } from '../integration/harness.js';

const FRAME_BYTES = 1024 * 1024;

/**
 * A real TCP server on loopback that answers the ApiVersions handshake and then stops reading:
 * the kernel's buffers fill up and the client's socket can take no more.
 */
async function slowReader(sockets: net.Socket[], servers: net.Server[]): Promise<number> {
  const server = net.createServer((s) => {
    sockets.push(s);
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readUInt32BE(0)) return;
      s.off('data', onData);
      s.pause();
      const correlationId = received.readUInt32BE(4 + 4);
      const apiKeys = Object.values(APIS).map((d) => ({ apiKey: d.key, minVersion: d.minVersion, maxVersion: d.maxVersion }));
      s.write(encodeResponseFrame(correlationId, { errorCode: 0, apiKeys, throttleTimeMs: 0 }));
    };
    s.on('data', onData);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

function connection(port: number, overrides: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({
    host: '127.0.0.1',
    port,
    clientId: 'backpressure-test',
    connectionTimeoutMs: 5_000,
    requestTimeoutMs: 5_000,
    maxInFlightRequests: 256,
    maxFrameBytes: 64 * 1024 * 1024,
    reconnectBackoff: { retries: 1, initialBackoffMs: 20, maxBackoffMs: 100 },
    logger: testLogger,
    ...overrides,
  });
}

function produce(records: Buffer): { acks: 1; timeoutMs: number; topics: Array<{ name: string; partitions: Array<{ partition: number; records: Buffer }> }> } {
  return { acks: 1, timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partition: 0, records }] }] };
}

describe('Connection socket backpressure', () => {
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  const connections: Connection[] = [];
  afterEach(async () => {
    for (const c of connections.splice(0)) await c.close();
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('stops writing to a socket whose reader does not read, and times the waiting requests out', async () => {
    const port = await slowReader(sockets, servers);
    const conn = connection(port);
    connections.push(conn);
    await conn.connect();
    const records = Buffer.alloc(FRAME_BYTES, 7);
    // 96 MiB asked for: far more than the kernel's socket buffers on both ends hold.
    const requests = 96;
    let peakBuffered = 0;
    let peakWaiting = 0;
    const sample = (): void => {
      peakBuffered = Math.max(peakBuffered, conn.bufferedWriteBytes);
      peakWaiting = Math.max(peakWaiting, conn.waitingForDrain);
    };
    const sampler = setInterval(sample, 2);
    const results = await Promise.allSettled(
      Array.from({ length: requests }, () => {
        const p = conn.request('Produce', produce(records), { timeoutMs: 1500 });
        sample();
        return p;
      }),
    );
    clearInterval(sampler);
    // Every request failed with a typed, retriable timeout; none hung.
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
    }
    const drainTimeouts = results.filter((r) => /waiting for the socket to drain/.test(((r as PromiseRejectedResult).reason as Error).message));
    expect(drainTimeouts.length).toBeGreaterThan(0);
    expect(peakWaiting).toBeGreaterThan(0);
    // The client's own buffer never held more than about one frame beyond the socket's mark.
    expect(peakBuffered).toBeLessThanOrEqual(FRAME_BYTES + 64 * 1024);
    expect(conn.waitingForDrain).toBe(0);
    expect(conn.inFlightRequests).toBe(0);
  });

  it('refuses requests with RequestQueueFullError beyond maxQueuedRequests waiting callers', async () => {
    const port = await slowReader(sockets, servers);
    const conn = connection(port, { maxInFlightRequests: 2, maxQueuedRequests: 3 });
    connections.push(conn);
    await conn.connect();
    const small = Buffer.alloc(100, 1);
    const waiting = Array.from({ length: 5 }, () => conn.request('Produce', produce(small), { timeoutMs: 300 }));
    const refused = await conn.request('Produce', produce(small), { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RequestQueueFullError);
    expect((refused as RequestQueueFullError).retriable).toBe(true);
    // The 5 accepted ones (2 written, 3 waiting for a slot) end with timeouts, not hangs.
    for (const r of await Promise.allSettled(waiting)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
    }
    expect(conn.inFlightRequests).toBe(0);
  });
});
