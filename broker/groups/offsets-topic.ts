/**
 * Committed offsets, stored durably in the compacted internal topic `__consumer_offsets` and
 * held in memory for reads.
 *
 * Topic: `offsets.topic.num.partitions` partitions (default 10, fixed once created), configs
 * cleanup.policy=compact (the latest commit per key survives), segment.bytes=100 MiB,
 * flush.messages=1 (an append resolves only once fdatasync'ed, group-committed by storage, so
 * a commit is acked only when durable). A group's records all go to partition
 * `partitionForGroup(groupId, n)`: Java's `String.hashCode` of the group id, `abs(h) % n` with
 * Kafka's `Utils.abs` (Integer.MIN_VALUE → 0), so a group lands where Kafka would put it.
 *
 * Records (inside ordinary RecordBatch v2 batches, uncompressed, one batch per commit request
 * unless it exceeds the batch byte budget), all msgpack (msgpackr, useRecords: false):
 *
 *   key   = [keyVersion:uint, ...]           the first element says what the record is
 *           keyVersion 1, offset commit:     [1, groupId:str, topic:str, partition:uint]
 *   value = offset commit (keyVersion 1):    { offset:uint, metadata:str|nil, commitTimestampMs:uint }
 *           null (a tombstone):              the commit is deleted (DeleteGroups)
 *
 * Keys are encoded deterministically (same fields → same bytes), which compaction relies on.
 * Later record kinds (group metadata, say) take new key versions; a loader that meets a key
 * version it does not know skips the record with a warning instead of failing the partition.
 *
 * Loading: `load()` reads every partition from its log start to its end, applying records in
 * offset order (a tombstone deletes). Until a partition is loaded, `isLoaded(p)` is false and
 * the coordinator answers COORDINATOR_LOAD_IN_PROGRESS for its groups.
 */
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import { rillError } from '../../protocol/errors.js';
import { BATCH_HEADER_BYTES, decodeBatches, encodeBatch, type RecordInput } from '../../protocol/record-batch.js';
import type { PartitionLog } from '../../storage/partition-log.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
export const OFFSET_COMMIT_KEY_VERSION = 1;
export const OFFSETS_TOPIC_SEGMENT_BYTES = 100 * 1024 * 1024;
/** Topic configs `__consumer_offsets` is created with. */
export const OFFSETS_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'compact',
  'segment.bytes': String(OFFSETS_TOPIC_SEGMENT_BYTES),
  'flush.messages': '1',
});
/** Bytes read per step while loading a partition. */
const LOAD_READ_BYTES = 1024 * 1024;
/** Records per batch stay under this many bytes (and under the topic's max.message.bytes). */
const BATCH_BUDGET_BYTES = 512 * 1024;
/** Per-record overhead estimate for the batch budget (length, attributes, deltas, headers). */
const RECORD_OVERHEAD_BYTES = 32;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** Java's `String.hashCode()`: h = 31*h + c over UTF-16 code units, in int32. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The `__consumer_offsets` partition of a group, as Kafka computes it. */
export function partitionForGroup(groupId: string, partitions: number): number {
  const h = javaStringHashCode(groupId);
  // Kafka's Utils.abs: Math.abs(Integer.MIN_VALUE) is negative in Java, so it maps to 0.
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

export interface OffsetCommitKey {
  groupId: string;
  topic: string;
  partition: number;
}

export interface OffsetCommitValue {
  offset: number;
  metadata: string | null;
  commitTimestampMs: number;
}

export function encodeOffsetCommitKey(k: OffsetCommitKey): Buffer {
  return packr.pack([OFFSET_COMMIT_KEY_VERSION, k.groupId, k.topic, k.partition]);
}

export function encodeOffsetCommitValue(v: OffsetCommitValue): Buffer {
  return packr.pack({ offset: v.offset, metadata: v.metadata, commitTimestampMs: v.commitTimestampMs });
}

export type OffsetsRecord =
  | { kind: 'offset-commit'; key: OffsetCommitKey; value: OffsetCommitValue | null }
  | { kind: 'unknown'; keyVersion: unknown };

/** Decodes one `__consumer_offsets` record; throws CORRUPT_MESSAGE on a malformed one. */
export function decodeOffsetsRecord(key: Buffer | null, value: Buffer | null): OffsetsRecord {
  if (key === null) throw rillError('CORRUPT_MESSAGE', '__consumer_offsets record without a key');
  let k: unknown;
  try {
    k = packr.unpack(key);
  } catch (err) {
    throw rillError('CORRUPT_MESSAGE', `__consumer_offsets key is not msgpack: ${(err as Error).message}`);
  }
  if (!Array.isArray(k) || k.length === 0) throw rillError('CORRUPT_MESSAGE', '__consumer_offsets key is not a versioned array');
  if (k[0] !== OFFSET_COMMIT_KEY_VERSION) return { kind: 'unknown', keyVersion: k[0] };
  const [, groupId, topic, partition] = k as unknown[];
  if (typeof groupId !== 'string' || typeof topic !== 'string' || !Number.isSafeInteger(partition) || (partition as number) < 0) {
    throw rillError('CORRUPT_MESSAGE', '__consumer_offsets offset-commit key has the wrong shape');
  }
  const parsedKey = { groupId, topic, partition: partition as number };
  if (value === null) return { kind: 'offset-commit', key: parsedKey, value: null };
  let v: unknown;
  try {
    v = packr.unpack(value);
  } catch (err) {
    throw rillError('CORRUPT_MESSAGE', `__consumer_offsets value is not msgpack: ${(err as Error).message}`);
  }
  const o = v as Partial<OffsetCommitValue> | null;
  if (
    o === null ||
    typeof o !== 'object' ||
    !Number.isSafeInteger(o.offset) ||
    (o.metadata !== null && typeof o.metadata !== 'string') ||
    !Number.isSafeInteger(o.commitTimestampMs)
  ) {
    throw rillError('CORRUPT_MESSAGE', '__consumer_offsets offset-commit value has the wrong shape');
  }
  return { kind: 'offset-commit', key: parsedKey, value: { offset: o.offset!, metadata: o.metadata ?? null, commitTimestampMs: o.commitTimestampMs! } };
}

export interface CommittedOffset extends OffsetCommitValue {
  /** Offset of the record in `__consumer_offsets` that set it (later records win). */
  recordOffset: number;
}

/** In-memory committed offsets: group → topic → partition → commit. */
export class CommittedOffsets {
  private readonly groups = new Map<string, Map<string, Map<number, CommittedOffset>>>();

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(groupId)?.get(topic)?.get(partition);
  }

  /** Every commit of a group (live view: do not hold across awaits). */
  ofGroup(groupId: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> | undefined {
    return this.groups.get(groupId);
  }

  hasGroup(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  groupIds(): IterableIterator<string> {
    return this.groups.keys();
  }

  /** Applies a record at `recordOffset`; an older record than the one held is ignored. */
  apply(groupId: string, topic: string, partition: number, value: OffsetCommitValue | null, recordOffset: number): void {
    let byTopic = this.groups.get(groupId);
    const current = byTopic?.get(topic)?.get(partition);
    if (current !== undefined && current.recordOffset > recordOffset) return;
    if (value === null) {
      if (byTopic === undefined || current === undefined) return;
      const byPartition = byTopic.get(topic)!;
      byPartition.delete(partition);
      if (byPartition.size === 0) byTopic.delete(topic);
      if (byTopic.size === 0) this.groups.delete(groupId);
      return;
    }
    if (byTopic === undefined) this.groups.set(groupId, (byTopic = new Map()));
    let byPartition = byTopic.get(topic);
    if (byPartition === undefined) byTopic.set(topic, (byPartition = new Map()));
    byPartition.set(partition, { ...value, recordOffset });
  }
}

export interface OffsetWrite {
  topic: string;
  partition: number;
  /** null writes a tombstone. */
  value: OffsetCommitValue | null;
}

export class OffsetsTopic {
  readonly offsets = new CommittedOffsets();
  private readonly loaded: boolean[];

  constructor(
    readonly partitions: number,
    private readonly logFor: (partition: number) => PartitionLog | undefined,
    private readonly logger: Logger,
  ) {
    this.loaded = new Array<boolean>(partitions).fill(false);
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.partitions);
  }

  isLoaded(partition: number): boolean {
    return this.loaded[partition] === true;
  }

  /** Loads every partition (in parallel: each is independent); each becomes usable when done. */
  async load(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (let p = 0; p < this.partitions; p++) jobs.push(this.loadPartition(p));
    await Promise.all(jobs);
  }

  private async loadPartition(partition: number): Promise<void> {
    const log = this.requireLog(partition);
    const started = Date.now();
    const end = log.logEndOffset;
    let next = log.logStartOffset;
    let records = 0;
    let skipped = 0;
    while (next < end) {
      const { records: bytes } = await log.read(next, LOAD_READ_BYTES);
      const batches = decodeBatches(bytes);
      if (batches.length === 0) break; // nothing at or after `next` (a compaction gap at the end)
      for (const batch of batches) {
        for (const r of batch.records) {
          if (r.offset < next) continue; // the read starts with the batch holding `next`
          const rec = decodeOffsetsRecord(r.key, r.value);
          if (rec.kind === 'unknown') {
            skipped++;
            continue;
          }
          this.offsets.apply(rec.key.groupId, rec.key.topic, rec.key.partition, rec.value, r.offset);
          records++;
        }
        next = Math.max(next, batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
      }
    }
    if (skipped > 0) this.logger.warn({ partition, skipped }, `${OFFSETS_TOPIC}: skipped records with an unknown key version (written by a newer rill?)`);
    this.loaded[partition] = true;
    this.logger.info({ partition, records, ms: Date.now() - started }, `${OFFSETS_TOPIC} partition loaded`);
  }

  /**
   * Appends commits (or tombstones) of one group and applies them to memory once the append
   * resolved, i.e. once durable per the topic's flush policy (flush.messages=1: fdatasync'ed).
   */
  async write(groupId: string, writes: readonly OffsetWrite[], nowMs = Date.now()): Promise<void> {
    if (writes.length === 0) return;
    const log = this.requireLog(this.partitionFor(groupId));
    const budget = Math.max(1024, Math.min(BATCH_BUDGET_BYTES, log.config.maxMessageBytes - BATCH_HEADER_BYTES - 1024));
    const batches: Buffer[] = [];
    let records: RecordInput[] = [];
    let bytes = 0;
    for (const w of writes) {
      const key = encodeOffsetCommitKey({ groupId, topic: w.topic, partition: w.partition });
      const value = w.value === null ? null : encodeOffsetCommitValue(w.value);
      const size = key.length + (value?.length ?? 0) + RECORD_OVERHEAD_BYTES;
      if (records.length > 0 && bytes + size > budget) {
        batches.push(encodeBatch(records, { now: nowMs }));
        records = [];
        bytes = 0;
      }
      records.push({ key, value, timestamp: nowMs });
      bytes += size;
    }
    batches.push(encodeBatch(records, { now: nowMs }));
    const result = await log.append(batches.length === 1 ? batches[0]! : Buffer.concat(batches));
    // Offsets are assigned consecutively across the batches of one append.
    writes.forEach((w, i) => this.offsets.apply(groupId, w.topic, w.partition, w.value, result.baseOffset + i));
  }

  private requireLog(partition: number): PartitionLog {
    const log = this.logFor(partition);
    if (log === undefined) throw rillError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC}-${partition} has no log on this broker`);
    return log;
  }
}
