/**
 * The buffers one connection's large request frames are assembled in, reused once the request
 * that used them is answered.
 *
 * A produce frame of ~1 MiB arrives in 64 KiB socket reads, so the FrameDecoder copies it into
 * one contiguous buffer. A fresh buffer per frame cost the broker a fifth of its produce time
 * (docs/BENCHMARKS.md, issue 8): first-touch page faults inside the copy and the GC that the
 * growth of external memory triggers. A pooled buffer's pages are already mapped and nothing
 * new is allocated.
 *
 * Lifetime (the whole point; see test/broker/frame-buffer-reuse.test.ts): a buffer is lent for
 * one frame and comes back only through `release`, which the connection calls once that
 * request's dispatch has settled. Only Produce requests give their buffer back: a Produce
 * handler settles after storage has written the bytes (storage answers an append, even a
 * failed one, only once no write refers to its buffer, log-writer.ts) and nothing keeps a
 * reference to the request after that (the tail cache copies, replication reads the log). Every
 * other request `forget`s its buffer: it is never reused, and the GC frees it as before, since
 * a handler may keep a view of the request (a group member's metadata, say).
 *
 * Bounds: frames below MIN_POOLED_FRAME_BYTES are not pooled (Node's allocator serves those
 * cheaply); at most MAX_FREE_BUFFERS buffers and MAX_FREE_BYTES bytes wait for reuse per
 * connection, and at most `budget.maxBytes` (PROCESS_FREE_BYTES by default) across all
 * connections, so a thousand producer connections do not each park megabytes; a released
 * buffer that does not fit is left to the GC. `dispose` (the connection closed) gives the free
 * bytes back to the budget. A buffer is sized with 1/8 slack so frames of a similar size fit it.
 */
import type { FrameBufferSource } from '../protocol/frame.js';

export const MIN_POOLED_FRAME_BYTES = 64 * 1024;
export const MAX_FREE_BUFFERS = 4;
export const MAX_FREE_BYTES = 16 * 1024 * 1024;
export const PROCESS_FREE_BYTES = 256 * 1024 * 1024;

/** Bytes of free pooled buffers held by every pool sharing this object, and their bound. */
export interface FreeBufferBudget {
  maxBytes: number;
  usedBytes: number;
}

/** The budget shared by every pool that is not given its own. */
export const processFreeBufferBudget: FreeBufferBudget = { maxBytes: PROCESS_FREE_BYTES, usedBytes: 0 };
const PAGE_BYTES = 4096;

export class FrameBufferPool implements FrameBufferSource {
  private free: Buffer[] = [];
  private freeBytes = 0;
  /** Buffers lent and not yet released or forgotten, by their memory. */
  private readonly lent = new Map<ArrayBufferLike, Buffer>();
  private disposed = false;
  /** Frames assembled in a reused buffer (for tests and metrics). */
  reuses = 0;

  constructor(private readonly budget: FreeBufferBudget = processFreeBufferBudget) {}

  acquire(sizeBytes: number): Buffer | null {
    if (sizeBytes < MIN_POOLED_FRAME_BYTES) return null;
    let buf: Buffer | undefined;
    for (let i = 0; i < this.free.length; i++) {
      const candidate = this.free[i]!;
      if (candidate.length >= sizeBytes) {
        buf = candidate;
        this.free[i] = this.free[this.free.length - 1]!;
        this.free.pop();
        this.freeBytes -= candidate.length;
        this.budget.usedBytes -= candidate.length;
        this.reuses++;
        break;
      }
    }
    if (buf === undefined) {
      const capacity = Math.ceil((sizeBytes + (sizeBytes >>> 3)) / PAGE_BYTES) * PAGE_BYTES;
      // Its own ArrayBuffer (never a slice of Node's shared pool), so it identifies the loan.
      buf = Buffer.from(new ArrayBuffer(capacity));
    }
    this.lent.set(buf.buffer, buf);
    return buf;
  }

  /** Whether `frame` lies in a buffer this pool lent and has not had back. */
  isLent(frame: Buffer): boolean {
    return this.lent.has(frame.buffer);
  }

  /**
   * The request whose frame is `frame` is done with it: its buffer may be lent again. A frame
   * that is not in a lent buffer (a view of a socket read) is ignored.
   */
  release(frame: Buffer): void {
    const buf = this.lent.get(frame.buffer);
    if (buf === undefined || this.disposed) return;
    this.lent.delete(frame.buffer);
    if (this.free.length >= MAX_FREE_BUFFERS || this.freeBytes + buf.length > MAX_FREE_BYTES) return;
    if (this.budget.usedBytes + buf.length > this.budget.maxBytes) return;
    this.free.push(buf);
    this.freeBytes += buf.length;
    this.budget.usedBytes += buf.length;
  }

  /** Drops the free buffers (the connection is gone); buffers still lent are never taken back. */
  dispose(): void {
    this.budget.usedBytes -= this.freeBytes;
    this.free = [];
    this.freeBytes = 0;
    this.lent.clear();
    this.disposed = true;
  }

  /** The request may keep views of `frame`: its buffer is never lent again. */
  forget(frame: Buffer): void {
    this.lent.delete(frame.buffer);
  }
}
