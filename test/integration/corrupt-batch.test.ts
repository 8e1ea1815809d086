/**
 * Issue 11, first part: one poisoned batch (a record length 1 too big behind a recomputed CRC)
 * must not make a partition unreadable. The broker refuses it at produce; a log that already
 * holds one (written straight into storage, past the broker's checks) stays readable up to it,
 * through the SDK (for await and run()) and the CLI, and past it after a seek — also after a
 * broker restart, whose recovery checks CRCs and lengths only.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerHandle } from '../../broker/index.js';
import { CorruptBatchError, ErrorCode, type ConsumedMessage, type Consumer } from '../../client/index.js';
import { encodeBatch } from '../../protocol/record-batch.js';
import { RawClient } from '../helpers/raw-client.js';
import { poisonedBatch, poisonedReason, readUntilError } from '../helpers/poisoned-batch.js';
import { TestEnv } from './harness.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');

const good = (values: string[]): Buffer => encodeBatch(values.map((value) => ({ key: null, value })));
const valuesOf = (ms: ConsumedMessage[]): string[] => ms.map((m) => m.value!.toString());

function cli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, RILL_BROKERS: '', RILL_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rill ${args.join(' ')} did not exit within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a poisoned record batch', () => {
  const env = new TestEnv();
  const raws: RawClient[] = [];
  afterEach(async () => {
    for (const c of raws.splice(0)) await c.close();
    await env.cleanup();
  });

  /**
   * A broker whose partition t-0 holds offsets 0-2 (a0..a2), 3-4 (b0, b1), the poisoned batch
   * at 5, then 6-7 (c0, c1) unless `after` is false: appended through storage, so the broker's
   * produce validation never sees them.
   */
  async function poisonedLog(after = true): Promise<BrokerHandle & { dataDir: string }> {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    const log = broker.context.topics.partitionLog('t', 0)!;
    await log.append(good(['a0', 'a1', 'a2']));
    await log.append(good(['b0', 'b1']));
    expect((await log.append(poisonedBatch())).baseOffset).toBe(5);
    if (after) await log.append(good(['c0', 'c1']));
    return broker;
  }

  it('is refused at produce with INVALID_RECORD and the reason; the good batches around it are stored, other partitions go on', async () => {
    const broker = await env.broker();
    const rill = env.client(broker.port);
    await rill.admin().createTopics({ topics: [{ topic: 't', numPartitions: 2 }] });
    const raw = await RawClient.connect(broker.port);
    raws.push(raw);
    const produce = (partitions: Array<{ partition: number; records: Buffer }>) =>
      raw.request('Produce', { acks: -1, timeoutMs: 5000, topics: [{ name: 't', partitions }] }).then((r) => r.topics[0]!.partitions);

    expect((await produce([{ partition: 0, records: good(['a0', 'a1']) }]))[0]).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const [refused, other] = await produce([
      { partition: 0, records: poisonedBatch() },
      { partition: 1, records: good(['x0']) },
    ]);
    expect(refused).toMatchObject({ partition: 0, errorCode: ErrorCode.INVALID_RECORD, baseOffset: -1 });
    expect(refused!.errorMessage).toBe(`Record batch at position 0 (1 records): ${poisonedReason()}`);
    expect(other).toMatchObject({ partition: 1, errorCode: 0, baseOffset: 0 });
    // Several batches in one partition's records: the bad one refuses them all, none is appended.
    const [mixed] = await produce([{ partition: 0, records: Buffer.concat([good(['m0']), poisonedBatch()]) }]);
    expect(mixed!.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(mixed!.errorMessage).toContain(`at position ${good(['m0']).length}`);
    expect((await produce([{ partition: 0, records: good(['b0']) }]))[0]).toMatchObject({ errorCode: 0, baseOffset: 2 });

    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const { messages, error } = await readUntilError(consumer, 3);
    expect(error).toBeNull();
    expect(messages.map((m) => [m.offset, m.value!.toString()])).toEqual([
      [0, 'a0'],
      [1, 'a1'],
      [2, 'b0'],
    ]);
  });

  it('already in the log: for await delivers every record before it, raises CorruptBatchError, and a seek past it goes on', async () => {
    const broker = await poisonedLog();
    const consumer = env.client(broker.port).consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const { messages, error } = await readUntilError(consumer, 100);
    expect(valuesOf(messages)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
    expect(error).toBeInstanceOf(CorruptBatchError);
    const corrupt = error as CorruptBatchError;
    expect(corrupt).toMatchObject({ code: ErrorCode.CORRUPT_MESSAGE, errorName: 'CORRUPT_MESSAGE', topic: 't', partition: 0, baseOffset: 5, lastOffset: 5, reason: poisonedReason() });
    expect(corrupt.message).toBe(`topic t partition 0: record batch at offsets 5..5 is corrupt: ${poisonedReason()}; seek to offset 6 to skip it`);
    // The partition waits for the app: no error again, no records, until it seeks.
    expect(consumer.position('t', 0)).toBe(5);
    consumer.seek({ topic: 't', partition: 0, offset: corrupt.lastOffset + 1 });
    const rest = await readUntilError(consumer, 2);
    expect(rest.error).toBeNull();
    expect(rest.messages.map((m) => [m.offset, m.value!.toString()])).toEqual([
      [6, 'c0'],
      [7, 'c1'],
    ]);
  });

  it('already in the log as the last batch: run() delivers the good records, then rejects; after a seek run() goes on', async () => {
    const broker = await poisonedLog(false);
    const rill = env.client(broker.port);
    const consumer = rill.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const seen: string[] = [];
    const failure = await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(seen).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
    expect(failure).toBeInstanceOf(CorruptBatchError);
    expect(failure).toMatchObject({ baseOffset: 5, lastOffset: 5, topic: 't', partition: 0 });

    consumer.seek({ topic: 't', partition: 0, offset: 6 });
    await rill.producer().send({ topic: 't', messages: [{ value: 'd0' }] });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(`${message.offset}:${message.value!.toString()}`);
        void consumer.stop();
      },
    });
    expect(seen.slice(5)).toEqual(['6:d0']);
  });

  it('already in the log, read by a group member: run() rejects after the good records, commits up to the batch, and goes on after a seek', async () => {
    const broker = await poisonedLog();
    const rill = env.client(broker.port);
    const consumer = rill.consumer({ groupId: 'g', fromBeginning: true, autoCommit: false, maxWaitMs: 50 });
    await consumer.subscribe(['t']);
    const seen: string[] = [];
    const failure = await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(seen).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
    expect(failure).toMatchObject({ name: 'CorruptBatchError', topic: 't', partition: 0, baseOffset: 5, lastOffset: 5 });
    await consumer.commit();
    expect(await rill.admin().fetchOffsets('g', ['t'])).toEqual([{ topic: 't', partitions: [expect.objectContaining({ partition: 0, offset: 5 })] }]);
    consumer.seek({ topic: 't', partition: 0, offset: 6 });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        if (message.offset === 7) void consumer.stop();
      },
    });
    expect(seen.slice(5)).toEqual(['c0', 'c1']);
  });

  it('damaged on disk under a running broker (its CRC fails): the records before it, then the error naming the CRC; a seek goes on', async () => {
    const broker = await env.broker();
    await env.client(broker.port).admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    const log = broker.context.topics.partitionLog('t', 0)!;
    const first = good(['a0', 'a1']);
    const second = good(['b0']);
    await log.append(first);
    await log.append(second);
    await log.append(good(['c0']));
    await log.flush();
    // One bit of b0's value flipped in the segment file, at the batch's last byte.
    const file = await open(log.activeSegment.logPath, 'r+');
    const at = first.length + second.length - 1;
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, at);
    byte[0]! ^= 0x01;
    await file.write(byte, 0, 1, at);
    await file.close();
    // The broker still holds these batches as it wrote them (its in-memory tail) and would serve
    // those; the damage shows once they are read from the file.
    log.forgetTail();

    const consumer = env.client(broker.port).consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const { messages, error } = await readUntilError(consumer, 100);
    expect(valuesOf(messages)).toEqual(['a0', 'a1']);
    expect(error).toMatchObject({ name: 'CorruptBatchError', baseOffset: 2, lastOffset: 2 });
    expect((error as CorruptBatchError).reason).toMatch(/^fails its CRC-32C check: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}$/);
    consumer.seek({ topic: 't', partition: 0, offset: 3 });
    expect(valuesOf((await readUntilError(consumer, 1)).messages)).toEqual(['c0']);
  });

  it('already in the log: a restarted broker keeps the whole log and serves it the same way', async () => {
    const first = await poisonedLog();
    await env.stop(first);
    const broker = await env.broker({ dataDir: first.dataDir });
    expect(broker.context.topics.partitionLog('t', 0)!.logEndOffset).toBe(8);
    const consumer = env.client(broker.port).consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }]);
    const { messages, error } = await readUntilError(consumer, 100);
    expect(valuesOf(messages)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
    expect(error).toMatchObject({ baseOffset: 5, lastOffset: 5 });
  });

  it('already in the log: rill consume prints the good records, one CORRUPT_MESSAGE line saying how to skip it, exits 1; the advice works', async () => {
    const broker = await poisonedLog();
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    const stopped = await cli(['consume', 't', '--from-beginning', '--timeout-ms', '5000', ...brokers]);
    expect(stopped.stdout).toBe('a0\na1\na2\nb0\nb1\n');
    expect(stopped.stderr).toBe(`error: CORRUPT_MESSAGE: topic t partition 0: record batch at offsets 5..5 is corrupt: ${poisonedReason()}; skip it with: rill consume t --partition 0 --offset 6\n`);
    expect(stopped.code).toBe(1);
    const skipped = await cli(['consume', 't', '--partition', '0', '--offset', '6', '--timeout-ms', '1000', ...brokers]);
    expect(skipped).toMatchObject({ code: 0, stdout: 'c0\nc1\n' });
  });
});
