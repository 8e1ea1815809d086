/**
 * Unclean leader election on demand, end to end with in-process brokers: the whole ISR of two
 * partitions is down and unclean.leader.election.enable is off, so they are offline while a
 * replica outside the ISR is live; `electLeaders({ electionType: 'unclean' })` through the SDK
 * admin (partition 0) and `rill cluster elect-leaders --unclean` (partition 1, the built CLI as
 * a child process) make that replica leader (the records only the dead ISR held are lost),
 * produce and consume work again, and the old ISR member, on its return, truncates its tail to
 * the new leader's log and follows it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBatches } from '../../protocol/record-batch.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import { RawClient } from '../helpers/raw-client.js';
import { batch } from '../broker/harness.js';
import { requireTool } from '../helpers/outside-tools.js';
import { ClusterEnv } from './broker-harness.js';
import { waitFor } from './etcd.js';
import { rill as runCli } from '../integration/cli-run.js';

const TOPIC = 'uc';

/** Every value in a local log, up to its end. */
async function valuesOf(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20, { isolation: 'logEnd' });
    if (r.records.length === 0) break;
    for (const b of decodeBatches(r.records)) {
      for (const rec of b.records) if (rec.offset >= offset) out.push(rec.value!.toString());
      offset = b.header.baseOffset + b.header.lastOffsetDelta + 1;
    }
  }
  return out;
}

describe.skipIf(!requireTool('etcd'))('unclean leader election on demand', () => {
  let env: ClusterEnv;
  let raw: RawClient | null = null;
  afterEach(async () => {
    await raw?.close();
    raw = null;
    await env.cleanup();
  }, 60_000);

  it('SDK and CLI elect a live replica outside the ISR of offline partitions; produce/consume work; the old ISR member truncates and follows', async () => {
    env = await new ClusterEnv().start();
    const brokers = await env.brokersUp(3);
    const one = brokers[0]!;
    const two = brokers[1]!;
    await one.runtime.createTopic({ name: TOPIC, numPartitions: 2, replicationFactor: 3, replicaAssignment: [[1, 2, 3], [1, 2, 3]] });
    await waitFor('broker 1 leads both', () => (one.runtime.localRole(TOPIC, 0).role === 'leader' && one.runtime.localRole(TOPIC, 1).role === 'leader' ? true : undefined));
    raw = await RawClient.connect(one.port);
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await raw.request('Produce', { acks: -1, timeoutMs: 5000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records: batch([`a${i}`]) }] }] });
      expect(r.topics[0]!.partitions[0]!.errorCode).toBe(0);
      acked.push(`a${i}`);
    }
    // 2 and 3 go; 1 alone is the ISR and acknowledges a tail nobody else has.
    const twoDir = two.dataDir;
    const oneDir = one.dataDir;
    await env.stop(2);
    await env.stop(3);
    await waitFor('the ISRs shrunk to broker 1', () => (one.runtime.partition(TOPIC, 0)!.isr.length === 1 && one.runtime.partition(TOPIC, 1)!.isr.length === 1 ? true : undefined), 15_000);
    const tail = await raw.request('Produce', { acks: -1, timeoutMs: 5000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records: batch(['lost0', 'lost1']) }] }] });
    expect(tail.topics[0]!.partitions[0]!.errorCode).toBe(0);
    await raw.close();
    raw = null;

    // The last ISR member goes; 2 (out of the ISR) comes back: unclean election is off, so offline.
    const epochBefore = one.runtime.partition(TOPIC, 0)!.leaderEpoch;
    await env.stop(1);
    const back2 = await env.broker(2, { dataDir: twoDir });
    await waitFor('both partitions offline in the controller state', () => {
      const ps = [back2.runtime.partition(TOPIC, 0), back2.runtime.partition(TOPIC, 1)];
      return ps.every((p) => p !== undefined && p.leader === -1 && p.leaderEpoch > epochBefore) ? true : undefined;
    }, 15_000);
    expect(back2.runtime.partition(TOPIC, 0)!.isr).toEqual([1]);
    expect(back2.runtime.partition(TOPIC, 1)!.isr).toEqual([1]);

    const rill = env.client([back2.port], { retry: { retries: 20, initialBackoffMs: 50, maxBackoffMs: 500 }, requestTimeoutMs: 5000 });
    const results = await rill.admin().electLeaders({ electionType: 'unclean', partitions: [{ topic: TOPIC, partitions: [0, 5] }] });
    expect(results.map((r) => [r.partition, r.outcome, r.error?.errorName ?? null])).toEqual([
      [0, 'elected', null],
      [5, 'failed', 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]);
    expect(back2.runtime.partition(TOPIC, 0)).toMatchObject({ leader: 2, isr: [2] });
    await waitFor('broker 2 leads', () => (back2.runtime.localRole(TOPIC, 0).role === 'leader' ? true : undefined), 10_000);

    // The CLI: partition 1 elected; then every partition of the topic has a leader already; a
    // missing partition is a failed line and exit status 1.
    const brokersArg = ['--brokers', `127.0.0.1:${back2.port}`];
    const cli = await runCli(['cluster', 'elect-leaders', '--unclean', '--topic', TOPIC, '--partition', '1', ...brokersArg]);
    expect(cli, cli.stderr).toMatchObject({ code: 0, stderr: '' });
    const lines = cli.stdout.trim().split('\n');
    expect(lines[0]).toBe('unclean election: 1 elected, 0 not needed, 0 failed');
    expect(lines[2]!.split(/\s+/)).toEqual([TOPIC, '1', 'elected']);
    expect(back2.runtime.partition(TOPIC, 1)).toMatchObject({ leader: 2, isr: [2] });
    const again = await runCli(['cluster', 'elect-leaders', '--unclean', '--topic', TOPIC, ...brokersArg]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^unclean election: 0 elected, 2 not needed, 0 failed\n/);
    const missing = await runCli(['cluster', 'elect-leaders', '--unclean', '--topic', TOPIC, '--partition', '7', ...brokersArg]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/failed: UNKNOWN_TOPIC_OR_PARTITION/);

    // Produce and consume work on the new leader; lost0/lost1 are gone.
    const producer = rill.producer({ acks: -1, lingerMs: 0 });
    for (let i = 0; i < 3; i++) {
      const [meta] = await producer.send({ topic: TOPIC, messages: [{ value: `b${i}`, partition: 0 }] });
      expect(meta!.offset).toBe(5 + i);
      acked.push(`b${i}`);
    }
    const consumer = rill.consumer({ maxWaitMs: 100 });
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 'earliest' }]);
    const seen: string[] = [];
    for await (const m of consumer) {
      seen.push(m.value!.toString());
      if (seen.length === acked.length) break;
    }
    expect(seen).toEqual(acked);

    // The old ISR member returns on its data dir: it truncates lost0/lost1, fetches b0..b2, rejoins.
    const back1 = await env.broker(1, { dataDir: oneDir });
    await waitFor('broker 1 back in the ISR', () => (back2.runtime.partition(TOPIC, 0)!.isr.includes(1) ? true : undefined), 20_000);
    const log1 = back1.runtime.localLog(TOPIC, 0)!;
    await waitFor('broker 1 caught up', () => (log1.logEndOffset === acked.length ? true : undefined), 10_000);
    expect(await valuesOf(log1)).toEqual(acked);
    expect(back1.runtime.localRole(TOPIC, 0).role).toBe('follower');
  }, 90_000);
});
