/**
 * `<dataDir>/topics.json`, the broker's list of topics (read and written by topic-registry.ts):
 *
 *   { "version": 1, "topics": { "orders": { "partitions": 8, "configs": { "retention.ms": "3600000" }, "internal": false } } }
 *
 * Written atomically (temp + fsync + rename + fsync dir), topics sorted by name; `configs`
 * holds only a topic's overrides, in wire form. A file this broker cannot read is
 * INVALID_CONFIG naming the file, never a guess.
 */
import { readFile } from 'node:fs/promises';
import { rillError } from '../protocol/errors.js';
import { writeFileAtomic } from '../storage/checkpoint.js';

export const TOPICS_FILE = 'topics.json';
const FORMAT_VERSION = 1;

export interface TopicInfo {
  readonly name: string;
  readonly partitions: number;
  /** Overrides only, in wire form ('retention.ms' → '3600000'). */
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

interface TopicsFile {
  version: number;
  topics: Record<string, { partitions: number; configs: Record<string, string>; internal: boolean }>;
}

/** The topics in the file at `path`; an absent file is no topics yet. */
export async function readTopicsFile(path: string): Promise<TopicInfo[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseTopicsFile(text, path);
}

export async function writeTopicsFile(path: string, topics: ReadonlyMap<string, TopicInfo>): Promise<void> {
  const file: TopicsFile = { version: FORMAT_VERSION, topics: {} };
  for (const t of [...topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    file.topics[t.name] = { partitions: t.partitions, configs: { ...t.configs }, internal: t.internal };
  }
  await writeFileAtomic(path, JSON.stringify(file, null, 1) + '\n');
}

function parseTopicsFile(text: string, path: string): TopicInfo[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw rillError('INVALID_CONFIG', `${path}: not valid JSON (${(err as Error).message})`);
  }
  const file = raw as Partial<TopicsFile>;
  if (file === null || typeof file !== 'object' || file.version !== FORMAT_VERSION || file.topics === null || typeof file.topics !== 'object') {
    throw rillError('INVALID_CONFIG', `${path}: expected { "version": ${FORMAT_VERSION}, "topics": {...} }`);
  }
  const out: TopicInfo[] = [];
  for (const [name, t] of Object.entries(file.topics)) {
    if (t === null || typeof t !== 'object' || !Number.isSafeInteger(t.partitions) || t.partitions < 1 || typeof t.configs !== 'object' || t.configs === null) {
      throw rillError('INVALID_CONFIG', `${path}: topic '${name}' has an invalid entry`);
    }
    out.push({ name, partitions: t.partitions, configs: { ...t.configs }, internal: t.internal === true });
  }
  return out;
}
