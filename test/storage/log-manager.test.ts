import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogManager } from '../../storage/log-manager.js';
import { parsePartitionDirName } from '../../storage/log-file-names.js';
import { batchOf, config, readAll, removeDir, tempDir } from './helpers.js';

describe('LogManager', () => {
  let dir: string;
  const managers: LogManager[] = [];
  const open = async (opts: Partial<Parameters<typeof LogManager.open>[0]> = {}): Promise<LogManager> => {
    const m = await LogManager.open({ dataDir: dir, ...opts });
    managers.push(m);
    return m;
  };
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.close();
    await removeDir(dir);
  });

  it('splits partition directory names at the last dash', () => {
    expect(parsePartitionDirName('my-topic.v2-13')).toEqual({ topic: 'my-topic.v2', partition: 13 });
    expect(parsePartitionDirName('__consumer_offsets-0')).toEqual({ topic: '__consumer_offsets', partition: 0 });
    expect(parsePartitionDirName('nodash')).toBeUndefined();
    expect(parsePartitionDirName('t-0.deleted')).toBeUndefined();
    expect(parsePartitionDirName('-3')).toBeUndefined();
  });

  it('creates logs idempotently, reopens every partition dir with its topic config, and writes the clean marker at close', async () => {
    const m = await open();
    expect(m.hadCleanShutdown).toBe(false);
    const [a, b] = await Promise.all([m.create('my-topic.v2', 3, config()), m.create('my-topic.v2', 3, config())]);
    expect(a).toBe(b);
    await a.append(batchOf(5, 'x'));
    const other = await m.create('other', 0, config());
    await other.append(batchOf(2, 'y'));
    expect([...m.all()].length).toBe(2);
    await m.close();
    managers.splice(0);
    expect(await readdir(dir)).toContain('.rill-clean-shutdown');
    const recovery = await readFile(join(dir, 'recovery-point-offset-checkpoint'), 'utf8');
    expect(recovery.split('\n').slice(0, 2)).toEqual(['0', '2']);
    expect(recovery).toContain('my-topic.v2 3 5');

    const seen: string[] = [];
    const m2 = await open({ configFor: (t) => {
      seen.push(t);
      return config({ retentionMs: 1234 });
    } });
    expect(m2.hadCleanShutdown).toBe(true);
    expect(await readdir(dir)).not.toContain('.rill-clean-shutdown');
    expect(seen.sort()).toEqual(['my-topic.v2', 'other']);
    const log = m2.get('my-topic.v2', 3)!;
    expect(log.config.retentionMs).toBe(1234);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['x-0', 'x-1', 'x-2', 'x-3', 'x-4']);
  });

  it('recovers after a crash (no close) and removes interrupted deletes', async () => {
    const m = await open();
    const log = await m.create('crashy', 0, config({ segmentBytes: 300 }));
    for (let i = 0; i < 20; i++) await log.append(batchOf(2, `c${i}`));
    await m.writeCheckpoints();
    // "Crash": never closed. A half-deleted partition dir is lying around too.
    await mkdir(join(dir, 'gone-0.deleted'));
    await writeFile(join(dir, 'gone-0.deleted', '00000000000000000000.log'), 'junk');
    const m2 = await open();
    expect(m2.hadCleanShutdown).toBe(false);
    expect(await readdir(dir)).not.toContain('gone-0.deleted');
    const again = m2.get('crashy', 0)!;
    expect(again.logEndOffset).toBe(40);
    expect((await readAll(again)).length).toBe(40);
    await log.close({ flush: false });
  });

  it('deletes a partition: its directory goes and it leaves the checkpoints', async () => {
    const m = await open();
    const log = await m.create('doomed', 1, config());
    await log.append(batchOf(1, 'd'));
    await m.delete('doomed', 1);
    expect(m.get('doomed', 1)).toBeUndefined();
    expect((await readdir(dir)).filter((f) => f.startsWith('doomed'))).toEqual([]);
    await expect(log.append(batchOf(1, 'late'))).rejects.toThrow(/closed/);
    await m.writeCheckpoints();
    expect(await readFile(join(dir, 'recovery-point-offset-checkpoint'), 'utf8')).not.toContain('doomed');
  });

  it('reopens a failed log: it accepts appends again', async () => {
    const m = await open();
    const log = await m.create('fails', 0, config());
    await log.append(batchOf(1, 'ok'));
    await log.activeSegment.close();
    await expect(log.append(batchOf(1, 'x'))).rejects.toThrow(/refuses appends/);
    const fresh = await m.reopen('fails', 0);
    expect(fresh).not.toBe(log);
    expect((await fresh.append(batchOf(1, 'again'))).baseOffset).toBe(1);
    expect((await readAll(fresh)).map((r) => r.value)).toEqual(['ok-0', 'again-0']);
  });

  it('refuses names it cannot store', async () => {
    const m = await open();
    await expect(m.create('a/b', 0, config())).rejects.toThrow(/cannot be stored/);
    await expect(m.create('ok', -1, config())).rejects.toThrow(/invalid/);
  });
});
