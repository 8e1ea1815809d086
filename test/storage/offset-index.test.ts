import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFSET_INDEX_ENTRY_BYTES, OffsetIndex } from '../../storage/offset-index.js';
import { removeDir, tempDir } from './helpers.js';
import { mulberry32 as rng } from '../helpers/rng.js';


/** The model: a sorted array of [offset, position]. */
function modelLookup(model: Array<[number, number]>, base: number, target: number): { offset: number; position: number } {
  let best: [number, number] | undefined;
  for (const e of model) if (e[0] <= target) best = e;
  return best === undefined ? { offset: base, position: 0 } : { offset: best[0], position: best[1] };
}

describe('OffsetIndex', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('matches a sorted-array model after random appends, lookups, truncations and reloads', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rand = rng(seed);
      const base = Math.floor(rand() * 1e9);
      const path = join(dir, `${seed}.index`);
      let index = new OffsetIndex(path, base);
      index.reset();
      const model: Array<[number, number]> = [];
      let offset = base;
      let position = 0;
      for (let step = 0; step < 600; step++) {
        const op = rand();
        if (op < 0.55) {
          offset += 1 + Math.floor(rand() * 50);
          position += 1 + Math.floor(rand() * 5000);
          index.append(offset, position);
          model.push([offset, position]);
        } else if (op < 0.85) {
          const target = base + Math.floor(rand() * (offset - base + 100)) - 10;
          expect(index.lookup(target)).toEqual(modelLookup(model, base, target));
        } else if (op < 0.92) {
          const cut = base + Math.floor(rand() * (offset - base + 1));
          index.truncateToOffset(cut);
          while (model.length > 0 && model[model.length - 1]![0] >= cut) model.pop();
          offset = model.length > 0 ? model[model.length - 1]![0] : base;
          position = model.length > 0 ? model[model.length - 1]![1] : 0;
        } else {
          await index.persist(rand() < 0.5);
          index = new OffsetIndex(path, base);
          expect(await index.load()).toBeNull();
        }
        expect(index.entries).toBe(model.length);
      }
      await index.persist(false);
      const bytes = await readFile(path);
      expect(bytes.length).toBe(model.length * OFFSET_INDEX_ENTRY_BYTES);
      for (let i = 0; i < model.length; i++) {
        expect(bytes.readUInt32BE(i * 8)).toBe(model[i]![0] - base);
        expect(bytes.readUInt32BE(i * 8 + 4)).toBe(model[i]![1]);
      }
      expect(index.sanityCheck(position + 1)).toBeNull();
    }
  });

  it('refuses entries that do not increase', () => {
    const index = new OffsetIndex(join(dir, 'x.index'), 100);
    index.append(110, 500);
    expect(() => index.append(110, 600)).toThrow(/increase/);
    expect(() => index.append(120, 500)).toThrow(/increase/);
    expect(() => index.append(99, 700)).toThrow(/outside/);
  });

  it('reports a file whose size is not a multiple of the entry, entries out of order and entries past the log', async () => {
    const path = join(dir, 'bad.index');
    await writeFile(path, Buffer.alloc(13));
    const a = new OffsetIndex(path, 0);
    expect(await a.load()).toMatch(/multiple/);
    expect(a.entries).toBe(0);

    const unordered = Buffer.alloc(16);
    unordered.writeUInt32BE(5, 0);
    unordered.writeUInt32BE(100, 4);
    unordered.writeUInt32BE(3, 8);
    unordered.writeUInt32BE(200, 12);
    await writeFile(path, unordered);
    const b = new OffsetIndex(path, 0);
    expect(await b.load()).toBeNull();
    expect(b.sanityCheck(1000)).toMatch(/not after/);

    const ordered = Buffer.alloc(8);
    ordered.writeUInt32BE(5, 0);
    ordered.writeUInt32BE(900, 4);
    await writeFile(path, ordered);
    const c = new OffsetIndex(path, 0);
    expect(await c.load()).toBeNull();
    expect(c.sanityCheck(901)).toBeNull();
    expect(c.sanityCheck(900)).toMatch(/past the log/);

    const missing = new OffsetIndex(join(dir, 'none.index'), 0);
    expect(await missing.load()).toBe('missing');
  });
});
