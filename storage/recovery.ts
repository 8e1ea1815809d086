/**
 * Opening a partition directory: finishing or discarding what a crash left half done, scanning
 * every segment, checking (or rebuilding) indexes, and cutting the log at the first torn or
 * corrupt batch.
 *
 * Two scans, both chunked so the event loop keeps turning:
 *   'headers'  (segments below the recovery point, or all after a clean shutdown): reads batch
 *              headers only and checks their structure (magic, length within the file, offsets
 *              increasing). A structural problem here means the recovery point lied: the load
 *              restarts with 'verify' from that segment on.
 *   'verify'   (segments from the one holding the recovery point, after a crash): reads every
 *              byte and runs validateBatch (magic, length, CRC-32C); the first bad batch and
 *              everything after it (the rest of the segment and all later segments) is cut, and
 *              reported at warn with {topic, partition, segment, truncatedBytes}.
 *
 * Indexes are never trusted: for verified segments they are rebuilt; for the others the files
 * are loaded, sanity-checked (size multiple, ordering, bounds) and every entry is checked
 * against the batch it names while the headers stream by. A failing index is rebuilt from the
 * same scan and rewritten.
 *
 * Leftovers (Kafka's rules): `*.deleted`, `*.cleaned` and `*.tmp` files are removed; a
 * `<base>.log.swap` is a compaction that passed its commit point: the live segments its offset
 * range covers are removed and the .swap files renamed into place.
 */
import { readdir, rename } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  MAGIC,
  MIN_BATCH_LENGTH,
  readBatchHeader,
  readBatchLength,
  readMagic,
  validateBatch,
  type BatchHeader,
} from '../protocol/record-batch.js';
import { fsyncDir, unlinkIfExists } from './checkpoint.js';
import {
  CLEANED_SUFFIX,
  DELETED_SUFFIX,
  SWAP_SUFFIX,
  TEMP_SUFFIX,
  parseSegmentFileName,
  segmentFilePath,
} from './log-file-names.js';
import { MAX_RELATIVE_OFFSET, OffsetIndex } from './offset-index.js';
import type { ProducerStateManager } from './producer-state.js';
import { Segment, type BatchInfo } from './segment.js';
import { TimeIndex } from './time-index.js';

/** Bytes read per chunk by the 'verify' scan (a larger batch is read whole). */
export const VERIFY_CHUNK_BYTES = 1024 * 1024;
/** Bytes read per chunk by the 'headers' scan while batches are small. */
export const HEADER_CHUNK_BYTES = 64 * 1024;
/** Past this batch size the 'headers' scan reads just the next header instead of a chunk. */
const LARGE_BATCH_BYTES = 16 * 1024;

export interface ScannedBatch extends BatchInfo {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  partitionLeaderEpoch: number;
}

export type ScanMode = 'headers' | 'verify';

export interface ScanResult {
  /** Bytes from the start of the segment up to the end of the last good batch. */
  validBytes: number;
  /** Why the scan stopped before the end of the file, or null. */
  problem: string | null;
}

/**
 * Walks the segment's batches from position 0 to `sizeBytes`, calling `onBatch` for each good
 * one in order. Stops at the first bad one and reports where and why.
 */
