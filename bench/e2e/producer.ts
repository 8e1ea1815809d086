/**
 * The end-to-end benchmark's producer process (forked by bench/e2e.bench.ts, driven over IPC;
 * see common.ts for the messages). Uses the SDK as an application would: `send()` calls with
 * acks=1, no compression, null keys (sticky partitioner).
 *
 *   produce  as fast as the SDK takes it: `messagesPerSend` messages per send(), at most
 *            `maxOutstandingSends` unacked sends (the app's bound; the SDK's bufferMemoryBytes
 *            is the other), values from a pool of prebuilt random buffers
 *   paced    one send() per message at a steady rate, each value stamped with nowMs() just
 *            before its send(); also records send()-to-ack latency
 *
 * One producer per lingerMs is kept for the process's life, so that a warm-up run leaves its
 * connection, metadata and JIT state to the measured run.
 */
import { randomBytes } from 'node:crypto';
import { Rill, type Producer, type RecordMetadata } from '../../client/index.js';
import {
  STAMP_BYTES,
  STAMP_RUN_POS,
  STAMP_SEND_TIME_POS,
  STAMP_SEQ_POS,
  brokersFromArgv,
  cpuSeconds,
  nowMs,
  percentiles,
  serveParent,
  type ChildReply,
  type ChildRequest,
  type PacedProduceReply,
  type PacedProduceRequest,
  type ProduceReply,
  type ProduceRequest,
} from './common.js';
import { watchPauses } from './pauses.js';

/** Distinct values the throughput run cycles through (a power of two: indexed with a mask). */
const VALUE_POOL_SIZE = 1024;
/** Pacing tick: sends due since the last tick go out together, as a timer-driven service's would. */
const PACING_TICK_MS = 1;

const rill = new Rill({ brokers: brokersFromArgv(process.argv.slice(2)), clientId: 'e2e-producer' });
const producers = new Map<number, Producer>();

async function producerFor(lingerMs: number): Promise<Producer> {
  let p = producers.get(lingerMs);
  if (p === undefined) {
    p = rill.producer({ acks: 1, idempotent: false, compression: 'none', lingerMs });
    producers.set(lingerMs, p);
    await p.connect();
  }
  return p;
}

async function produce(req: ProduceRequest): Promise<ProduceReply> {
  const producer = await producerFor(req.lingerMs);
  const pool: Buffer[] = [];
  for (let i = 0; i < VALUE_POOL_SIZE; i++) pool.push(randomBytes(req.valueBytes));
  const mask = VALUE_POOL_SIZE - 1;

  let acked = 0;
  let failure: unknown = null;
  const onAck = (r: RecordMetadata[]): void => {
    acked += r.length;
  };
  const onError = (err: unknown): void => {
    failure ??= err;
  };
  // Ring of the outstanding sends, oldest at `head`: a full ring waits for its oldest.
  const ring = new Array<Promise<void> | undefined>(req.maxOutstandingSends);
  let head = 0;

  const cpu0 = cpuSeconds();
  const start = nowMs();
  const deadline = start + req.timeLimitMs;
  let sent = 0;
  let timedOut = false;
  while (sent < req.messages && failure === null) {
    if (nowMs() > deadline) {
      timedOut = true;
      break;
    }
    const n = Math.min(req.messagesPerSend, req.messages - sent);
    const messages = new Array<{ value: Buffer }>(n);
    for (let i = 0; i < n; i++) messages[i] = { value: pool[(sent + i) & mask]! };
    const pending = ring[head];
    if (pending !== undefined) await pending;
    ring[head] = producer.send({ topic: req.topic, messages }).then(onAck, onError);
    head = (head + 1) % ring.length;
    sent += n;
  }
  await Promise.all(ring);
  const elapsedMs = nowMs() - start;
  const cpu = cpuSeconds() - cpu0;
  if (failure !== null) throw failure;
  return { type: 'produce', messages: acked, valueBytes: acked * req.valueBytes, elapsedMs, cpuSeconds: cpu, timedOut };
}

async function paced(req: PacedProduceRequest): Promise<PacedProduceReply> {
  if (req.valueBytes < STAMP_BYTES) throw new RangeError(`stamped values need at least ${STAMP_BYTES} bytes, got ${req.valueBytes}`);
  const producer = await producerFor(req.lingerMs);
  const filler = randomBytes(req.valueBytes);
  const ackLatencyMs = new Float64Array(req.messages);
  let acked = 0;
  let failure: unknown = null;
  // Sends in flight are counted, not kept: holding 200,000 promises in an array until the end
  // would add old-generation GC work (and pauses) that is the benchmark's, not the SDK's.
  let outstanding = 0;
  let allSent = false;
  let settled!: () => void;
  const allSettled = new Promise<void>((resolve) => {
    settled = resolve;
  });
  const onSettled = (): void => {
    if (--outstanding === 0 && allSent) settled();
  };
  const intervalMs = 1000 / req.ratePerSec;

  const watch = watchPauses();
  const cpu0 = cpuSeconds();
  const start = nowMs();
  const deadline = start + req.timeLimitMs;
  let sent = 0;
  let maxScheduleLagMs = 0;
  let timedOut = false;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = nowMs();
      if (now > deadline) {
        timedOut = true;
        resolve();
        return;
      }
      const due = Math.min(req.messages, Math.floor((now - start) / intervalMs) + 1);
      if (due > sent) {
        // The oldest message due in this tick was scheduled at start + sent * intervalMs.
        maxScheduleLagMs = Math.max(maxScheduleLagMs, now - (start + sent * intervalMs));
      }
      while (sent < due && failure === null) {
        const value = Buffer.allocUnsafe(req.valueBytes);
        // A whole-buffer copy: copying a part (filler.copy(value, 16, 16)) makes node build a
        // Uint8Array view per call, load-generator garbage in the producer's young generation.
        filler.copy(value);
        value.writeUInt32LE(sent, STAMP_SEQ_POS);
        value.writeUInt32LE(req.run, STAMP_RUN_POS);
        const t = nowMs();
        value.writeDoubleLE(t, STAMP_SEND_TIME_POS);
        const seq = sent;
        outstanding++;
        producer.send({ topic: req.topic, messages: [{ value }] }).then(
          () => {
            ackLatencyMs[seq] = nowMs() - t;
            acked++;
            onSettled();
          },
          (err: unknown) => {
            failure ??= err;
            onSettled();
          },
        );
        sent++;
      }
      if (sent >= req.messages || failure !== null) {
        resolve();
        return;
      }
      setTimeout(tick, PACING_TICK_MS);
    };
    tick();
  });
  allSent = true;
  if (outstanding === 0) settled();
  await allSettled;
  const elapsedMs = nowMs() - start;
  const cpu = cpuSeconds() - cpu0;
  const pauses = watch.stop();
  if (failure !== null) throw failure;
  // Every send was acked (a failure throws above), so the first `acked` samples are all set.
  return { type: 'paced', messages: acked, elapsedMs, cpuSeconds: cpu, maxScheduleLagMs, ack: percentiles(ackLatencyMs, acked), pauses, timedOut };
}

async function handle(req: ChildRequest, reply: (msg: ChildReply) => void): Promise<void> {
  switch (req.type) {
    case 'produce':
      reply(await produce(req));
      return;
    case 'paced':
      reply(await paced(req));
      return;
    default:
      throw new Error(`the producer process does not handle '${req.type}'`);
  }
}

serveParent(handle, () => rill.close());
