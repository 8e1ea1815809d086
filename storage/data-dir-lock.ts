/**
 * One broker per data dir: an exclusive lock that the kernel releases when the holder dies,
 * SIGKILL included (Kafka's LogManager takes `.lock` in each log dir with flock(); Node has no
 * flock(), so the kernel object here is a socket).
 *
 *   Linux:  the lock is a Unix socket in the ABSTRACT namespace,
 *           `\0rill-data-dir-lock:<sha256 of realpath(dataDir), 64 hex>` (84 bytes of the 107
 *           a sun_path holds). bind() is atomic (EADDRINUSE when held) and the kernel unbinds
 *           it when the last descriptor closes, i.e. when the process dies however it dies.
 *           No file on disk is the lock, so nothing stale can block a restart. The socket's
 *           scope is the network namespace: two containers in different netns sharing one
 *           volume do NOT exclude each other (docs/OPERATIONS.md says so).
 *   other:  `<dataDir>/.lock` created with O_EXCL; a file left by a dead holder is taken over
 *           when its pid is gone on this host (process.kill(pid, 0)). Weaker: pid reuse and
 *           two brokers taking over the same stale file at the same instant defeat it.
 *
 *   <dataDir>/.lock   JSON, one object, at most LOCK_FILE_MAX_BYTES:
 *                     { pid, hostname, port, nodeId, startedAt }   (port/nodeId may be null)
 *                     Written after the lock is taken, removed by release(). On Linux it only
 *                     NAMES the holder for the refusal message (the holder also answers a
 *                     connect() to its socket with the same line); left behind by a holder
 *                     that died, it is overwritten by the next one.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, realpath, unlink, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { rillError } from '../protocol/errors.js';

export const LOCK_FILE = '.lock';
const LOCK_FILE_MAX_BYTES = 4096;
const ABSTRACT_PREFIX = '\0rill-data-dir-lock:';
/** How long a refused starter waits for the holder's socket to say who it is. */
const HOLDER_QUERY_TIMEOUT_MS = 1000;
/** Attempts to take over a stale pid file before giving up (another starter keeps winning). */
const PID_FILE_ATTEMPTS = 3;

export type LockMechanism = 'abstract-socket' | 'pid-file';

export interface LockHolder {
  pid: number;
  hostname: string;
  port: number | null;
  nodeId: number | null;
  /** ISO 8601. */
  startedAt: string;
}

export interface AcquireOptions {
  /** The holder's broker port and node id, written into `.lock` to name it to others. */
  port?: number | null;
  nodeId?: number | null;
  /** Default: 'abstract-socket' on Linux, 'pid-file' elsewhere. Tests force either. */
  mechanism?: LockMechanism;
}

export function defaultLockMechanism(): LockMechanism {
  return process.platform === 'linux' ? 'abstract-socket' : 'pid-file';
}

export class DataDirLock {
  private released = false;

  /** Use DataDirLock.acquire(). */
  constructor(
    /** The real path that was locked. */
    readonly dataDir: string,
    readonly mechanism: LockMechanism,
    readonly holder: LockHolder,
    /**
     * What `.lock` said when this lock was taken: a holder that died without releasing (crash,
     * SIGKILL, forced exit), or on Linux possibly a live broker in another network namespace.
     */
    readonly previousHolder: LockHolder | null,
    private readonly server: Server | null,
  ) {}

  /**
   * Takes the lock on `dataDir` (created if missing), or throws DATA_DIR_LOCKED naming the
   * holder: `data dir /abs/path is locked by another broker (pid 1234 on host h, port 9292)`.
   */
  static async acquire(dataDir: string, opts: AcquireOptions = {}): Promise<DataDirLock> {
    await mkdir(dataDir, { recursive: true });
    const dir = await realpath(dataDir);
    const holder: LockHolder = {
      pid: process.pid,
      hostname: osHostname(),
      port: opts.port ?? null,
      nodeId: opts.nodeId ?? null,
      startedAt: new Date().toISOString(),
    };
    const mechanism = opts.mechanism ?? defaultLockMechanism();
    return mechanism === 'abstract-socket' ? acquireAbstractSocket(dir, holder) : acquirePidFile(dir, holder);
  }

