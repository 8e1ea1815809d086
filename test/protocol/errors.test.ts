import { describe, expect, it } from 'vitest';
import { ERRORS, ErrorCode, RillError, errorEntry, errorFromCode, rillError } from '../../protocol/errors.js';

describe('error table', () => {
  it('has unique codes and names that match their entries', () => {
    const codes = new Set<number>();
    for (const [name, e] of Object.entries(ERRORS)) {
      expect(codes.has(e.code), `duplicate code ${e.code} (${name})`).toBe(false);
      codes.add(e.code);
      expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(errorEntry(e.code).name).toBe(name);
      expect(e.message.length).toBeGreaterThan(5);
    }
  });

  it('maps codes to typed errors carrying retriable and context', () => {
    const err = errorFromCode(ErrorCode.NOT_COORDINATOR, undefined, { topic: 't', partition: 3 });
    expect(err).toBeInstanceOf(RillError);
    expect(err.errorName).toBe('NOT_COORDINATOR');
    expect(err.retriable).toBe(true);
    expect(err.partition).toBe(3);
    expect(rillError('OFFSET_OUT_OF_RANGE').retriable).toBe(false);
    expect(errorFromCode(9999).errorName).toBe('UNKNOWN_SERVER_ERROR');
  });
});
