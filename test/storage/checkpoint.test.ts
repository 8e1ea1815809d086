import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointFormatError, parseOffsetCheckpoint, readOffsetCheckpoint, tpKey, writeOffsetCheckpoint } from '../../storage/checkpoint.js';
import { removeDir, tempDir } from './helpers.js';

describe('offset checkpoints', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('round-trips in Kafka’s text format and leaves no temp file', async () => {
    const path = join(dir, 'recovery-point-offset-checkpoint');
    const entries = new Map([[tpKey('a-b.c', 0), 10], [tpKey('x', 12), 0]]);
    await writeOffsetCheckpoint(path, entries);
    expect(await readFile(path, 'utf8')).toBe('0\n2\na-b.c 0 10\nx 12 0\n');
    expect(await readOffsetCheckpoint(path)).toEqual(entries);
    expect(await readdir(dir)).toEqual(['recovery-point-offset-checkpoint']);
    expect(await readOffsetCheckpoint(join(dir, 'absent'))).toEqual(new Map());
  });

  it('refuses malformed files', async () => {
    for (const text of ['1\n0\n', '0\n2\nt 0 1\n', '0\n1\nt x 1\n', '0\n1\nt 0 -5\n', '']) {
      expect(() => parseOffsetCheckpoint(text)).toThrow(CheckpointFormatError);
    }
    await writeFile(join(dir, 'c'), '0\n1\nbroken\n');
    await expect(readOffsetCheckpoint(join(dir, 'c'))).rejects.toThrow(CheckpointFormatError);
  });
});
