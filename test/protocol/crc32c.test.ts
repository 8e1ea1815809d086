import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import CRC32 from 'crc-32';
import {
  crc32c,
  crc32cImplementation,
  crc32cJs,
  crc32cNative,
  passesKnownAnswers,
  type Crc32cFunction,
} from '../../protocol/crc32c.js';

type RangeCrc = (buf: Uint8Array, start?: number, end?: number, seed?: number) => number;

/** One implementation behind `crc32c()`'s range-and-seed signature. */
function overRange(fn: Crc32cFunction): RangeCrc {
  return (buf, start = 0, end = buf.length, seed = 0) => fn(buf.subarray(start, end), seed);
}

/** Whether the optional native package is installed here (then it must be the one in use). */
function nativePackageInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@node-rs/crc32');
    return true;
  } catch {
    return false;
  }
}

// The same known answers run against every implementation: `crc32c()` (whichever was chosen at
// load), the pure-JS path and the native path, explicitly.
const implementations: Array<[string, RangeCrc | null]> = [
  [`crc32c() (${crc32cImplementation})`, crc32c],
  ['js', overRange(crc32cJs)],
  ['native', crc32cNative === null ? null : overRange(crc32cNative)],
];

describe.each(implementations)('crc32c: %s', (_name, impl) => {
  // Skipped only where the native package is not installed; the test below fails when it is
  // installed but did not load.
  const test = it.skipIf(impl === null);
  const crc = impl!;

  // The "check" value of the CRC catalogue and the test vectors of RFC 3720 (iSCSI), B.4.
  test('matches the published check value and RFC 3720 vectors', () => {
    expect(crc(Buffer.from('123456789', 'ascii'))).toBe(0xe3069283);
    expect(crc(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(crc(ascending)).toBe(0x46dd794e);
    const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
    expect(crc(descending)).toBe(0x113fdb5c);
    expect(crc(Buffer.alloc(0))).toBe(0);
  });

  test('returns an unsigned 32-bit number', () => {
    const value = crc(Buffer.from('123456789', 'ascii')); // 0xe3069283 has the top bit set
    expect(value).toBeGreaterThan(0x7fffffff);
    expect(value >>> 0).toBe(value);
  });

  test('hashes a sub-range and equals hashing a copy of it', () => {
    const buf = Buffer.concat([Buffer.from('xx'), Buffer.from('123456789'), Buffer.from('yyy')]);
    expect(crc(buf, 2, 11)).toBe(0xe3069283);
    expect(crc(buf, 2)).toBe(crc(Buffer.from(buf.subarray(2))));
    const random = Buffer.from(Array.from({ length: 4099 }, (_, i) => (i * 7919) & 0xff));
    for (const [start, end] of [[0, 4099], [1, 4098], [17, 33], [100, 100]] as const) {
      expect(crc(random, start, end)).toBe(crc(Buffer.from(random.subarray(start, end))));
    }
  });

  test('continues a running checksum across split buffers with `seed`', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    const whole = crc(data);
    for (let cut = 0; cut <= data.length; cut++) {
      expect(crc(data, cut, data.length, crc(data, 0, cut))).toBe(whole);
    }
  });

  test('works on a plain Uint8Array', () => {
    expect(crc(new Uint8Array(Buffer.from('123456789')))).toBe(0xe3069283);
  });

  test('agrees with the pure-JS path on a batch-sized buffer at every alignment', () => {
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24));
    for (const start of [0, 1, 3, 7, 21]) {
      expect(crc(data, start)).toBe(crc32cJs(data.subarray(start), 0));
    }
  });
});

describe('crc32c implementation choice', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('uses the native binary whenever @node-rs/crc32 is installed', () => {
    if (nativePackageInstalled()) {
      expect(crc32cNative).not.toBeNull();
      expect(crc32cImplementation).toBe(process.env.RILL_CRC32C === 'js' ? 'js' : 'native');
    } else {
      expect(crc32cNative).toBeNull();
      expect(crc32cImplementation).toBe('js');
    }
  });

  it('refuses an implementation that fails the known answers (plain CRC-32, not Castagnoli)', () => {
    expect(passesKnownAnswers(crc32cJs)).toBe(true);
    expect(passesKnownAnswers((bytes, seed) => CRC32.buf(bytes, seed) >>> 0)).toBe(false);
    // Right answers from zero, but ignores the seed: continued checksums would be wrong.
    expect(passesKnownAnswers((bytes) => crc32cJs(bytes, 0))).toBe(false);
  });

  it('RILL_CRC32C=js forces the pure-JS path at load', async () => {
    vi.stubEnv('RILL_CRC32C', 'js');
    vi.resetModules();
    const fresh = await import('../../protocol/crc32c.js');
    expect(fresh.crc32cImplementation).toBe('js');
    expect(fresh.crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});
