/**
 * recordView (client/consumer/record-view.ts): the views the consumer hands out as keys and
 * values are Buffers to every test an application could make, share the bytes they view
 * (no copy), and their slices are ordinary Buffers.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { recordView } from '../../../client/consumer/record-view.js';

describe('recordView', () => {
  const backing = Buffer.from('xxhello worldyy');
  const view = recordView(backing.buffer, backing.byteOffset + 2, 11);

  it('is a Buffer by every test an app can make', () => {
    expect(Buffer.isBuffer(view)).toBe(true);
    expect(view instanceof Buffer).toBe(true);
    expect(view instanceof Uint8Array).toBe(true);
    expect(view.constructor).toBe(Buffer);
    expect(Object.keys(view)).toEqual(Object.keys(Buffer.from('hello world')));
    expect(inspect(view)).toBe(inspect(Buffer.from('hello world')));
    expect(JSON.stringify(view)).toBe(JSON.stringify(Buffer.from('hello world')));
  });

  it('reads the bytes it views, with Buffer methods', () => {
    expect(view.length).toBe(11);
    expect(view.toString()).toBe('hello world');
    expect(view.toString('hex')).toBe(Buffer.from('hello world').toString('hex'));
    expect(view.equals(Buffer.from('hello world'))).toBe(true);
    expect(Buffer.compare(view, Buffer.from('hello world'))).toBe(0);
    expect(view.readUInt8(0)).toBe(0x68);
    expect(Buffer.concat([view, Buffer.from('!')]).toString()).toBe('hello world!');
    expect(Buffer.from(view).toString()).toBe('hello world');
  });

  it('shares memory with what it views (a view, not a copy), and its slices are plain Buffers', () => {
    const bytes = Buffer.from('abcdef');
    const v = recordView(bytes.buffer, bytes.byteOffset + 1, 3);
    bytes[2] = 0x5a;
    expect(v.toString()).toBe('bZd');
    const slice = v.subarray(1, 3);
    expect(Buffer.isBuffer(slice)).toBe(true);
    expect(Object.getPrototypeOf(slice)).toBe(Buffer.prototype);
    expect(slice.toString()).toBe('Zd');
    expect(v.slice(0, 1).toString()).toBe('b');
  });

  it('views an empty range', () => {
    const v = recordView(backing.buffer, backing.byteOffset, 0);
    expect(v.length).toBe(0);
    expect(v.equals(Buffer.alloc(0))).toBe(true);
  });
});