export async function scanSegment(seg: Segment, mode: ScanMode, minBaseOffset: number, onBatch: (b: ScannedBatch) => void): Promise<ScanResult> {
  const fileSize = seg.sizeBytes;
  let pos = 0;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = 0;
  let expectedMin = minBaseOffset;
  let lastSize = 0;
  const fail = (problem: string): ScanResult => ({ validBytes: pos, problem });
  while (pos < fileSize) {
    const left = fileSize - pos;
    if (left < BATCH_HEADER_BYTES) return fail(`${left} trailing bytes, fewer than a batch header`);
    if (pos < chunkStart || pos + BATCH_HEADER_BYTES > chunkStart + chunk.length) {
      const want = mode === 'verify' ? VERIFY_CHUNK_BYTES : lastSize > LARGE_BATCH_BYTES ? BATCH_HEADER_BYTES : HEADER_CHUNK_BYTES;
      chunk = await seg.readAt(pos, Math.min(want, left));
      chunkStart = pos;
      if (chunk.length < BATCH_HEADER_BYTES) return fail(`short read: ${chunk.length} bytes at ${pos}`);
    }
    let p = pos - chunkStart;
    const magic = readMagic(chunk, p);
    if (magic !== MAGIC) return fail(`batch at ${pos} has magic ${magic}`);
    const batchLength = readBatchLength(chunk, p);
    if (batchLength < MIN_BATCH_LENGTH) return fail(`batch at ${pos} has batchLength ${batchLength}`);
    const size = LOG_OVERHEAD + batchLength;
    if (size > left) return fail(`torn batch at ${pos}: ${size} bytes claimed, ${left} present`);
    let header: BatchHeader;
    try {
      if (mode === 'verify') {
        if (p + size > chunk.length) {
          chunk = await seg.readAt(pos, Math.min(Math.max(VERIFY_CHUNK_BYTES, size), left));
          chunkStart = pos;
          p = 0;
          if (chunk.length < size) return fail(`short read: ${chunk.length} of ${size} bytes at ${pos}`);
        }
        header = validateBatch(chunk, p);
      } else {
        header = readBatchHeader(chunk, p);
      }
    } catch (err) {
      return fail((err as Error).message);
    }
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    if (header.lastOffsetDelta < 0) return fail(`batch at ${pos} has lastOffsetDelta ${header.lastOffsetDelta}`);
    if (header.baseOffset < expectedMin) return fail(`batch at ${pos} has base offset ${header.baseOffset}, expected >= ${expectedMin}`);
    if (lastOffset - seg.baseOffset > MAX_RELATIVE_OFFSET) return fail(`batch at ${pos} ends at offset ${lastOffset}, beyond the segment's range`);
    onBatch({
      position: pos,
      sizeBytes: size,
      baseOffset: header.baseOffset,
      lastOffset,
      maxTimestamp: header.maxTimestamp,
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      lastOffsetDelta: header.lastOffsetDelta,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
    });
    expectedMin = lastOffset + 1;
    lastSize = size;
    pos += size;
  }
  return { validBytes: pos, problem: null };
}

/**
 * Checks loaded index entries against the batches a scan streams by: every offset-index entry
 * must name the position and base offset of a real batch; every time-index entry (T, O) must
 * name a batch whose maxTimestamp is T and T must be the largest timestamp up to it.
 */
export class IndexVerifier {
  private oi = 0;
  private ti = 0;
  private runningMax = -1;
  problem: string | null = null;

  constructor(private readonly offsetIndex: OffsetIndex, private readonly timeIndex: TimeIndex) {}

  onBatch(b: BatchInfo): void {
    if (this.problem !== null) return;
    const oIdx = this.offsetIndex;
    if (this.oi < oIdx.entries && oIdx.positionAt(this.oi) < b.position) {
      this.problem = `offset index entry ${this.oi} points inside a batch (position ${oIdx.positionAt(this.oi)})`;
      return;
    }
    if (this.oi < oIdx.entries && oIdx.positionAt(this.oi) === b.position) {
      if (oIdx.offsetAt(this.oi) !== b.baseOffset) {
        this.problem = `offset index entry ${this.oi} says offset ${oIdx.offsetAt(this.oi)} at ${b.position}, the batch there starts at ${b.baseOffset}`;
        return;
      }
      this.oi++;
    }
    if (b.maxTimestamp > this.runningMax) this.runningMax = b.maxTimestamp;
    const tIdx = this.timeIndex;
    if (this.ti < tIdx.entries && tIdx.offsetAt(this.ti) < b.baseOffset) {
      this.problem = `time index entry ${this.ti} names offset ${tIdx.offsetAt(this.ti)}, which starts no batch`;
      return;
    }
    if (this.ti < tIdx.entries && tIdx.offsetAt(this.ti) === b.baseOffset) {
      const t = tIdx.timestampAt(this.ti);
      if (t !== b.maxTimestamp || t !== this.runningMax) {
        this.problem = `time index entry ${this.ti} says ${t} at offset ${b.baseOffset}; the batch's max is ${b.maxTimestamp}, the running max ${this.runningMax}`;
        return;
      }
      this.ti++;
    }
  }

  finish(): string | null {
    if (this.problem !== null) return this.problem;
    if (this.oi < this.offsetIndex.entries) return `offset index has ${this.offsetIndex.entries - this.oi} entries past the last batch`;
    if (this.ti < this.timeIndex.entries) return `time index has ${this.timeIndex.entries - this.ti} entries past the last batch`;
    return null;
  }
}

export interface LoadPartitionOptions {
  topic: string;
  partition: number;
  dir: string;
  logger: Logger;
  /**
   * null after a clean shutdown (headers scan only); otherwise the offset below which data and
   * indexes were flushed: segments from the one holding it on are verified (0 = verify all).
   */
  recoveryPoint: number | null;
  indexIntervalBytes: number;
  producerState: ProducerStateManager;
  /** Called for every batch kept, in log order (the leader-epoch cache is rebuilt from it). */
  onBatch?: (b: ScannedBatch) => void;
}

