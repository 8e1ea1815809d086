/**
 * Framing of the TCP byte stream between client and broker.
 *
 * Byte format, repeated back to back on the connection:
 *
 *   size:u32be   number of body bytes that follow (1 .. maxFrameBytes; 0 is invalid)
 *   body:size    one request or response (its own header is described in docs/PROTOCOL.md)
 *
 * Encoding prepends a 4-byte header chunk and hands back the body chunks untouched, so a
 * writer sends `[header, ...bodies]` with one `writev`/`cork` and no body is ever copied.
 *
 * Decoding keeps the received chunks in a list and copies only when a frame straddles chunks
 * (each byte is copied at most once, into the frame that needs it, so a frame dribbled in one
 * byte at a time still costs linear time). A body that sits inside a single chunk is returned
 * as a view of that chunk: callers must not reuse or overwrite a chunk after pushing it (Node
 * sockets hand out a fresh Buffer per 'data' event, so that holds for socket data).
 * A decoder given a FrameBufferSource (the broker's per-connection pool,
 * broker/frame-buffer-pool.ts) copies a straddling frame into a buffer it lends instead of a
 * fresh one: a fresh megabyte per produce frame cost the broker its pages' first-touch faults
 * and the GC that external memory growth triggers (docs/BENCHMARKS.md, issue 8); the owner of
 * the source decides when the bytes may be overwritten.
 * `pushSegmented` copies nothing at all: a frame that straddles chunks comes back as a
 * `SegmentedBytes` of views, for readers that can walk a chunk list (the client's Fetch
 * answers: copying multi-megabyte frames into fresh buffers cost the consumer a fifth of its
 * time in first-touch page faults, docs/BENCHMARKS.md).
 */
import { FrameTooLargeError, rillError } from './errors.js';

export const FRAME_HEADER_BYTES = 4;
/** The largest size a u32 header can announce. */
export const MAX_FRAME_BYTES_LIMIT = 0xffffffff;

/** The 4-byte header for a body of `sizeBytes` bytes. */
export function frameHeader(sizeBytes: number): Buffer {
  if (!Number.isInteger(sizeBytes) || sizeBytes < 1 || sizeBytes > MAX_FRAME_BYTES_LIMIT) {
    throw new RangeError(`frame body size must be an integer in 1..${MAX_FRAME_BYTES_LIMIT}, got ${sizeBytes}`);
  }
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(sizeBytes, 0);
  return header;
}

/**
 * The chunks of one frame: a fresh 4-byte header followed by the body chunk(s), uncopied.
 * Pass the result to `socket.writev`-style APIs or write each chunk inside `cork()`/`uncork()`.
 */
export function encodeFrame(body: Buffer | Buffer[]): Buffer[] {
  if (Array.isArray(body)) {
    let sizeBytes = 0;
    for (const chunk of body) sizeBytes += chunk.length;
    const chunks = new Array<Buffer>(body.length + 1);
    chunks[0] = frameHeader(sizeBytes);
    for (let i = 0; i < body.length; i++) chunks[i + 1] = body[i]!;
    return chunks;
  }
  return [frameHeader(body.length), body];
}

/**
 * One contiguous frame (header + body copied into a single Buffer): for small frames and
 * tests, where one buffer is simpler than a chunk list and the copy is cheap.
 */
export function encodeFrameBuffer(body: Buffer | Buffer[]): Buffer {
  return Buffer.concat(encodeFrame(body));
}

/** Lends the buffer a straddling frame is copied into; null means "allocate a fresh one". */
export interface FrameBufferSource {
  /** A buffer of at least `sizeBytes` bytes nobody else uses now, or null. */
  acquire(sizeBytes: number): Buffer | null;
}

