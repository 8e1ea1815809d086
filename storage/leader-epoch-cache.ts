/**
 * The leader-epoch cache of one partition (Kafka's LeaderEpochFileCache, KIP-101/KIP-279):
 * for every leader epoch that wrote to the log, the offset of its first batch. A follower asks
 * its leader "where did my last epoch end?" (OffsetsForLeaderEpoch) and truncates above the
 * answer, so replicas agree after any sequence of failovers.
 *
 * File `<partitionDir>/leader-epoch-checkpoint` (text, UTF-8, Kafka's layout):
 *
 *   0                 version line (LEADER_EPOCH_CHECKPOINT_VERSION)
 *   2                 number of entry lines
 *   0 0               <epoch> <startOffset>, one per line, both strictly increasing
 *   3 1520
 *
 * Each line is at most 10 + 1 + 16 digits (epoch <= 2^31 - 1, offset <= 2^53 - 1), and the
 * cache holds one line per leadership that appended, so the file stays a few KiB. It is written
 * whole with temp + fsync + rename + fsync dir (writeFileAtomic): a crash leaves the old or the
 * new file. The log's own batches are the truth: every open replays each batch header's
 * partitionLeaderEpoch into the cache (the scan reads every header anyway), so a lost, stale
 * or corrupt file (treated as absent, with a warning) is rebuilt, and the file adds only epochs
 * whose batches compaction has since removed.
 *
 * In-memory changes are synchronous; `persist()` writes the file when something changed (in the
 * background on a new epoch, and on every flush before the recovery point advances).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './checkpoint.js';

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
export const LEADER_EPOCH_CHECKPOINT_VERSION = 0;
/** Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET: "no such epoch" in OffsetsForLeaderEpoch. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

export class LeaderEpochCache {
  readonly path: string;
  private entries: EpochEntry[] = [];
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(partitionDir: string) {
    this.path = join(partitionDir, LEADER_EPOCH_CHECKPOINT_FILE);
  }

  /** Loads the checkpoint file; returns why it was ignored, or null (absent = empty, no problem). */
  async load(): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const parsed = parseLeaderEpochCheckpoint(text);
    if (typeof parsed === 'string') {
      this.entries = [];
      this.dirty = true;
      return parsed;
    }
    this.entries = parsed;
    return null;
  }

  get all(): readonly EpochEntry[] {
    return this.entries;
  }

  /** The newest epoch, or UNDEFINED_EPOCH when the cache is empty. */
  get latestEpoch(): number {
    return this.entries.length === 0 ? UNDEFINED_EPOCH : this.entries[this.entries.length - 1]!.epoch;
  }

  /**
   * Records that `epoch` wrote a batch at `startOffset` (called on every appended batch).
   * Nothing changes when the epoch is already the latest or older (Kafka ignores stale epochs
   * too); a newer epoch whose start offset is not after the latest entry's replaces the entries
   * it overlaps (their batches were truncated away before this append).
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0) return false;
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && epoch <= last.epoch) return false;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset >= startOffset) this.entries.pop();
    this.entries.push({ epoch, startOffset });
    this.dirty = true;
    return true;
  }

  /**
   * KIP-101/279: for a requested epoch, the largest epoch <= it that this log knows and the
   * offset where that epoch ended (the start of the next known epoch, or `logEndOffset` for the
   * latest). An epoch older than every entry gives (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const n = this.entries.length;
    if (n === 0 || requestedEpoch < this.entries[0]!.epoch) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch >= this.entries[n - 1]!.epoch) return { epoch: this.entries[n - 1]!.epoch, endOffset: logEndOffset };
    // The last entry with epoch <= requested; it ends where the next entry starts.
    let i = n - 1;
    while (this.entries[i]!.epoch > requestedEpoch) i--;
    return { epoch: this.entries[i]!.epoch, endOffset: this.entries[i + 1]!.startOffset };
  }

  /** Removes entries starting at or after `endOffset` (the log was truncated to it). */
  truncateFromEnd(endOffset: number): void {
    const before = this.entries.length;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset >= endOffset) this.entries.pop();
    if (this.entries.length !== before) this.dirty = true;
  }

  /**
   * The log start moved to `startOffset`: entries wholly below it go, and the entry covering it
   * starts there instead (Kafka keeps the epoch of the first remaining batch).
   */
  truncateFromStart(startOffset: number): void {
    let drop = 0;
    while (drop + 1 < this.entries.length && this.entries[drop + 1]!.startOffset <= startOffset) drop++;
    const first = this.entries[drop];
    if (drop === 0 && (first === undefined || first.startOffset >= startOffset)) return;
    this.entries = this.entries.slice(drop);
    if (first !== undefined && first.startOffset < startOffset) this.entries[0] = { epoch: first.epoch, startOffset };
    this.dirty = true;
  }

  /** Forgets everything (a replica that will refetch the log from scratch). */
  clear(): void {
    if (this.entries.length > 0) this.dirty = true;
    this.entries = [];
  }

  /** Resolves once no write of the file is in flight (close() waits for it: nothing is written after). */
  idle(): Promise<void> {
    return this.writing;
  }

  /** Writes the file if anything changed since the last write; writes never overlap. */
  persist(): Promise<void> {
    const run = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await writeFileAtomic(this.path, formatLeaderEpochCheckpoint(this.entries));
      } catch (err) {
        this.dirty = true;
        throw err;
      }
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}

export function formatLeaderEpochCheckpoint(entries: readonly EpochEntry[]): string {
  const lines = [String(LEADER_EPOCH_CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.epoch} ${e.startOffset}`);
  return lines.join('\n') + '\n';
}

/** The entries, or why the text is not a valid checkpoint. */
export function parseLeaderEpochCheckpoint(text: string): EpochEntry[] | string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== String(LEADER_EPOCH_CHECKPOINT_VERSION)) return `unknown version line '${lines[0] ?? ''}'`;
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) return `entry count '${lines[1] ?? ''}' does not match ${lines.length - 2} lines`;
  const out: EpochEntry[] = [];
  for (let i = 2; i < lines.length; i++) {
    const m = /^(\d{1,10}) (\d{1,16})$/.exec(lines[i]!);
    if (m === null) return `line ${i + 1} is not '<epoch> <startOffset>'`;
    const epoch = Number(m[1]);
    const startOffset = Number(m[2]);
    const prev = out[out.length - 1];
    if (epoch > 0x7fffffff || !Number.isSafeInteger(startOffset)) return `line ${i + 1} is out of range`;
    if (prev !== undefined && (epoch <= prev.epoch || startOffset <= prev.startOffset)) return `line ${i + 1} does not increase`;
    out.push({ epoch, startOffset });
  }
  return out;
}
