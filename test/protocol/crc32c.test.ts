import { describe, expect, it } from 'vitest';
import { crc32c } from '../../protocol/crc32c.js';

// Known answers for CRC-32C (Castagnoli): the "check" value of the CRC catalogue and the
// test vectors of RFC 3720 (iSCSI), appendix B.4.
describe('crc32c', () => {
  it('matches the published check value and RFC 3720 vectors', () => {
    expect(crc32c(Buffer.from('123456789', 'ascii'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(crc32c(ascending)).toBe(0x46dd794e);
    const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
    expect(crc32c(descending)).toBe(0x113fdb5c);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('returns an unsigned 32-bit number', () => {
    const value = crc32c(Buffer.from('123456789', 'ascii')); // 0xe3069283 has the top bit set
    expect(value).toBeGreaterThan(0x7fffffff);
    expect(value >>> 0).toBe(value);
  });

  it('hashes a sub-range without copying and equals hashing a copy of it', () => {
    const buf = Buffer.concat([Buffer.from('xx'), Buffer.from('123456789'), Buffer.from('yyy')]);
    expect(crc32c(buf, 2, 11)).toBe(0xe3069283);
    expect(crc32c(buf, 2)).toBe(crc32c(Buffer.from(buf.subarray(2))));
    const random = Buffer.from(Array.from({ length: 4099 }, (_, i) => (i * 7919) & 0xff));
    for (const [start, end] of [[0, 4099], [1, 4098], [17, 33], [100, 100]] as const) {
      expect(crc32c(random, start, end)).toBe(crc32c(Buffer.from(random.subarray(start, end))));
    }
  });

  it('continues a running checksum across split buffers with `seed`', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    const whole = crc32c(data);
    for (let cut = 0; cut <= data.length; cut++) {
      expect(crc32c(data, cut, data.length, crc32c(data, 0, cut))).toBe(whole);
    }
  });

  it('works on a plain Uint8Array', () => {
    expect(crc32c(new Uint8Array(Buffer.from('123456789')))).toBe(0xe3069283);
  });
});
