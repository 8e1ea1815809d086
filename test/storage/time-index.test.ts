import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from '../../storage/time-index.js';
import { removeDir, tempDir } from './helpers.js';

describe('TimeIndex', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('keeps only increasing timestamps and matches a model for lookups, truncation and reload', async () => {
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const base = 5000;
    const path = join(dir, 't.timeindex');
    let index = new TimeIndex(path, base);
    index.reset();
    const model: Array<[number, number]> = []; // [timestamp, offset]
    let offset = base;
    let ts = 1_700_000_000_000;
    for (let step = 0; step < 800; step++) {
      const op = rand();
      if (op < 0.5) {
        offset += Math.floor(rand() * 20);
        const candidate = ts + Math.floor(rand() * 2000) - 600; // sometimes older: must be ignored
        const appended = index.maybeAppend(candidate, offset);
        const last = model[model.length - 1];
        const expected = last === undefined || candidate > last[0];
        expect(appended).toBe(expected);
        if (expected) {
          model.push([candidate, offset]);
          ts = candidate;
        }
      } else if (op < 0.85) {
        const target = ts + Math.floor(rand() * 4000) - 3000;
        let want = base;
        for (const [t, o] of model) if (t < target) want = o;
        expect(index.lookupBefore(target)).toBe(want);
      } else if (op < 0.92) {
        const cut = base + Math.floor(rand() * (offset - base + 1));
        index.truncateToOffset(cut);
        while (model.length > 0 && model[model.length - 1]![1] >= cut) model.pop();
        offset = Math.max(base, model.length > 0 ? model[model.length - 1]![1] : base);
        ts = model.length > 0 ? model[model.length - 1]![0] : ts;
      } else {
        await index.persist(false);
        index = new TimeIndex(path, base);
        expect(await index.load()).toBeNull();
      }
      expect(index.entries).toBe(model.length);
      expect(index.sizeBytes).toBe(model.length * TIME_INDEX_ENTRY_BYTES);
    }
    expect(index.sanityCheck(offset + 1)).toBeNull();
    if (model.length > 0) {
      expect(index.lastEntry()).toEqual({ timestamp: model[model.length - 1]![0], offset: model[model.length - 1]![1] });
      expect(index.sanityCheck(model[model.length - 1]![1])).toMatch(/past the log end/);
    }
  });

  it('refuses decreasing offsets', () => {
    const index = new TimeIndex(join(dir, 'x.timeindex'), 0);
    index.maybeAppend(100, 10);
    expect(() => index.maybeAppend(200, 9)).toThrow(/decrease/);
  });
});
