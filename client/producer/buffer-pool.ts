/**
 * Batch buffers for the record accumulator (Kafka's BufferPool, reduced to what a
 * single-threaded producer needs): a batch's records are written into one buffer
 * (protocol/record-batch-builder.ts), and once the batch is acked that buffer serves the next
 * batch instead of becoming garbage. Two sizes are kept: buffers of exactly `batchBytes` (a
 * full batch's) and buffers of the first size a batch gets (`initialBytes`, what the small
 * batches of a low-rate or lingerMs 0 producer never outgrow: without them every such batch
 * was a fresh 16 KiB ArrayBuffer, ~100 MB of garbage per 10 s at 20,000 sends/s). At most
 * `maxFree` of each, so idle memory held here is bounded by maxFree x (batchBytes + 16 KiB).
 */

/** A new batch's first buffer: small batches (lingerMs 0) stay small. */
const INITIAL_BATCH_BUFFER_BYTES = 16 * 1024;
/** Free buffers kept at most, per size (fewer full ones when bufferMemoryBytes holds fewer batches). */
const MAX_FREE_BUFFERS = 8;

export class BatchBufferPool {
  readonly batchBytes: number;
  /** Size of a new batch's buffer when no full-size one is free. */
  readonly initialBytes: number;
  readonly maxFree: number;
  private readonly free: Buffer[] = [];
  /** Free buffers of initialBytes (only when that is smaller than batchBytes). */
  private readonly freeInitial: Buffer[] = [];

  constructor(batchBytes: number, bufferMemoryBytes: number) {
    this.batchBytes = batchBytes;
    this.initialBytes = Math.min(batchBytes, INITIAL_BATCH_BUFFER_BYTES);
    this.maxFree = Math.max(1, Math.min(MAX_FREE_BUFFERS, Math.floor(bufferMemoryBytes / batchBytes)));
  }

  /** Buffers waiting for a batch. */
  get freeCount(): number {
    return this.free.length + this.freeInitial.length;
  }

  /** A buffer for a new batch whose first record needs `firstBytes` (header included). */
  allocate(firstBytes: number): Buffer {
    if (firstBytes <= this.initialBytes && this.freeInitial.length > 0) return this.freeInitial.pop()!;
    if (firstBytes <= this.batchBytes && this.free.length > 0) return this.free.pop()!;
    return Buffer.allocUnsafe(Math.max(firstBytes, this.initialBytes));
  }

  /** Takes a buffer back; the caller guarantees nothing reads or writes it any more. */
  release(buffer: Buffer): void {
    if (buffer.length === this.batchBytes) {
      if (this.free.length < this.maxFree) this.free.push(buffer);
    } else if (buffer.length === this.initialBytes) {
      if (this.freeInitial.length < MAX_FREE_BUFFERS) this.freeInitial.push(buffer);
    }
  }
}
