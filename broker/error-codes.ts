/**
 * Turns whatever a handler or storage threw into a wire error code, and says how loudly to log
 * it: not at all for what the protocol refuses (a RillError answering the client's mistake),
 * 'warn' for a partition already failed by storage (KAFKA_STORAGE_ERROR: storage logged the
 * root cause once, at error level), 'error' for an I/O failure seen here first or a bug.
 *
 * Every failed file-system call (an Error with a `syscall` and an errno `code`: EIO, ENOSPC,
 * EACCES, EROFS, EMFILE, ...) becomes KAFKA_STORAGE_ERROR: a full or broken disk fails the
 * partitions on it, never the process.
 */
import { ERRORS, RillError } from '../protocol/errors.js';

export interface ClassifiedError {
  code: number;
  message: string;
  /** How to log it; null = the client's mistake, answered but not logged. */
  level: 'error' | 'warn' | null;
}

export function isStorageError(err: unknown): err is NodeJS.ErrnoException {
  if (!(err instanceof Error)) return false;
  const e = err as NodeJS.ErrnoException;
  return typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && typeof e.syscall === 'string';
}

export function classifyError(err: unknown): ClassifiedError {
  if (err instanceof RillError) {
    const level = err.code === ERRORS.UNKNOWN_SERVER_ERROR.code ? 'error' : err.code === ERRORS.KAFKA_STORAGE_ERROR.code ? 'warn' : null;
    return { code: err.code, message: err.message, level };
  }
  if (isStorageError(err)) {
    return { code: ERRORS.KAFKA_STORAGE_ERROR.code, message: `${err.code}: ${err.message}`, level: 'error' };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: ERRORS.UNKNOWN_SERVER_ERROR.code, message, level: 'error' };
}
