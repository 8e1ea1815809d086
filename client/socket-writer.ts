/**
 * Writes request frames to one socket, in order, honouring its backpressure: a frame goes out
 * as one corked batch (its chunks leave in a single writev, record batches uncopied); once
 * `write()` has filled the socket's buffer (writableNeedDrain) later frames wait, FIFO, for
 * 'drain' instead of piling up in memory. How long a frame may wait, and how many may wait, is
 * the owner's business (client/connection.ts: request timeouts and maxQueuedRequests).
 */
import type net from 'node:net';

export interface OutgoingFrame {
  /** The frame's chunks until it is written (or taken out of the queue); null after. */
  frame: Buffer[] | null;
  /** Called once the frame's last chunk was handed to the kernel, or failed (acks=0 requests end there); null when nobody needs it. */
  onWritten: ((err: Error | null | undefined) => void) | null;
}

export class SocketWriter<F extends OutgoingFrame> {
  private socket: net.Socket | null = null;
  /** Frames waiting for the socket to drain, oldest first. */
  private readonly queue: F[] = [];
  /** The socket's buffer is full (write() said so): write nothing more until 'drain'. */
  private blocked = false;
  /** Runs just before a frame is handed to the socket (request latency starts there). */
  private readonly beforeWrite: (frame: F) => void;

  constructor(beforeWrite: (frame: F) => void) {
    this.beforeWrite = beforeWrite;
  }

  /** Frames waiting for the socket to drain. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Starts writing to a new socket; frames queued for an old one must have been dropped (`clear`). */
  attach(socket: net.Socket): void {
    this.socket = socket;
    this.blocked = false;
  }

  /** Writes the frame now, or queues it behind the frames already waiting for 'drain'. */
  send(frame: F): void {
    if (this.blocked || this.queue.length > 0) this.queue.push(frame);
    else this.write(this.socket!, frame);
  }

  /** Takes a frame out of the queue (its request timed out or was aborted); true if it had not been written. */
  remove(frame: F): boolean {
    if (frame.frame === null) return false;
    frame.frame = null;
    const i = this.queue.indexOf(frame);
    if (i >= 0) this.queue.splice(i, 1);
    return true;
  }

  /** Forgets every queued frame (the socket is gone; the owner fails their requests). */
  clear(): void {
    for (const f of this.queue) f.frame = null;
    this.queue.length = 0;
    this.blocked = false;
  }

  private write(socket: net.Socket, f: F): void {
    const frame = f.frame!;
    f.frame = null;
    this.beforeWrite(f);
    socket.cork();
    const last = frame.length - 1;
    for (let i = 0; i < last; i++) socket.write(frame[i]!);
    if (f.onWritten === null) socket.write(frame[last]!);
    else socket.write(frame[last]!, f.onWritten);
    socket.uncork();
    if (socket.writableNeedDrain && !this.blocked) {
      this.blocked = true;
      socket.once('drain', () => this.onDrain(socket));
    }
  }

  /** The socket took its buffer: write queued frames, in order, until it is full again. */
  private onDrain(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.blocked = false;
    while (this.queue.length > 0 && !this.blocked) this.write(socket, this.queue.shift()!);
  }
}
