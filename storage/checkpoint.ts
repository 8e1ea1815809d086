/**
 * Atomic small-file writes and the offset checkpoint files.
 *
 * Atomic write: write `<path>.tmp`, fsync it, rename it over `<path>`, fsync the directory. A
 * crash leaves either the old file or the new one, never a torn mix; a leftover `.tmp` is
 * ignored by readers and overwritten by the next write.
 *
 * Offset checkpoint format (text, UTF-8, Kafka's OffsetCheckpointFile layout):
 *
 *   0                                  version line (CHECKPOINT_VERSION)
 *   2                                  number of entry lines
 *   orders 0 1523                      <topic> <partition> <offset>, one per line
 *   my.topic-name 3 0
 *
 * Topic names never contain whitespace, so the last two fields of a line are partition and
 * offset and everything before is the topic. A file that does not parse is reported (the
 * caller treats it as absent: a missing recovery point means "recover everything").
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TEMP_SUFFIX } from './log-file-names.js';

export const CHECKPOINT_VERSION = 0;

/** fsync a directory so that a create/rename/unlink inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** temp + fsync + rename + fsync dir. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = path + TEMP_SUFFIX;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Removes a file if present; other errors propagate. */
export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export type TopicPartitionKey = string;

export function tpKey(topic: string, partition: number): TopicPartitionKey {
  return `${topic} ${partition}`;
}

export function formatOffsetCheckpoint(entries: ReadonlyMap<TopicPartitionKey, number>): string {
  const lines = [String(CHECKPOINT_VERSION), String(entries.size)];
  for (const [key, offset] of entries) lines.push(`${key} ${offset}`);
  return lines.join('\n') + '\n';
}

export class CheckpointFormatError extends Error {
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'CheckpointFormatError';
  }
}

/** Parses a checkpoint file's text; throws CheckpointFormatError on any malformed line. */
export function parseOffsetCheckpoint(text: string, path = 'checkpoint'): Map<TopicPartitionKey, number> {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 2) throw new CheckpointFormatError(path, 'missing version or count line');
  if (lines[0] !== String(CHECKPOINT_VERSION)) throw new CheckpointFormatError(path, `unsupported version '${lines[0]}'`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || lines.length !== 2 + count) {
    throw new CheckpointFormatError(path, `count line says ${lines[1]} but ${lines.length - 2} entries follow`);
  }
  const out = new Map<TopicPartitionKey, number>();
  for (let i = 2; i < lines.length; i++) {
    const fields = lines[i]!.split(' ');
    if (fields.length < 3) throw new CheckpointFormatError(path, `line ${i + 1}: expected '<topic> <partition> <offset>'`);
    const offset = Number(fields.pop());
    const partition = Number(fields.pop());
    const topic = fields.join(' ');
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(partition) || partition < 0 || topic.length === 0) {
      throw new CheckpointFormatError(path, `line ${i + 1}: bad entry '${lines[i]}'`);
    }
    out.set(tpKey(topic, partition), offset);
  }
  return out;
}

/** Reads a checkpoint file; an absent file is an empty map. Malformed files throw. */
export async function readOffsetCheckpoint(path: string): Promise<Map<TopicPartitionKey, number>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  return parseOffsetCheckpoint(text, path);
}

export async function writeOffsetCheckpoint(path: string, entries: ReadonlyMap<TopicPartitionKey, number>): Promise<void> {
  await writeFileAtomic(path, formatOffsetCheckpoint(entries));
}
