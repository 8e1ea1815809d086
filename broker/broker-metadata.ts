/**
 * `<dataDir>/meta.json`: what the broker must remember about itself across restarts.
 *
 *   { "version": 1, "nodeId": 0, "clusterId": "base64url, 22 chars", "producerIdBlockEnd": 3000 }
 *
 * - nodeId: a data dir belongs to one broker; starting it with another `node.id` is refused
 *   (Kafka's InconsistentBrokerIdException), so two brokers never share or swap logs.
 * - clusterId: generated on first start (16 random bytes, as Kafka's), reported in Metadata. A
 *   broker started with `etcd.endpoints` passes the etcd cluster's id instead: a fresh dir adopts
 *   it, a dir recorded for another cluster is refused (INCONSISTENT_CLUSTER_ID, as Kafka's
 *   InconsistentClusterIdException), so one broker's logs never join another cluster.
 * - producerIdBlockEnd: every producer id below it may have been handed out; the allocator
 *   (producer-ids.ts) reserves the next block by raising it here BEFORE using any id of that
 *   block, so an id is never reused after a crash.
 *
 * Written atomically (temp + fsync + rename + fsync dir, storage/checkpoint.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rillError } from '../protocol/errors.js';
import { writeFileAtomic } from '../storage/checkpoint.js';

export const BROKER_METADATA_FILE = 'meta.json';
const FORMAT_VERSION = 1;

export interface BrokerMetadata {
  version: number;
  nodeId: number;
  clusterId: string;
  producerIdBlockEnd: number;
}

export class BrokerMetadataStore {
  private constructor(
    private readonly path: string,
    private current: BrokerMetadata,
  ) {}

  /** meta.json's content, or null on a fresh data dir (nothing is written). */
  static async peek(dataDir: string): Promise<BrokerMetadata | null> {
    const path = join(dataDir, BROKER_METADATA_FILE);
    const text = await readMetaFile(path);
    return text === null ? null : parseBrokerMetadata(text, path);
  }

  /**
   * Reads meta.json, or creates it on first start; refuses a data dir of another node id, and,
   * when `clusterId` is given (a cluster member), a data dir of another cluster.
   */
  static async open(dataDir: string, nodeId: number, clusterId?: string): Promise<BrokerMetadataStore> {
    const path = join(dataDir, BROKER_METADATA_FILE);
    const text = await readMetaFile(path);
    if (text === null) {
      const fresh: BrokerMetadata = { version: FORMAT_VERSION, nodeId, clusterId: clusterId ?? randomBytes(16).toString('base64url'), producerIdBlockEnd: 0 };
      await writeFileAtomic(path, JSON.stringify(fresh) + '\n');
      return new BrokerMetadataStore(path, fresh);
    }
    const meta = parseBrokerMetadata(text, path);
    if (meta.nodeId !== nodeId) {
      throw rillError('INVALID_CONFIG', `node.id ${nodeId} does not match node id ${meta.nodeId} recorded in ${path}: this data dir belongs to another broker`);
    }
    if (clusterId !== undefined && meta.clusterId !== clusterId) {
      throw rillError('INCONSISTENT_CLUSTER_ID', `cluster id '${clusterId}' does not match cluster id '${meta.clusterId}' recorded in ${path}: this data dir belongs to another cluster`);
    }
    return new BrokerMetadataStore(path, meta);
  }

  get metadata(): Readonly<BrokerMetadata> {
    return this.current;
  }

  /** Durably replaces fields; resolves once the new file is on disk. */
  async update(patch: Partial<Omit<BrokerMetadata, 'version' | 'nodeId' | 'clusterId'>>): Promise<void> {
    const next = { ...this.current, ...patch };
    await writeFileAtomic(this.path, JSON.stringify(next) + '\n');
    this.current = next;
  }
}

async function readMetaFile(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return null;
  }
}

function parseBrokerMetadata(text: string, path: string): BrokerMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw rillError('INVALID_CONFIG', `${path}: not valid JSON (${(err as Error).message}); refusing to start rather than lose producer ids`);
  }
  const m = raw as Partial<BrokerMetadata>;
  if (
    m === null || typeof m !== 'object' || m.version !== FORMAT_VERSION ||
    !Number.isSafeInteger(m.nodeId) || typeof m.clusterId !== 'string' || m.clusterId.length === 0 ||
    !Number.isSafeInteger(m.producerIdBlockEnd) || (m.producerIdBlockEnd as number) < 0
  ) {
    throw rillError('INVALID_CONFIG', `${path}: unexpected content ${JSON.stringify(raw).slice(0, 200)}`);
  }
  return m as BrokerMetadata;
}