  /**
   * Removes `.lock` (only if it is still ours), then lets the lock go. In this order, so a
   * broker that takes the lock the moment it is free never has its `.lock` removed by us.
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      const current = await readLockFile(this.dataDir);
      if (current !== null && current.pid === this.holder.pid && current.startedAt === this.holder.startedAt) {
        await unlink(join(this.dataDir, LOCK_FILE));
      }
    } finally {
      const server = this.server;
      if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

function abstractName(dir: string): string {
  return ABSTRACT_PREFIX + createHash('sha256').update(dir).digest('hex');
}

async function acquireAbstractSocket(dir: string, holder: LockHolder): Promise<DataDirLock> {
  const name = abstractName(dir);
  const line = JSON.stringify(holder) + '\n';
  // Whoever connects (a refused starter) is told who holds the lock, then hung up on.
  const server = createServer((socket) => {
    socket.unref();
    socket.on('error', () => undefined);
    socket.end(line);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: name, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const named = (await queryHolder(name)) ?? (await readLockFile(dir));
    throw lockedError(dir, named);
  }
  // The lock never keeps the process alive; it lives as long as the process does.
  server.unref();
  server.on('error', () => undefined);
  try {
    const previous = await readLockFile(dir);
    await writeFile(join(dir, LOCK_FILE), line);
    return new DataDirLock(dir, 'abstract-socket', holder, previous, server);
  } catch (err) {
    server.close();
    throw err;
  }
}

async function acquirePidFile(dir: string, holder: LockHolder): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  const line = JSON.stringify(holder) + '\n';
  let previous: LockHolder | null = null;
  for (let attempt = 0; attempt < PID_FILE_ATTEMPTS; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(line);
      } finally {
        await fh.close();
      }
      return new DataDirLock(dir, 'pid-file', holder, previous, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const existing = await readLockFile(dir);
    // Unreadable (a holder that died between create and write) or a dead pid on this host: stale.
    if (existing !== null && (existing.hostname !== holder.hostname || isAlive(existing.pid))) throw lockedError(dir, existing);
    previous = existing;
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  throw lockedError(dir, await readLockFile(dir));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(dir: string, holder: LockHolder | null): Error {
  const who = holder === null ? 'holder unknown' : `pid ${holder.pid} on host ${holder.hostname}${holder.port === null ? '' : `, port ${holder.port}`}`;
  return rillError('DATA_DIR_LOCKED', `data dir ${dir} is locked by another broker (${who})`);
}

/** Asks the holder's lock socket who it is; null if it does not say (in time, or sensibly). */
function queryHolder(name: string): Promise<LockHolder | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const socket = connect({ path: name });
    const done = (value: LockHolder | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), HOLDER_QUERY_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes > LOCK_FILE_MAX_BYTES) done(null);
    });
    socket.on('end', () => done(parseHolder(Buffer.concat(chunks).toString('utf8'))));
    socket.on('error', () => done(null));
  });
}

async function readLockFile(dir: string): Promise<LockHolder | null> {
  let text: string;
  try {
    const fh = await open(join(dir, LOCK_FILE), 'r');
    try {
      const buf = Buffer.alloc(LOCK_FILE_MAX_BYTES);
      const { bytesRead } = await fh.read(buf, 0, LOCK_FILE_MAX_BYTES, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseHolder(text);
}

/** The holder described by `text`, or null when it is not a well-formed holder. */
export function parseHolder(text: string): LockHolder | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const intOrNull = (x: unknown): x is number | null => x === null || (Number.isSafeInteger(x) && (x as number) >= 0);
  if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return null;
  if (typeof o.hostname !== 'string' || typeof o.startedAt !== 'string') return null;
  if (!intOrNull(o.port) || !intOrNull(o.nodeId)) return null;
  return { pid: o.pid as number, hostname: o.hostname, port: o.port, nodeId: o.nodeId, startedAt: o.startedAt };
}

/** For tests and tools: `.lock` as it is now (null when absent or unreadable). */
export function readLockHolder(dataDir: string): Promise<LockHolder | null> {
  return readLockFile(dataDir);
}
