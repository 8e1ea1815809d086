import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrame, encodeFrameBuffer, frameHeader } from '../../protocol/frame.js';
import { FrameTooLargeError, RillError } from '../../protocol/errors.js';

/** Deterministic pseudo-random numbers, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s = (s ^ (s >>> 12)) >>> 0;
    return s / 2 ** 32;
  };
}

function makeBodies(count: number, random: () => number): Buffer[] {
  const bodies: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    // Mostly small, sometimes several KiB, always at least one byte.
    const size = random() < 0.1 ? 1 + Math.floor(random() * 5000) : 1 + Math.floor(random() * 40);
    const body = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j++) body[j] = Math.floor(random() * 256);
    bodies.push(body);
  }
  return bodies;
}

function decodeAll(decoder: FrameDecoder, chunks: Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const chunk of chunks) frames.push(...decoder.push(chunk));
  return frames;
}

function expectSameFrames(actual: Buffer[], expected: Buffer[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!actual[i]!.equals(expected[i]!)) throw new Error(`frame ${i} differs`);
  }
}

describe('encodeFrame', () => {
  it('prepends a u32be size and hands the body chunks back uncopied', () => {
    const body = Buffer.from('hello');
    const chunks = encodeFrame(body);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]!.toString('hex')).toBe('00000005');
    expect(chunks[1]).toBe(body);

    const parts = [Buffer.from('ab'), Buffer.from('cde'), Buffer.alloc(300, 1)];
    const multi = encodeFrame(parts);
    expect(multi[0]!.readUInt32BE(0)).toBe(305);
    expect(multi.slice(1)).toEqual(parts);
    for (let i = 0; i < parts.length; i++) expect(multi[i + 1]).toBe(parts[i]);
  });

  it('builds one contiguous frame on request', () => {
    expect(encodeFrameBuffer(Buffer.from('xyz')).toString('hex')).toBe('00000003' + Buffer.from('xyz').toString('hex'));
    expect(encodeFrameBuffer([Buffer.from('x'), Buffer.from('yz')]).toString('hex')).toBe('00000003' + Buffer.from('xyz').toString('hex'));
  });

  it('refuses an empty body or one too large for a u32', () => {
    expect(() => encodeFrame(Buffer.alloc(0))).toThrow(RangeError);
    expect(() => encodeFrame([])).toThrow(RangeError);
    expect(() => frameHeader(2 ** 32)).toThrow(RangeError);
    expect(frameHeader(2 ** 32 - 1).toString('hex')).toBe('ffffffff');
  });
});

describe('FrameDecoder', () => {
  const random = rng(42);
  const bodies = makeBodies(60, random);
  const stream = Buffer.concat(bodies.map((b) => encodeFrameBuffer(b)));

  it('decodes a whole stream pushed as one chunk, as views of that chunk', () => {
    const decoder = new FrameDecoder(1 << 20);
    const frames = decoder.push(stream);
    expectSameFrames(frames, bodies);
    for (const frame of frames) expect(frame.buffer).toBe(stream.buffer);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes the same frames when the stream is cut in two at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder(1 << 20);
      const frames = decodeAll(decoder, [stream.subarray(0, cut), stream.subarray(cut)]);
      expectSameFrames(frames, bodies);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('decodes the same frames when the stream arrives one byte at a time', () => {
    const decoder = new FrameDecoder(1 << 20);
    const frames: Buffer[] = [];
    let completedBytes = 0;
    for (let i = 0; i < stream.length; i++) {
      const out = decoder.push(stream.subarray(i, i + 1));
      for (const frame of out) completedBytes += 4 + frame.length;
      frames.push(...out);
      // Everything received is either returned in a frame or still buffered.
      expect(decoder.bufferedBytes).toBe(i + 1 - completedBytes);
    }
    expectSameFrames(frames, bodies);
  });

  it('decodes the same frames under 200 random chunkings, copies of chunks included', () => {
    for (let trial = 0; trial < 200; trial++) {
      const chunks: Buffer[] = [];
      let pos = 0;
      const maxChunk = 1 + Math.floor(random() * (trial % 2 === 0 ? 16 : 9000));
      while (pos < stream.length) {
        const size = 1 + Math.floor(random() * maxChunk);
        // Fresh copies: the decoder must not rely on chunks sharing one ArrayBuffer.
        chunks.push(Buffer.from(stream.subarray(pos, pos + size)));
        pos += size;
      }
      const decoder = new FrameDecoder(1 << 20);
      expectSameFrames(decodeAll(decoder, chunks), bodies);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('handles empty chunks anywhere', () => {
    const decoder = new FrameDecoder(1 << 20);
    const frames = decodeAll(decoder, [Buffer.alloc(0), stream.subarray(0, 3), Buffer.alloc(0), stream.subarray(3), Buffer.alloc(0)]);
    expectSameFrames(frames, bodies);
  });

  it('assembles a large frame dribbled in tiny chunks', () => {
    const body = Buffer.alloc(256 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const wire = encodeFrameBuffer(body);
    const decoder = new FrameDecoder(1 << 20);
    const frames: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 3) frames.push(...decoder.push(wire.subarray(i, i + 3)));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.equals(body)).toBe(true);
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const decoder = new FrameDecoder(100);
    const frames = decoder.push(encodeFrameBuffer(Buffer.alloc(100, 7)));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(100);
  });

  it('throws FrameTooLargeError as soon as a header announces too much, buffering nothing', () => {
    const decoder = new FrameDecoder(100);
    const header = frameHeader(101);
    let thrown: unknown;
    try {
      decoder.push(Buffer.concat([header, Buffer.alloc(50)]));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FrameTooLargeError);
    expect((thrown as FrameTooLargeError).sizeBytes).toBe(101);
    expect((thrown as FrameTooLargeError).maxBytes).toBe(100);
    expect(decoder.bufferedBytes).toBe(0);
    // The stream is out of sync now: every later push fails the same way.
    expect(() => decoder.push(Buffer.alloc(10))).toThrow(FrameTooLargeError);
  });

  it('throws on the chunk that completes an oversized header, before any body arrives', () => {
    const decoder = new FrameDecoder(1000);
    const ok = encodeFrameBuffer(Buffer.alloc(10, 1));
    const header = frameHeader(0xfffffff0);
    expect(decoder.push(Buffer.concat([ok, header.subarray(0, 2)]))).toHaveLength(1);
    expect(decoder.bufferedBytes).toBe(2);
    expect(() => decoder.push(header.subarray(2))).toThrow(FrameTooLargeError);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('refuses a zero-length frame with INVALID_REQUEST', () => {
    const decoder = new FrameDecoder(100);
    let thrown: unknown;
    try {
      decoder.push(Buffer.from('00000000', 'hex'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RillError);
    expect((thrown as RillError).errorName).toBe('INVALID_REQUEST');
    expect(thrown).not.toBeInstanceOf(FrameTooLargeError);
  });

  it('refuses a nonsensical maximum', () => {
    expect(() => new FrameDecoder(0)).toThrow(RangeError);
    expect(() => new FrameDecoder(2 ** 32)).toThrow(RangeError);
  });
});

/** The simplest correct decoder: concatenate everything, then cut. Slow, obviously right. */
function referenceDecode(chunks: Buffer[], maxFrameBytes: number): { frames: Buffer[]; tooLarge: number | null } {
  const all = Buffer.concat(chunks);
  const frames: Buffer[] = [];
  let pos = 0;
  while (all.length - pos >= 4) {
    const size = all.readUInt32BE(pos);
    if (size > maxFrameBytes) return { frames, tooLarge: size };
    if (all.length - pos - 4 < size) break;
    frames.push(Buffer.from(all.subarray(pos + 4, pos + 4 + size)));
    pos += 4 + size;
  }
  return { frames, tooLarge: null };
}

