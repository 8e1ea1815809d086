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
 * Ownership and loading: a broker serves only the groups of the partitions it owns. A single
 * broker owns them all (`load()`); in a cluster it owns those it leads (`assign(p, epoch)` when
 * it becomes leader, `unassign(p)` when it stops). Loading reads a partition from its log start
 * to its end into a fresh per-partition map, applying records in offset order (a tombstone
 * deletes), and installs it only if the broker still owns the partition at the same epoch.
 * Meanwhile its groups get COORDINATOR_LOAD_IN_PROGRESS; groups of a partition not owned get
 * NOT_COORDINATOR. Unassigning drops the partition's offsets from memory.
 */
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import { type RillError, rillError } from '../../protocol/errors.js';
import { BATCH_HEADER_BYTES, decodeBatches, encodeBatch, type RecordInput } from '../../protocol/record-batch.js';
import type { AppendResult, PartitionLog } from '../../storage/partition-log.js';

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

/** How commits reach a partition's log: a local append, or the cluster's acks=-1 append. */
export type OffsetsAppender = (partition: number, batches: Buffer) => Promise<AppendResult>;

export interface OffsetsTopicOptions {
  /** Default: `log.append` on the local log (a single broker: durable once fdatasync'ed). */
  append?: OffsetsAppender;
  /**
   * Whether this broker still leads `partition` at `leaderEpoch`; asked between the steps of a
   * load so that a load for an epoch that is no longer current stops. Default: always.
   */
  isLeader?: (partition: number, leaderEpoch: number) => boolean;
}

/**
 * This broker's hold on one partition. Offsets live per partition (a group's records all go to
 * one partition), so unloading a partition drops exactly its groups' offsets.
 */
type Ownership =
  | { state: 'loading'; leaderEpoch: number }
  | { state: 'loaded'; leaderEpoch: number; offsets: CommittedOffsets; loadedAtMs: number }
  | { state: 'failed'; leaderEpoch: number; reason: string };

export type OwnershipState = Ownership['state'] | 'none';

/** The committed offsets of the loaded partitions, each group read from its own partition. */
export class LoadedOffsets {
  constructor(
    private readonly partitionFor: (groupId: string) => number,
    private readonly offsetsOf: (partition: number) => CommittedOffsets | undefined,
    private readonly partitions: number,
  ) {}

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsetsOf(this.partitionFor(groupId))?.get(groupId, topic, partition);
  }

  /** Every commit of a group (live view: do not hold across awaits). */
  ofGroup(groupId: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> | undefined {
    return this.offsetsOf(this.partitionFor(groupId))?.ofGroup(groupId);
  }

  hasGroup(groupId: string): boolean {
    return this.offsetsOf(this.partitionFor(groupId))?.hasGroup(groupId) === true;
  }

  *groupIds(): Generator<string> {
    for (let p = 0; p < this.partitions; p++) {
      const offsets = this.offsetsOf(p);
      if (offsets !== undefined) yield* offsets.groupIds();
    }
  }
}

export class OffsetsTopic {
  readonly offsets: LoadedOffsets;
  /** undefined: this broker does not own the partition (in a cluster: does not lead it). */
  private readonly owned: Array<Ownership | undefined>;
  /** Appends of commits or tombstones not yet resolved, per group (offsets expiry skips those groups). */
  private readonly pendingWrites = new Map<string, number>();
  /** Loads running, per partition (what a repeated assign() at the same epoch waits for). */
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly append: OffsetsAppender;
  private readonly isLeader: (partition: number, leaderEpoch: number) => boolean;

