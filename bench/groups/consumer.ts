/**
 * One member of the consumer-group benchmark (forked by bench/groups.bench.ts; messages in
 * common.ts). Uses the SDK as a service would: `rill.consumer({ groupId, ... })`,
 * `subscribe()`, `run({ eachMessage | eachBatch })`, and `close()` to leave.
 *
 * It reports progress (messages handled, next offset per partition) every 50 ms, each change of
 * its assignment, and the first message it handles of every newly assigned partition: the
 * parent times failover from those. A lost parent ends the process.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Rill, type Consumer, type RunConfig } from '../../client/index.js';
import { PROGRESS_INTERVAL_MS, type ChildEvent, type ParentCommand, type StartCommand } from './common.js';

const brokersArg = process.argv.indexOf('--brokers');
const brokers = brokersArg >= 0 ? process.argv[brokersArg + 1] : undefined;
if (process.send === undefined || brokers === undefined) {
  process.stderr.write('started by bench/groups.bench.ts over IPC: node consumer.js --brokers host:port\n');
  process.exit(2);
}

const send = (event: ChildEvent): void => {
  if (process.connected) process.send!(event);
};

const rill = new Rill({ brokers: brokers.split(','), clientId: `groups-bench-${process.pid}` });
let consumer: Consumer | null = null;
let messages = 0;
const nextOffsets: Record<number, number> = {};
let changed = false;
/** Partitions assigned and not yet seen a message of: their first one is reported. */
const fresh = new Set<number>();
const owned = new Set<number>();

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const progress = setInterval(() => {
  if (!changed) return;
  changed = false;
  send({ type: 'progress', messages, nextOffsets, eventLoopMaxMs: Math.round(loopDelay.max / 1e6) });
}, PROGRESS_INTERVAL_MS);

/** `count` messages of `partition` from `firstOffset` up to `nextOffset` (exclusive) were handled. */
function handled(partition: number, firstOffset: number, nextOffset: number, count: number): void {
  if (fresh.size > 0 && fresh.delete(partition)) send({ type: 'first-message', partition, offset: firstOffset, atMs: Date.now() });
  messages += count;
  const next = nextOffsets[partition];
  if (next === undefined || nextOffset > next) nextOffsets[partition] = nextOffset;
  changed = true;
}

function reportAssignment(): void {
  send({ type: 'assignment', partitions: [...owned].sort((a, b) => a - b), atMs: Date.now() });
}

async function start(cmd: StartCommand): Promise<void> {
  const c = rill.consumer({
    groupId: cmd.groupId,
    fromBeginning: cmd.fromBeginning,
    sessionTimeoutMs: cmd.sessionTimeoutMs,
    heartbeatIntervalMs: cmd.heartbeatIntervalMs,
    autoCommitIntervalMs: cmd.autoCommitIntervalMs,
    maxWaitMs: 100,
    onAssign: (partitions) => {
      for (const p of partitions) {
        fresh.add(p.partition);
        owned.add(p.partition);
      }
      reportAssignment();
    },
    onRevoke: (partitions) => {
      for (const p of partitions) {
        fresh.delete(p.partition);
        owned.delete(p.partition);
      }
      reportAssignment();
    },
  });
  consumer = c;
  await c.subscribe({ topics: [cmd.topic], fromBeginning: cmd.fromBeginning });
  const handlers: RunConfig =
    cmd.each === 'batch'
      ? {
          eachBatch: async ({ batch }) => {
            const first = batch.firstOffset();
            const last = batch.lastOffset();
            if (first !== null && last !== null) handled(batch.partition, first, last + 1, batch.messages.length);
          },
        }
      : {
          eachMessage: async ({ partition, message }) => {
            handled(partition, message.offset, message.offset + 1, 1);
          },
        };
  c.run(handlers).catch((err: unknown) => fail(err));
  send({ type: 'started' });
}

async function close(): Promise<void> {
  const hardStop = setTimeout(() => process.exit(1), 10_000);
  hardStop.unref();
  try {
    if (consumer !== null) await consumer.close();
    send({ type: 'closed', atMs: Date.now() });
    await rill.close();
  } finally {
    clearInterval(progress);
    process.exit(0);
  }
}

function fail(err: unknown): void {
  send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  setTimeout(() => process.exit(1), 100).unref();
}

process.on('disconnect', () => process.exit(1));
process.on('message', (raw: unknown) => {
  const cmd = raw as ParentCommand;
  if (cmd.type === 'start') start(cmd).catch(fail);
  else if (cmd.type === 'close') close().catch(fail);
});