/** Feeds `chunks` as fresh copies; returns the frames (copied out at the end) or the size refused. */
function decodeChecked(chunks: Buffer[], maxFrameBytes: number): { frames: Buffer[]; tooLarge: number | null } {
  const decoder = new FrameDecoder(maxFrameBytes);
  const frames: Buffer[] = [];
  try {
    for (const chunk of chunks) frames.push(...decoder.push(Buffer.from(chunk)));
  } catch (err) {
    if (!(err instanceof FrameTooLargeError)) throw err;
    return { frames: frames.map((f) => Buffer.from(f)), tooLarge: err.sizeBytes };
  }
  // Copied only now: a frame handed out earlier must not have been overwritten by later pushes.
  return { frames: frames.map((f) => Buffer.from(f)), tooLarge: null };
}

function cutAt(wire: Buffer, cuts: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const cut of [...cuts, wire.length]) {
    chunks.push(wire.subarray(prev, cut));
    prev = cut;
  }
  return chunks;
}

function patterned(size: number, seed: number): Buffer {
  const body = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) body[i] = (i * 131 + seed * 17) & 0xff;
  return body;
}

describe('FrameDecoder against a reference at awkward boundaries', () => {
  const sizes = [1, 3, 4, 5, 17, 300, 700];
  const bodies = sizes.map((size, i) => patterned(size, i));
  const wire = Buffer.concat(bodies.map((b) => encodeFrameBuffer(b)));
  // Every frame start, and each byte of its size prefix, plus each body's last byte.
  const boundaries: number[] = [];
  let start = 0;
  for (const body of bodies) {
    for (let k = 0; k <= 5; k++) boundaries.push(start + k);
    boundaries.push(start + 4 + body.length - 1);
    start += 4 + body.length;
  }

  it('cuts at every pair of frame/prefix boundaries give the reference frames', () => {
    for (const a of boundaries) {
      for (const b of boundaries) {
        if (b <= a || b > wire.length) continue;
        const chunks = cutAt(wire, [a, b]);
        const got = decodeChecked(chunks, 1 << 20);
        expect(got.tooLarge).toBeNull();
        expectSameFrames(got.frames, referenceDecode(chunks, 1 << 20).frames);
      }
    }
  });

  it('a size prefix split 1+1+1+1 across four chunks, then the body in 64 KiB pieces', () => {
    const big = patterned(300_000, 9);
    const frame = encodeFrameBuffer(big);
    const chunks = [frame.subarray(0, 1), frame.subarray(1, 2), frame.subarray(2, 3), frame.subarray(3, 4)];
    for (let i = 4; i < frame.length; i += 65536) chunks.push(frame.subarray(i, i + 65536));
    const { frames } = decodeChecked(chunks, 1 << 20);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.equals(big)).toBe(true);
  });

  it('many frames in one chunk come back as views of that chunk', () => {
    const small = Array.from({ length: 500 }, (_, i) => patterned(1 + (i % 50), i));
    const chunk = Buffer.concat(small.map((b) => encodeFrameBuffer(b)));
    const frames = new FrameDecoder(1 << 20).push(chunk);
    expectSameFrames(frames, small);
    for (const frame of frames) expect(frame.buffer).toBe(chunk.buffer);
  });

  it('a frame exactly filling a chunk, before and after a straddling one', () => {
    const a = encodeFrameBuffer(patterned(100, 1));
    const b = encodeFrameBuffer(patterned(200, 2));
    const c = encodeFrameBuffer(patterned(100, 3));
    // [a exactly] [b's first half] [b's rest + c exactly after it] [c exactly]
    const chunks = [a, b.subarray(0, 100), b.subarray(100), c];
    const decoder = new FrameDecoder(1 << 20);
    const out = chunks.map((chunk) => decoder.push(chunk));
    expect(out.map((f) => f.length)).toEqual([1, 0, 1, 1]);
    expect(out[0]![0]!.buffer).toBe(a.buffer);
    expect(out[3]![0]!.buffer).toBe(c.buffer);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decodeChecked(chunks, 1 << 20)).toEqual(referenceDecode(chunks, 1 << 20));
  });

  it('4 MiB frames in 64 KiB chunks, with the next prefix mid-chunk', () => {
    const big = [patterned(4 << 20, 4), patterned(4 << 20, 5), patterned(10, 6)];
    const stream = Buffer.concat(big.map((b) => encodeFrameBuffer(b)));
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 65536) chunks.push(stream.subarray(i, i + 65536));
    const { frames } = decodeChecked(chunks, 8 << 20);
    expectSameFrames(frames, big);
  });

  it('refuses an oversized frame at the same point as the reference, wherever its prefix is cut', () => {
    const max = 1000;
    const okFrames = [patterned(10, 1), patterned(1000, 2)];
    const wire2 = Buffer.concat([...okFrames.map((b) => encodeFrameBuffer(b)), frameHeader(1001), patterned(50, 3)]);
    for (let cut = 0; cut <= wire2.length; cut++) {
      const chunks = cutAt(wire2, [cut]);
      const got = decodeChecked(chunks, max);
      expect(got.tooLarge).toBe(referenceDecode(chunks, max).tooLarge);
      // The push that meets the bad header throws, so frames completed earlier in that same
      // chunk are not returned (the connection is closed anyway); frames from earlier pushes are.
      const badHeaderEnd = 4 + 10 + 4 + 1000 + 4;
      const completedBefore = cut >= badHeaderEnd ? 0 : cut >= badHeaderEnd - 4 ? 2 : cut >= 4 + 10 ? 1 : 0;
      expectSameFrames(got.frames, okFrames.slice(0, completedBefore));
    }
  });
});