  constructor(
    readonly partitions: number,
    private readonly logFor: (partition: number) => PartitionLog | undefined,
    private readonly logger: Logger,
    opts: OffsetsTopicOptions = {},
  ) {
    this.owned = new Array<Ownership | undefined>(partitions).fill(undefined);
    this.offsets = new LoadedOffsets(
      (groupId) => this.partitionFor(groupId),
      (p) => {
        const o = this.owned[p];
        return o?.state === 'loaded' ? o.offsets : undefined;
      },
      partitions,
    );
    this.append = opts.append ?? ((p, batches) => this.requireLog(p).append(batches));
    this.isLeader = opts.isLeader ?? (() => true);
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.partitions);
  }

  isLoaded(partition: number): boolean {
    return this.owned[partition]?.state === 'loaded';
  }

  stateOf(partition: number): OwnershipState {
    return this.owned[partition]?.state ?? 'none';
  }

  /** When `partition` finished loading here (ms since the epoch), or -1 when it is not loaded. */
  loadedAtMs(partition: number): number {
    const o = this.owned[partition];
    return o?.state === 'loaded' ? o.loadedAtMs : -1;
  }

  /** Whether a write of `groupId`'s commits or tombstones is still on its way to the log. */
  isWriting(groupId: string): boolean {
    return this.pendingWrites.has(groupId);
  }

  /** The leader epoch this broker owns `partition` at, or -1 when it does not own it. */
  epochOf(partition: number): number {
    return this.owned[partition]?.leaderEpoch ?? -1;
  }

  /** Whether some owned partition is still loading. */
  get anyLoading(): boolean {
    return this.owned.some((o) => o?.state === 'loading');
  }

  /**
   * A single broker: owns every partition at epoch 0 and loads them all (in parallel: each is
   * independent; each becomes usable when done). Rejects if any fails to load.
   */
  async load(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (let p = 0; p < this.partitions; p++) jobs.push(this.assign(p, 0));
    await Promise.all(jobs);
  }

  /**
   * Takes ownership of `partition` at `leaderEpoch` and loads it; its groups answer
   * COORDINATOR_LOAD_IN_PROGRESS meanwhile. Owning it already at that epoch is a no-op; at
   * another epoch, what was loaded is dropped first (another leader may have written since).
   * Resolves when loaded or abandoned (unassigned, reassigned, or no longer leader at that
   * epoch); rejects when the log cannot be read (the partition then answers
   * COORDINATOR_NOT_AVAILABLE until it is assigned again).
   */
  assign(partition: number, leaderEpoch: number): Promise<void> {
    try {
      this.checkPartition(partition);
    } catch (err) {
      return Promise.reject(err);
    }
    const current = this.owned[partition];
    if (current !== undefined && current.leaderEpoch === leaderEpoch && current.state !== 'failed') return this.inflight.get(partition) ?? Promise.resolve();
    const ownership: Ownership = { state: 'loading', leaderEpoch };
    this.owned[partition] = ownership;
    const job: Promise<void> = this.runLoad(partition, ownership).finally(() => {
      if (this.inflight.get(partition) === job) this.inflight.delete(partition);
    });
    this.inflight.set(partition, job);
    return job;
  }

  private async runLoad(partition: number, ownership: Ownership): Promise<void> {
    const { leaderEpoch } = ownership;
    const stillCurrent = (): boolean => this.owned[partition] === ownership && this.isLeader(partition, leaderEpoch);
    try {
      const offsets = await this.loadPartition(partition, leaderEpoch, stillCurrent);
      if (offsets !== null && stillCurrent()) {
        this.owned[partition] = { state: 'loaded', leaderEpoch, offsets, loadedAtMs: Date.now() };
        return;
      }
      this.logger.info({ partition, leaderEpoch }, `${OFFSETS_TOPIC} partition load abandoned: this broker no longer leads it at that epoch`);
      // Left 'loading' its groups would wait forever; nobody owns it here now.
      if (this.owned[partition] === ownership) this.owned[partition] = undefined;
    } catch (err) {
      if (this.owned[partition] === ownership) this.owned[partition] = { state: 'failed', leaderEpoch, reason: (err as Error).message };
      this.logger.error({ err, partition, leaderEpoch }, `${OFFSETS_TOPIC} partition failed to load`);
      throw err;
    }
  }

  /** Gives `partition` up and drops its offsets from memory; false if it was not owned. */
  unassign(partition: number): boolean {
    this.checkPartition(partition);
    const owned = this.owned[partition] !== undefined;
    this.owned[partition] = undefined;
    return owned;
  }

  /** Why the groups of `groupId`'s partition cannot be served here, or null when they can. */
  unavailable(groupId: string): RillError | null {
    const partition = this.partitionFor(groupId);
    const o = this.owned[partition];
    const where = `${OFFSETS_TOPIC}-${partition}, which holds group '${groupId}'`;
    if (o === undefined) return rillError('NOT_COORDINATOR', `this broker does not lead ${where}; find the group's coordinator again`);
    if (o.state === 'loading') return rillError('COORDINATOR_LOAD_IN_PROGRESS', `${where}, is still loading`);
    if (o.state === 'failed') return rillError('COORDINATOR_NOT_AVAILABLE', `${where}, failed to load: ${o.reason}`);
    return null;
  }

  /**
   * Reads a partition from its log start to its end into a fresh map, applying records in
   * offset order (a tombstone deletes); null when `stillCurrent` turned false on the way.
   */
  private async loadPartition(partition: number, leaderEpoch: number, stillCurrent: () => boolean): Promise<CommittedOffsets | null> {
    const log = this.requireLog(partition);
    const offsets = new CommittedOffsets();
    const started = Date.now();
    const end = log.logEndOffset;
    let next = log.logStartOffset;
    let records = 0;
    let skipped = 0;
    while (next < end) {
      // To the log end, not the high watermark (as Kafka's loader): a newly elected leader's
      // watermark may still lag the commits every in-sync replica already holds.
      const { records: bytes } = await log.read(next, LOAD_READ_BYTES, { isolation: 'logEnd' });
      if (!stillCurrent()) return null;
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
          offsets.apply(rec.key.groupId, rec.key.topic, rec.key.partition, rec.value, r.offset);
          records++;
        }
        next = Math.max(next, batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
      }
    }
    if (skipped > 0) this.logger.warn({ partition, skipped }, `${OFFSETS_TOPIC}: skipped records with an unknown key version (written by a newer rill?)`);
    this.logger.info({ partition, leaderEpoch, records, ms: Date.now() - started }, `${OFFSETS_TOPIC} partition loaded`);
    return offsets;
  }

  /**
   * Appends commits (or tombstones) of one group and applies them to memory once the append
   * resolved: once durable per the topic's flush policy (flush.messages=1: fdatasync'ed) and,
   * in a cluster, once every in-sync replica has it. The group's partition must be loaded; if
   * it was given up while the append ran, memory is left to whoever loads it next.
   */
  async write(groupId: string, writes: readonly OffsetWrite[], nowMs = Date.now()): Promise<void> {
    if (writes.length === 0) return;
    const partition = this.partitionFor(groupId);
    const refused = this.unavailable(groupId);
    if (refused !== null) throw refused;
    const ownership = this.owned[partition] as Extract<Ownership, { state: 'loaded' }>;
    const log = this.requireLog(partition);
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
    this.pendingWrites.set(groupId, (this.pendingWrites.get(groupId) ?? 0) + 1);
    let result: AppendResult;
    try {
      result = await this.append(partition, batches.length === 1 ? batches[0]! : Buffer.concat(batches));
    } finally {
      const left = this.pendingWrites.get(groupId)! - 1;
      if (left === 0) this.pendingWrites.delete(groupId);
      else this.pendingWrites.set(groupId, left);
    }
    if (this.owned[partition] !== ownership) return;
    // Offsets are assigned consecutively across the batches of one append.
    writes.forEach((w, i) => ownership.offsets.apply(groupId, w.topic, w.partition, w.value, result.baseOffset + i));
  }

  private checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `${OFFSETS_TOPIC} has no partition ${partition} (it has ${this.partitions})`);
    }
  }

  private requireLog(partition: number): PartitionLog {
    const log = this.logFor(partition);
    if (log === undefined) throw rillError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC}-${partition} has no log on this broker`);
    return log;
  }
}