export interface LoadPartitionResult {
  segments: Segment[];
  /** Whether any batch was cut or any segment dropped. */
  truncated: boolean;
}

/** Finishes or discards leftover .deleted/.cleaned/.tmp/.swap files of a partition directory. */
export async function cleanLeftoverFiles(dir: string, topic: string, partition: number, logger: Logger): Promise<void> {
  const names = await readdir(dir);
  const swaps: number[] = [];
  const liveLogs = new Set<number>();
  let changed = false;
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    if (parsed === undefined) {
      if (name.endsWith(TEMP_SUFFIX)) {
        await unlinkIfExists(`${dir}/${name}`);
        changed = true;
      }
      continue;
    }
    if (parsed.extra === DELETED_SUFFIX || parsed.extra === CLEANED_SUFFIX || parsed.extra === TEMP_SUFFIX) {
      await unlinkIfExists(`${dir}/${name}`);
      changed = true;
    } else if (parsed.extra === SWAP_SUFFIX && parsed.kind === 'log') {
      swaps.push(parsed.baseOffset);
    } else if (parsed.extra === '' && parsed.kind === 'log') {
      liveLogs.add(parsed.baseOffset);
    }
  }
  swaps.sort((a, b) => a - b);
  for (const swapBase of swaps) {
    const seg = await Segment.open(dir, swapBase, SWAP_SUFFIX);
    let nextOffset = swapBase;
    let validBytes = 0;
    let problem: string | null = null;
    try {
      ({ validBytes, problem } = await scanSegment(seg, 'verify', swapBase, (b) => {
        nextOffset = b.lastOffset + 1;
      }));
      if (problem !== null) {
        logger.warn({ topic, partition, segment: seg.logPath, truncatedBytes: seg.sizeBytes - validBytes, reason: problem }, 'truncated a corrupt compaction swap file');
        await seg.truncateTo(validBytes);
      }
    } finally {
      await seg.close();
    }
    const lastOffset = Math.max(swapBase, nextOffset - 1);
    for (const base of [...liveLogs].sort((a, b) => a - b)) {
      if (base < swapBase || base > lastOffset) continue;
      for (const kind of ['log', 'index', 'timeindex'] as const) await unlinkIfExists(segmentFilePath(dir, base, kind));
      liveLogs.delete(base);
    }
    for (const kind of ['index', 'timeindex', 'log'] as const) {
      try {
        await rename(segmentFilePath(dir, swapBase, kind, SWAP_SUFFIX), segmentFilePath(dir, swapBase, kind));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    liveLogs.add(swapBase);
    logger.info({ topic, partition, segment: swapBase, lastOffset }, 'completed an interrupted compaction swap');
    changed = true;
  }
  // Index files whose .log is gone (or .swap indexes whose log swap was already renamed).
  for (const name of await readdir(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed === undefined || parsed.kind === 'log') continue;
    if (parsed.extra === SWAP_SUFFIX || (parsed.extra === '' && !liveLogs.has(parsed.baseOffset))) {
      await unlinkIfExists(`${dir}/${name}`);
      changed = true;
    }
  }
  if (changed) await fsyncDir(dir);
}

/** Base offsets of the live segments in a partition directory, ascending. */
export async function listSegmentBaseOffsets(dir: string): Promise<number[]> {
  const bases: number[] = [];
  for (const name of await readdir(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed !== undefined && parsed.kind === 'log' && parsed.extra === '') bases.push(parsed.baseOffset);
  }
  return bases.sort((a, b) => a - b);
}

class NeedsVerify extends Error {
  constructor(readonly segmentIndex: number, readonly reason: string) {
    super(reason);
  }
}

/**
 * Opens, scans and recovers every segment of a partition directory (after `cleanLeftoverFiles`)
 * and replays the producer state from the batch headers.
 */
export async function loadPartitionSegments(opts: LoadPartitionOptions): Promise<LoadPartitionResult> {
  const bases = await listSegmentBaseOffsets(opts.dir);
  let verifyFrom = Number.POSITIVE_INFINITY;
  if (opts.recoveryPoint !== null) {
    let i = bases.length - 1;
    while (i > 0 && bases[i]! > opts.recoveryPoint) i--;
    verifyFrom = Math.max(0, i);
  }
  for (let attempt = 0; ; attempt++) {
    opts.producerState.clear();
    try {
      return await loadWith(opts, bases, verifyFrom);
    } catch (err) {
      if (!(err instanceof NeedsVerify) || attempt > 0) throw err;
      opts.logger.warn({ topic: opts.topic, partition: opts.partition, segment: bases[err.segmentIndex], reason: err.reason }, 'batch headers below the recovery point are damaged; verifying from this segment on');
      verifyFrom = err.segmentIndex;
    }
  }
}

async function loadWith(opts: LoadPartitionOptions, bases: number[], verifyFrom: number): Promise<LoadPartitionResult> {
  const { topic, partition, dir, logger } = opts;
  const segments: Segment[] = [];
  let truncated = false;
  try {
    for (let i = 0; i < bases.length; i++) {
      const seg = await Segment.open(dir, bases[i]!);
      segments.push(seg);
      const prev = segments.length > 1 ? segments[segments.length - 2]! : undefined;
      const minBase = Math.max(seg.baseOffset, prev?.nextOffset ?? 0);
      const isLast = i === bases.length - 1;
      const replay = (b: ScannedBatch): void => {
        opts.producerState.replayBatch(b, b.baseOffset, b.maxTimestamp);
        opts.onBatch?.(b);
      };

      if (i >= verifyFrom) {
        seg.offsetIndex.reset();
        seg.timeIndex.reset();
        const result = await scanSegment(seg, 'verify', minBase, (b) => {
          seg.observeBatchSingleWriter(b, opts.indexIntervalBytes, b.maxTimestamp >= 0 ? b.maxTimestamp : Date.now());
          replay(b);
        });
        if (result.problem !== null) {
          const truncatedBytes = seg.sizeBytes - result.validBytes;
          logger.warn({ topic, partition, segment: seg.baseOffset, truncatedBytes, reason: result.problem }, 'truncated a torn or corrupt log segment');
          await seg.truncateTo(result.validBytes);
          truncated = true;
          for (let j = i + 1; j < bases.length; j++) {
            const later = await Segment.open(dir, bases[j]!);
            logger.warn({ topic, partition, segment: later.baseOffset, truncatedBytes: later.sizeBytes, reason: `follows the corruption in segment ${seg.baseOffset}` }, 'dropped a log segment after a torn or corrupt one');
            await later.close();
            for (const kind of ['log', 'index', 'timeindex'] as const) await unlinkIfExists(segmentFilePath(dir, bases[j]!, kind));
          }
          if (bases.length > i + 1) await fsyncDir(dir);
        }
        // Read but never fdatasynced by us: the caller's first flush makes it durable.
        seg.dirty = true;
        const endsHere = result.problem !== null || isLast;
        if (!endsHere) seg.onBecomeInactive();
        await seg.persistIndexes(true);
        if (result.problem !== null) break;
        continue;
      }

      // Below the recovery point: headers only; indexes loaded and checked against the batches.
      const loadedOffsets = new OffsetIndex(seg.offsetIndex.path, seg.baseOffset);
      const loadedTimes = new TimeIndex(seg.timeIndex.path, seg.baseOffset);
      let indexProblem = (await loadedOffsets.load()) ?? (await loadedTimes.load());
      if (indexProblem === null) indexProblem = loadedOffsets.sanityCheck(seg.sizeBytes);
      const verifier = new IndexVerifier(loadedOffsets, loadedTimes);
      seg.offsetIndex.reset();
      seg.timeIndex.reset();
      const result = await scanSegment(seg, 'headers', minBase, (b) => {
        seg.observeBatchSingleWriter(b, opts.indexIntervalBytes, b.maxTimestamp >= 0 ? b.maxTimestamp : Date.now());
        verifier.onBatch(b);
        replay(b);
      });
      if (result.problem !== null) throw new NeedsVerify(i, result.problem);
      if (indexProblem === null) indexProblem = loadedTimes.sanityCheck(seg.nextOffset);
      if (indexProblem === null) indexProblem = verifier.finish();
      if (indexProblem === null) {
        seg.offsetIndex.replaceEntriesWith(loadedOffsets, true);
        seg.timeIndex.replaceEntriesWith(loadedTimes, true);
        seg.resumeIndexingAfterScan();
      } else {
        logger.warn({ topic, partition, segment: seg.baseOffset, reason: indexProblem }, 'rebuilt an index file that failed its checks');
      }
      if (!isLast) seg.onBecomeInactive();
      if (indexProblem !== null || seg.offsetIndex.unpersistedEntries > 0 || seg.timeIndex.unpersistedEntries > 0) {
        await seg.persistIndexes(true);
      }
    }
  } catch (err) {
    for (const s of segments) await s.close();
    throw err;
  }
  return { segments, truncated };
}
