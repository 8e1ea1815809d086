/**
 * The workload's message values and their check. Every value is VALUE_BYTES long:
 *   [0, 4)   run id (u32 LE): which phase of which round wrote it, so a reader can tell
 *   [4, 8)   message number (u32 LE)
 *   [8, 16)  send time (f64 LE, performance.now() of this process) for the latency phase, else 0
 *   [16, ..) filler: byte j is (number + j) & 0xff, so every value differs and any corruption or
 *            mix-up of two values shows
 * The checker counts each message number once and compares the filler with one native compare
 * against a slice of a repeating 0..255 template (no per-byte loop on the hot path).
 */
export const VALUE_BYTES = 100;
const RUN_POS = 0;
const SEQ_POS = 4;
const TIME_POS = 8;
const FILLER_POS = 16;
const FILLER_BYTES = VALUE_BYTES - FILLER_POS;
const TEMPLATE = Buffer.alloc(256 + FILLER_BYTES);
for (let i = 0; i < TEMPLATE.length; i++) TEMPLATE[i] = i & 0xff;

/** `count` values of run `runId` for the throughput phases (send time 0). */
export function makeValues(runId: number, count: number): Buffer[] {
  const out = new Array<Buffer>(count);
  const all = Buffer.allocUnsafe(count * VALUE_BYTES);
  for (let seq = 0; seq < count; seq++) {
    const v = all.subarray(seq * VALUE_BYTES, (seq + 1) * VALUE_BYTES);
    writeValue(v, runId, seq, 0);
    out[seq] = v;
  }
  return out;
}

/** Fills `v` (VALUE_BYTES long) as message `seq` of `runId`, stamped with `sendTime`. */
export function writeValue(v: Buffer, runId: number, seq: number, sendTime: number): void {
  v.writeUInt32LE(runId, RUN_POS);
  v.writeUInt32LE(seq, SEQ_POS);
  v.writeDoubleLE(sendTime, TIME_POS);
  const start = seq & 0xff;
  TEMPLATE.copy(v, FILLER_POS, start, start + FILLER_BYTES);
}

/** The run id of a value of at least 4 bytes (else -1). */
export function runIdOf(v: Uint8Array): number {
  return v.length < 4 ? -1 : Buffer.from(v.buffer, v.byteOffset, v.byteLength).readUInt32LE(RUN_POS);
}

/** The send time stamped in a value that passed check(). */
export function sendTimeOf(v: Uint8Array): number {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).readDoubleLE(TIME_POS);
}

/**
 * Counts the values of one run: each message number 0..expected-1 exactly once, with the right
 * length and filler. Anything else is counted as `bad` (wrong length, run, number or filler) or
 * `duplicates`; `complete()` says whether every message arrived exactly once and nothing else.
 */
export class ValueChecker {
  private readonly seen: Uint8Array;
  received = 0;
  bad = 0;
  duplicates = 0;

  constructor(
    private readonly runId: number,
    readonly expected: number,
  ) {
    this.seen = new Uint8Array(expected);
  }

  /** Returns the message number of a good first arrival, else -1. */
  check(raw: Uint8Array): number {
    const v = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (v.length !== VALUE_BYTES || v.readUInt32LE(RUN_POS) !== this.runId) {
      this.bad++;
      return -1;
    }
    const seq = v.readUInt32LE(SEQ_POS);
    const start = seq & 0xff;
    if (seq >= this.expected || TEMPLATE.compare(v, FILLER_POS, VALUE_BYTES, start, start + FILLER_BYTES) !== 0) {
      this.bad++;
      return -1;
    }
    if (this.seen[seq] !== 0) {
      this.duplicates++;
      return -1;
    }
    this.seen[seq] = 1;
    this.received++;
    return seq;
  }

  complete(): boolean {
    return this.received === this.expected && this.bad === 0 && this.duplicates === 0;
  }

  summary(): string {
    return `${this.received}/${this.expected} received, ${this.duplicates} duplicates, ${this.bad} bad`;
  }
}
