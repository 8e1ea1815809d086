/**
 * The data dir lock on its own, both mechanisms (the abstract socket is Linux's; the pid file
 * is the fallback elsewhere and is forced here so it is tested on every platform).
 */
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import { DataDirLock, LOCK_FILE, parseHolder, readLockHolder, type LockMechanism } from '../../storage/data-dir-lock.js';

const dirs: string[] = [];
const locks: DataDirLock[] = [];
afterEach(async () => {
  for (const l of locks.splice(0)) await l.release();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rill-lock-test-'));
  dirs.push(dir);
  return dir;
}

async function acquire(dir: string, mechanism: LockMechanism, port: number | null = 9292): Promise<DataDirLock> {
  const lock = await DataDirLock.acquire(dir, { port, nodeId: 3, mechanism });
  locks.push(lock);
  return lock;
}

/** A pid that no process has: above any pid_max (2^22 on Linux). */
const DEAD_PID = 2 ** 22 + 12345;

const mechanisms: LockMechanism[] = process.platform === 'linux' ? ['abstract-socket', 'pid-file'] : ['pid-file'];

describe.each(mechanisms)('data dir lock (%s)', (mechanism) => {
  it('is exclusive: a second acquire is refused with DATA_DIR_LOCKED naming the holder in one line', async () => {
    const dir = await tempDir();
    const lock = await acquire(dir, mechanism);
    expect(lock.mechanism).toBe(mechanism);
    expect(lock.dataDir).toBe(await realpath(dir));
    const err = await DataDirLock.acquire(dir, { port: 1, mechanism }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RillError);
    expect((err as RillError).errorName).toBe('DATA_DIR_LOCKED');
    expect((err as RillError).message).toBe(`data dir ${await realpath(dir)} is locked by another broker (pid ${process.pid} on host ${hostname()}, port 9292)`);
    // The same dir through another path (a trailing slash, a relative spelling) is the same lock.
    await expect(DataDirLock.acquire(dir + '/./', { mechanism })).rejects.toThrow(/is locked by another broker/);
  });

  it('names the holder in .lock and removes it on release; then the dir can be locked again', async () => {
    const dir = await tempDir();
    const lock = await acquire(dir, mechanism, null);
    expect(await readLockHolder(dir)).toEqual({ pid: process.pid, hostname: hostname(), port: null, nodeId: 3, startedAt: lock.holder.startedAt });
    await expect(DataDirLock.acquire(dir, { mechanism })).rejects.toThrow(`(pid ${process.pid} on host ${hostname()})`);
    await lock.release();
    await lock.release(); // idempotent
    expect(await readLockHolder(dir)).toBeNull();
    const again = await acquire(dir, mechanism);
    expect(again.previousHolder).toBeNull();
  });

  it('takes over a .lock left by a dead holder and reports it as the previous holder', async () => {
    const dir = await tempDir();
    const stale = { pid: DEAD_PID, hostname: hostname(), port: 1234, nodeId: 3, startedAt: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(stale));
    const lock = await acquire(dir, mechanism);
    expect(lock.previousHolder).toEqual(stale);
    expect((await readLockHolder(dir))?.pid).toBe(process.pid);
  });

  it('creates a missing data dir', async () => {
    const dir = join(await tempDir(), 'a', 'b');
    const lock = await acquire(dir, mechanism);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    expect(lock.dataDir).toBe(await realpath(dir));
  });
});

describe('pid-file fallback', () => {
  it('refuses a .lock of a live pid, and one from another host whose liveness it cannot check', async () => {
    const dir = await tempDir();
    // The test runner's parent is alive and is not us.
    const live = { pid: process.ppid, hostname: hostname(), port: 7, nodeId: 0, startedAt: new Date().toISOString() };
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(live));
    await expect(DataDirLock.acquire(dir, { mechanism: 'pid-file' })).rejects.toThrow(`(pid ${process.ppid} on host ${hostname()}, port 7)`);
    const remote = { ...live, pid: DEAD_PID, hostname: `not-${hostname()}` };
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(remote));
    await expect(DataDirLock.acquire(dir, { mechanism: 'pid-file' })).rejects.toThrow(`(pid ${DEAD_PID} on host not-${hostname()}, port 7)`);
  });

  it('treats an unreadable .lock as stale', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCK_FILE), '{"pid": 12');
    const lock = await acquire(dir, 'pid-file');
    expect(lock.previousHolder).toBeNull();
  });
});

describe('parseHolder', () => {
  it('accepts only a well-formed holder', () => {
    const ok = { pid: 5, hostname: 'h', port: null, nodeId: 0, startedAt: 'x' };
    expect(parseHolder(JSON.stringify(ok))).toEqual(ok);
    for (const bad of ['', 'null', '[]', '{"pid":0,"hostname":"h","port":null,"nodeId":0,"startedAt":"x"}', '{"pid":5,"hostname":1,"port":null,"nodeId":0,"startedAt":"x"}', '{"pid":5,"hostname":"h","port":-1,"nodeId":0,"startedAt":"x"}']) {
      expect(parseHolder(bad), bad).toBeNull();
    }
  });
});
