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
