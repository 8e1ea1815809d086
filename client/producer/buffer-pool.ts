/**
 * Batch buffers for the record accumulator (Kafka's BufferPool, reduced to what a
 * single-threaded producer needs): a batch's records are written into one buffer
 * (protocol/record-batch-builder.ts), and once the batch is acked that buffer serves the next
 * batch instead of becoming garbage. Only buffers of exactly `batchBytes` are kept — a batch
 * grows to that size when full, which is the case worth recycling — and at most `maxFree` of
 * them, so idle memory held here is bounded by maxFree x batchBytes (itself <= bufferMemoryBytes).
 */

/** A new batch's first buffer when the pool has none: small batches (lingerMs 0) stay small. */
const INITIAL_BATCH_BUFFER_BYTES = 16 * 1024;
/** Free buffers kept at most (fewer when bufferMemoryBytes holds fewer batches). */
const MAX_FREE_BUFFERS = 8;

export class BatchBufferPool {
  readonly batchBytes: number;
  readonly maxFree: number;
  private readonly free: Buffer[] = [];

  constructor(batchBytes: number, bufferMemoryBytes: number) {
    this.batchBytes = batchBytes;
    this.maxFree = Math.max(1, Math.min(MAX_FREE_BUFFERS, Math.floor(bufferMemoryBytes / batchBytes)));
  }

  /** Buffers waiting for a batch. */
  get freeCount(): number {
    return this.free.length;
  }

  /** A buffer for a new batch whose first record needs `firstBytes` (header included). */
  allocate(firstBytes: number): Buffer {
    if (firstBytes <= this.batchBytes && this.free.length > 0) return this.free.pop()!;
    return Buffer.allocUnsafe(Math.max(firstBytes, Math.min(this.batchBytes, INITIAL_BATCH_BUFFER_BYTES)));
  }

  /** Takes a buffer back; the caller guarantees nothing reads or writes it any more. */
  release(buffer: Buffer): void {
    if (buffer.length === this.batchBytes && this.free.length < this.maxFree) this.free.push(buffer);
  }
}