/**
 * Streaming decoder: `push` each received chunk, get back the bodies of the frames it
 * completed. After it throws (an oversized or empty frame) the stream is out of sync: the
 * decoder drops what it held and every later `push` throws the same error, so the owner
 * closes that one connection.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  /** Received chunks not yet consumed; `chunks[head]` is consumed up to `headOffset`. */
  private chunks: Buffer[] = [];
  private head = 0;
  private headOffset = 0;
  private buffered = 0;
  /** Body size announced by the header being worked on, or -1 while waiting for a header. */
  private expectedBytes = -1;
  private failure: Error | null = null;

  constructor(
    maxFrameBytes: number,
    private readonly buffers: FrameBufferSource | null = null,
  ) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
      throw new RangeError(`maxFrameBytes must be an integer in 1..${MAX_FRAME_BYTES_LIMIT}, got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned as part of a frame (a partial header or body). */
  get bufferedBytes(): number {
    // A header already parsed still counts until its frame is returned.
    return this.buffered + (this.expectedBytes >= 0 ? FRAME_HEADER_BYTES : 0);
  }

  /** Adds a chunk; returns zero or more complete frame bodies, in stream order. */
  push(chunk: Buffer): Buffer[] {
    return this.pushInto(chunk, []) as Buffer[];
  }

  /**
   * As `push`, but a frame that straddles chunks is returned as views of those chunks
   * (`SegmentedBytes`), never copied; a frame inside one chunk is still one Buffer view.
   */
  pushSegmented(chunk: Buffer): Array<Buffer | SegmentedBytes> {
    return this.pushInto(chunk, [], true);
  }

  private pushInto(chunk: Buffer, frames: Array<Buffer | SegmentedBytes>, segmented = false): Array<Buffer | SegmentedBytes> {
    if (this.failure !== null) throw this.failure;
    let offset = 0;
    // Fast path: at a frame boundary with nothing held over, so frames are cut straight out
    // of this chunk.
    if (this.buffered === 0 && this.expectedBytes < 0) {
      const length = chunk.length;
      while (length - offset >= FRAME_HEADER_BYTES) {
        const sizeBytes = chunk.readUInt32BE(offset);
        this.checkSize(sizeBytes);
        if (length - offset - FRAME_HEADER_BYTES < sizeBytes) break;
        offset += FRAME_HEADER_BYTES;
        frames.push(chunk.subarray(offset, offset + sizeBytes));
        offset += sizeBytes;
      }
      if (offset === length) return frames;
    }
    this.append(offset === 0 ? chunk : chunk.subarray(offset));
    this.drain(frames, segmented);
    return frames;
  }

  private append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  private drain(frames: Array<Buffer | SegmentedBytes>, segmented: boolean): void {
    for (;;) {
      if (this.expectedBytes < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) return;
        const sizeBytes = this.readHeader();
        this.checkSize(sizeBytes);
        this.expectedBytes = sizeBytes;
      }
      if (this.buffered < this.expectedBytes) return;
      frames.push(segmented ? this.takeSegments(this.expectedBytes) : this.take(this.expectedBytes));
      this.expectedBytes = -1;
    }
  }

  /** Consumes the 4 header bytes, which may be spread over several chunks. */
  private readHeader(): number {
    const first = this.chunks[this.head]!;
    if (first.length - this.headOffset >= FRAME_HEADER_BYTES) {
      const sizeBytes = first.readUInt32BE(this.headOffset);
      this.consume(FRAME_HEADER_BYTES);
      return sizeBytes;
    }
    let sizeBytes = 0;
    for (let i = 0; i < FRAME_HEADER_BYTES; i++) {
      const chunk = this.chunks[this.head]!;
      sizeBytes = sizeBytes * 256 + chunk[this.headOffset]!;
      this.consume(1);
    }
    return sizeBytes;
  }

  /** Removes `count` (<= buffered) bytes from the front without producing them. */
  private consume(count: number): void {
    this.buffered -= count;
    while (count > 0) {
      const chunk = this.chunks[this.head]!;
      const available = chunk.length - this.headOffset;
      if (count < available) {
        this.headOffset += count;
        return;
      }
      count -= available;
      this.dropHead();
    }
  }

  /** The next `count` (<= buffered) bytes: a view if they lie in one chunk, else one copy. */
  private take(count: number): Buffer {
    const first = this.chunks[this.head]!;
    if (first.length - this.headOffset >= count) {
      const view = first.subarray(this.headOffset, this.headOffset + count);
      this.consume(count);
      return view;
    }
    const lent = this.buffers === null ? null : this.buffers.acquire(count);
    const out = lent === null ? Buffer.allocUnsafe(count) : lent.length === count ? lent : lent.subarray(0, count);
    let written = 0;
    while (written < count) {
      const chunk = this.chunks[this.head]!;
      const n = Math.min(chunk.length - this.headOffset, count - written);
      chunk.copy(out, written, this.headOffset, this.headOffset + n);
      written += n;
      this.buffered -= n;
      if (this.headOffset + n === chunk.length) {
        this.dropHead();
      } else {
        this.headOffset += n;
      }
    }
    return out;
  }

  /** The next `count` (<= buffered) bytes: a view if they lie in one chunk, else views of each chunk. */
  private takeSegments(count: number): Buffer | SegmentedBytes {
    const first = this.chunks[this.head]!;
    if (first.length - this.headOffset >= count) return this.take(count);
    const segments: Buffer[] = [];
    let taken = 0;
    while (taken < count) {
      const chunk = this.chunks[this.head]!;
      const n = Math.min(chunk.length - this.headOffset, count - taken);
      segments.push(this.headOffset === 0 && n === chunk.length ? chunk : chunk.subarray(this.headOffset, this.headOffset + n));
      taken += n;
      this.buffered -= n;
      if (this.headOffset + n === chunk.length) {
        this.dropHead();
      } else {
        this.headOffset += n;
      }
    }
    return new SegmentedBytes(segments);
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY;
    this.head++;
    this.headOffset = 0;
    // Compact the list once the consumed prefix dominates, so it never grows without bound
    // and the cost stays amortised O(1) per chunk.
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  private checkSize(sizeBytes: number): void {
    if (sizeBytes > this.maxFrameBytes) {
      this.fail(new FrameTooLargeError(sizeBytes, this.maxFrameBytes));
    }
    if (sizeBytes === 0) {
      this.fail(rillError('INVALID_REQUEST', 'Frame announces an empty body (size 0); every request and response has a header'));
    }
  }

  private fail(err: Error): never {
    this.failure = err;
    this.chunks = [];
    this.head = 0;
    this.headOffset = 0;
    this.buffered = 0;
    this.expectedBytes = -1;
    throw err;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A run of bytes held as a list of non-empty Buffer views (a frame body that arrived in several
 * socket chunks), read without joining them. Positions are offsets into the whole run.
 */
export class SegmentedBytes {
  readonly segments: readonly Buffer[];
  readonly length: number;

  constructor(segments: readonly Buffer[]) {
    let length = 0;
    for (const s of segments) length += s.length;
    this.segments = segments;
    this.length = length;
  }

  /** The bytes [start, end) as views of the segments they cover (no copy). */
  slice(start: number, end: number): SegmentedBytes {
    const out: Buffer[] = [];
    let base = 0;
    for (const s of this.segments) {
      const segEnd = base + s.length;
      if (segEnd > start && base < end) {
        const from = Math.max(start, base) - base;
        const to = Math.min(end, segEnd) - base;
        out.push(from === 0 && to === s.length ? s : s.subarray(from, to));
      }
      if (segEnd >= end) break;
      base = segEnd;
    }
    return new SegmentedBytes(out);
  }

  /** The bytes [start, end) as one Buffer: a view when they lie in one segment, else a copy. */
  bytes(start: number, end: number): Buffer {
    let base = 0;
    for (const s of this.segments) {
      const segEnd = base + s.length;
      if (start >= base && end <= segEnd) return s.subarray(start - base, end - base);
      if (segEnd > start) break;
      base = segEnd;
    }
    const out = Buffer.allocUnsafe(end - start);
    let written = 0;
    for (const part of this.slice(start, end).segments) {
      part.copy(out, written);
      written += part.length;
    }
    return out;
  }

  /** All the bytes in one Buffer (a copy unless there is a single segment). */
  join(): Buffer {
    return this.segments.length === 1 ? this.segments[0]! : Buffer.concat(this.segments as Buffer[], this.length);
  }
}
